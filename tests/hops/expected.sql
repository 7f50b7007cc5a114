-- The items documents, built independently of pg2es.
SELECT i.id AS id,
       jsonb_build_object(
           'id', i.id,
           'title', i.title,
           'stock', COALESCE((
               SELECT jsonb_agg(jsonb_build_object(
                          'id', s.id,
                          'store', CASE WHEN st.id IS NULL THEN NULL
                                        ELSE jsonb_build_object('name', st.name, 'city', st.city) END,
                          'quantity', s.quantity) ORDER BY s.id)
               FROM hop.stock s LEFT JOIN hop.store st ON st.id = s.store_id
               WHERE s.item_id = i.id), '[]'::jsonb),
           'tags', COALESCE((
               SELECT jsonb_agg(jsonb_build_object(
                          'name', t.name,
                          'group', CASE WHEN g.id IS NULL THEN NULL
                                        ELSE jsonb_build_object('label', g.label) END)
                          ORDER BY t.name)
               FROM hop.item_tag it JOIN hop.tag t ON t.id = it.tag_id
               LEFT JOIN hop.tag_group g ON g.id = t.group_id
               WHERE it.item_id = i.id), '[]'::jsonb))::text AS doc
FROM hop.item i

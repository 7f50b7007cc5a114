-- The trips documents, built independently of pg2es: NaN and ±Infinity are null (rating's
-- default is 0), lists in the columns' own collations.
SELECT t.id AS id,
       jsonb_build_object(
           'id', t.id,
           'title', t.title,
           'price', CASE WHEN t.price = 'NaN' THEN NULL ELSE to_jsonb(t.price) END,
           'rating', CASE WHEN t.rating IS NULL OR t.rating IN ('NaN', 'Infinity', '-Infinity') THEN to_jsonb(0)
                          ELSE to_jsonb(t.rating) END,
           'tags', to_jsonb(t.tags),
           'details', t.details,
           'status', t.status::text,
           'nights', t.nights,
           'price_per_night', CASE WHEN t.price_per_night = 'NaN' THEN NULL ELSE to_jsonb(t.price_per_night) END,
           'country', (SELECT jsonb_build_object('code', c.code, 'name', c.name)
                       FROM atlas.country c WHERE c.code = t.country_code),
           'legs', COALESCE((
               SELECT jsonb_agg(jsonb_build_object(
                          'id', l.id, 'seq', l.seq, 'place', l.place, 'cost', CASE WHEN l.cost = 'NaN' THEN NULL ELSE to_jsonb(l.cost) END,
                          'port', CASE WHEN p.id IS NULL THEN NULL ELSE jsonb_build_object('name', p.name) END)
                      ORDER BY l.seq, l.place DESC, l.id)
               FROM atlas.leg l LEFT JOIN atlas.port p ON p.id = l.port_id
               WHERE l.trip_id = t.id), '[]'::jsonb),
           'guides', COALESCE((
               SELECT jsonb_agg(jsonb_build_object('id', g.id, 'name', g.name, 'role', tg.role, 'position', tg.position)
                      ORDER BY tg.position, g.id)
               FROM atlas.trip_guide tg JOIN atlas.guide g ON g.id = tg.guide_id
               WHERE tg.trip_id = t.id AND tg.role <> 'retired'), '[]'::jsonb),
           'guide_names', COALESCE((
               SELECT jsonb_agg(g.name ORDER BY tg.position, g.id)
               FROM atlas.trip_guide tg JOIN atlas.guide g ON g.id = tg.guide_id
               WHERE tg.trip_id = t.id AND tg.role <> 'retired'), '[]'::jsonb))::text AS doc
FROM atlas.trip t

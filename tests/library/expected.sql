-- The books documents, built independently of pg2es.
SELECT b.id::text AS id,
       jsonb_build_object(
           'id', b.id,
           'title', b.title,
           'copies', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', c.id, 'branch', c.branch) ORDER BY c.id)
                               FROM lib.copy c WHERE c.book_id = b.id), '[]'::jsonb))::text AS doc
FROM lib.book b

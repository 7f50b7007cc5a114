-- The crew documents, built independently of pg2es: the _id is (trip_id, guide_id), each part
-- with `%` written `%25` and `/` written `%2F`, joined by `/` (README, "Composite keys").
SELECT replace(replace(tg.trip_id, '%', '%25'), '/', '%2F') || '/' || tg.guide_id::text AS id,
       jsonb_build_object(
           'role', tg.role,
           'position', tg.position,
           'trip', (SELECT jsonb_build_object('id', t.id, 'title', t.title, 'status', t.status::text)
                    FROM atlas.trip t WHERE t.id = tg.trip_id),
           'guide', (SELECT jsonb_build_object('id', g.id, 'name', g.name)
                     FROM atlas.guide g WHERE g.id = tg.guide_id),
           'notes', COALESCE((
               SELECT jsonb_agg(jsonb_build_object('seq', n.seq, 'body', n.body) ORDER BY n.body DESC, n.seq)
               FROM atlas.note n
               WHERE n.trip_id = tg.trip_id AND n.guide_id = tg.guide_id), '[]'::jsonb))::text AS doc
FROM atlas.trip_guide tg

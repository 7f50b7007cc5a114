-- Each film's genre ids and (person id, role) pairs, built in SQL without pg2es: what the
-- through lists of the drafted declaration must hold, in key order.
SELECT f.id::text,
       jsonb_build_object(
           'title', f.title,
           'genre', COALESCE((SELECT jsonb_agg(gfw.genre_id::text ORDER BY gfw.genre_id)
                              FROM content.genre_film_work gfw WHERE gfw.film_work_id = f.id), '[]'),
           'person', COALESCE((SELECT jsonb_agg(jsonb_build_array(pfw.person_id::text, pfw.role::text)
                                                ORDER BY pfw.person_id, pfw.role)
                               FROM content.person_film_work pfw WHERE pfw.film_work_id = f.id), '[]')
       )::text
FROM content.film_work f

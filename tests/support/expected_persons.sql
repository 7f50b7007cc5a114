-- Every person document, built independently of pg2es: one entry per film, the roles in it
-- sorted, films sorted by id.
WITH films AS (
    SELECT pfw.person_id, pfw.film_work_id,
           json_agg(pfw.role::text ORDER BY pfw.role::text COLLATE "C") AS roles
    FROM content.person_film_work pfw
    GROUP BY pfw.person_id, pfw.film_work_id
), per_person AS (
    SELECT person_id,
           json_agg(json_build_object('id', film_work_id, 'roles', roles)
                    ORDER BY film_work_id) AS films
    FROM films
    GROUP BY person_id
)
SELECT p.id::text AS id,
       json_build_object('id', p.id, 'full_name', p.full_name,
                         'films', coalesce(f.films, '[]'::json))::text AS document
FROM content.person p
LEFT JOIN per_person f ON f.person_id = p.id

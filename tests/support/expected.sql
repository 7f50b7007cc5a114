-- Every film document, built independently of pg2es: one SQL statement with JSON functions.
-- Lists sorted by name (byte order) then id, as the index contract says.
WITH credits AS (
    SELECT pfw.film_work_id, pfw.role::text AS role,
           json_agg(json_build_object('id', p.id, 'name', p.full_name)
                    ORDER BY p.full_name COLLATE "C", p.id) AS people,
           json_agg(p.full_name ORDER BY p.full_name COLLATE "C", p.id) AS names
    FROM content.person_film_work pfw
    JOIN content.person p ON p.id = pfw.person_id
    GROUP BY pfw.film_work_id, pfw.role
), genres AS (
    SELECT gfw.film_work_id,
           json_agg(json_build_object('id', g.id, 'name', g.name)
                    ORDER BY g.name COLLATE "C" NULLS FIRST, g.id) AS genre
    FROM content.genre_film_work gfw
    JOIN content.genre g ON g.id = gfw.genre_id
    GROUP BY gfw.film_work_id
)
SELECT fw.id::text AS id,
       json_build_object(
           'id', fw.id,
           'title', fw.title,
           'description', fw.description,
           'imdb_rating', fw.rating,
           'type', fw.type::text,
           'genre', coalesce(g.genre, '[]'::json),
           'directors', coalesce(d.people, '[]'::json),
           'director', coalesce(d.names, '[]'::json),
           'actors', coalesce(a.people, '[]'::json),
           'actors_names', coalesce(a.names, '[]'::json),
           'writers', coalesce(w.people, '[]'::json),
           'writers_names', coalesce(w.names, '[]'::json),
           'created_at', to_char(fw.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'updated_at', to_char(fw.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
       )::text AS document
FROM content.film_work fw
LEFT JOIN genres g ON g.film_work_id = fw.id
LEFT JOIN credits d ON d.film_work_id = fw.id AND d.role = 'director'
LEFT JOIN credits a ON a.film_work_id = fw.id AND a.role = 'actor'
LEFT JOIN credits w ON w.film_work_id = fw.id AND w.role = 'writer'

-- Films of the new genre_film_work rows ($1), one page after film id $2.
SELECT DISTINCT film_work_id AS id
FROM content.genre_film_work
WHERE id = ANY($1)
  AND ($2::uuid IS NULL OR film_work_id > $2)
ORDER BY film_work_id
LIMIT $3

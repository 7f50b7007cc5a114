-- The genres of the films of one batch.
SELECT gfw.film_work_id, g.id, g.name
FROM content.genre_film_work gfw
JOIN content.genre g ON g.id = gfw.genre_id
WHERE gfw.film_work_id = ANY($1)

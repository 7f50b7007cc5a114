-- The film rows of one batch of documents.
SELECT id, title, description, rating, type::text AS type, created_at, updated_at
FROM content.film_work
WHERE id = ANY($1)

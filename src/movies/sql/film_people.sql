-- Everyone credited on the films of one batch, with their role.
-- One person lookup per link row. Without the LATERAL … LIMIT 1 the planner, seeing ~3,000
-- links in a batch, hashes the whole person table for every batch: 4× the cost of the lookups
-- at 100k people, and it grows with the table (bench/NOTES.md).
SELECT pfw.film_work_id, p.id, p.full_name, pfw.role::text AS role
FROM content.person_film_work pfw
CROSS JOIN LATERAL (
    SELECT p.id, p.full_name FROM content.person p WHERE p.id = pfw.person_id LIMIT 1
) p
WHERE pfw.film_work_id = ANY($1)

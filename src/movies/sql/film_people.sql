-- Everyone credited on the films of one batch, with their role.
SELECT pfw.film_work_id, p.id, p.full_name, pfw.role::text AS role
FROM content.person_film_work pfw
JOIN content.person p ON p.id = pfw.person_id
WHERE pfw.film_work_id = ANY($1)

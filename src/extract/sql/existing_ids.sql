-- Which of these ids still have a row.
SELECT id FROM {relation} WHERE id = ANY($1)

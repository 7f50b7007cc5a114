-- One back-fill page of root keys in key order ({after} is `WHERE key > $1` after the first page).
SELECT {key}::text
FROM {relation}
{after}
ORDER BY {key}
LIMIT $2

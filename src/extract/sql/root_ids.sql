-- One back-fill page of root ids in primary-key order ({after} is `>` after the first page).
SELECT id
FROM {relation}
WHERE id {after} $1
ORDER BY id
LIMIT $2

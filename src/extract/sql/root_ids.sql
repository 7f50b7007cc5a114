-- One back-fill page of root keys in key order ({after} is `WHERE key > $1` after the first page).
-- The table is qualified in ORDER BY: the output column `key::text` has the key's name.
SELECT t.{key}::text
FROM {relation} t
{after}
ORDER BY t.{key}
LIMIT $2

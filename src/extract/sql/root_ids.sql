-- One back-fill page of root keys in key order ({after} is `WHERE key > $1` after the first page).
-- The table is qualified in ORDER BY: the output column `key::text` has the key's name.
SELECT {key_text}
FROM {relation} t
{after}
ORDER BY {key_columns}
LIMIT $2

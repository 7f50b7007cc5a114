-- The next page of changed rows after a keyset cursor (rows sharing a position are ordered by
-- key), stopping before the horizon ($4) that a transaction still open may write behind.
-- {position} reads the changed_by column as a position; {after} is $1 cast back to the column.
-- Columns are qualified: the output columns may carry the same names.
SELECT {position} AS changed_at, t.{key}::text AS id
FROM {relation} t
WHERE (t.{changed_by}, t.{key}) > ({after}, $2::text::{key_type})
  AND {before_horizon}
ORDER BY t.{changed_by}, t.{key}
LIMIT $3

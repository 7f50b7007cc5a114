-- The next page of changed rows after a keyset cursor (rows sharing a position are ordered by
-- key), stopping before the horizon ($4) that a transaction still open may write behind.
-- {position} reads the changed_by column as a position; {after} is $1 cast back to the column.
SELECT {position} AS changed_at, {key}::text AS id
FROM {relation}
WHERE ({changed_by}, {key}) > ({after}, $2::text::{key_type})
  AND {before_horizon}
ORDER BY {changed_by}, {key}
LIMIT $3

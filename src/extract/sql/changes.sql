-- The next page of changed rows after a keyset cursor (rows sharing a position are ordered by
-- key), stopping before the horizon ($4) that a transaction still open may write behind.
-- {position} reads the changed_by column as a position; {after} is $1 cast back to the column.
-- Columns are qualified: the output columns may carry the same names.
-- A key of several columns is compared and ordered column by column ({key_columns}); its text
-- ({key_text}, $2) is the parts encoded and joined (composite.rs).
SELECT {position} AS changed_at, {key_text} AS id
FROM {relation} t
WHERE (t.{changed_by}, {key_columns}) > ({after}, {key_after})
  AND {before_horizon}
ORDER BY t.{changed_by}, {key_columns}
LIMIT $3

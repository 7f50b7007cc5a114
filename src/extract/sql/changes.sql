-- The next page of changed rows after a keyset cursor (rows sharing a timestamp are ordered by id),
-- stopping before the horizon ($4) that a transaction still open may write behind.
SELECT {cursor_column} AS changed_at, id
FROM {relation}
WHERE ({cursor_column}, id) > ($1, $2)
  AND {cursor_column} < $4
ORDER BY {cursor_column}, id
LIMIT $3

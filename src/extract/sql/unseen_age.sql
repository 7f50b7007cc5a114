-- The age in seconds of the oldest change after a keyset cursor: how long the oldest change
-- the index has not seen yet has been waiting (no row: nothing waits).
SELECT extract(epoch FROM clock_timestamp() - {cursor_column})::float8
FROM {relation}
WHERE ({cursor_column}, id) > ($1, $2)
ORDER BY {cursor_column}, id
LIMIT 1

-- The age in seconds of the oldest change after a keyset cursor: how long the oldest change
-- the index has not seen yet has been waiting (no row: nothing waits). Timestamps only.
SELECT extract(epoch FROM clock_timestamp() - {position})::float8
FROM {relation} t
WHERE (t.{changed_by}, {key_columns}) > ({after}, {key_after})
ORDER BY t.{changed_by}, {key_columns}
LIMIT 1

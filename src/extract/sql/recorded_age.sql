-- The age in seconds of the oldest recorded change still to be indexed (NULL: none waits).
SELECT extract(epoch FROM clock_timestamp() - min(recorded_at))::float8
FROM pg2es.changes

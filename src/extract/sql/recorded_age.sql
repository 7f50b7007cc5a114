-- The age in seconds of the oldest recorded change consumer $1 has not read (NULL: none waits).
SELECT extract(epoch FROM clock_timestamp() - min(c.recorded_at))::float8
FROM pg2es.changes c, pg2es.consumers k
WHERE k.name = $1 AND (c.seq > k.position OR c.xid = ANY(k.pending))

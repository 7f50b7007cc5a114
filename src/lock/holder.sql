-- Who holds the worker lock ($1) in this database, for messages: pid, client address, since when.
-- (Other roles' client addresses are visible only with pg_read_all_stats.)
SELECT a.pid,
       coalesce(host(a.client_addr), 'local socket') AS client,
       a.backend_start
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory'
  AND l.granted
  AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
LIMIT 1

-- Takes the lock ($1) for this session, waiting for as long as another session holds it.
-- Session-level: held until unlocked or until this connection closes (also when pg2es is killed).
SELECT pg_advisory_lock($1)

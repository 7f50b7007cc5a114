-- Lets go of the lock ($1) this session took with pg_try_advisory_lock.
SELECT pg_advisory_unlock($1)

-- Takes the worker lock for this session, or answers false at once when another session has it.
-- Session-level: held until unlocked or until this connection closes (also when pg2es is killed).
SELECT pg_try_advisory_lock($1)

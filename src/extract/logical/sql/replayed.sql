-- A hot standby's fence: every transaction it replayed before this position is streamed
-- before it (a standby writes no mark of its own into the log).
SELECT pg_last_wal_replay_lsn()::text

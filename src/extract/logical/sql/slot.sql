-- The slot of one pipeline, with what it holds back on the server's disk (on a hot standby,
-- measured from its replay position: it writes no log of its own).
WITH wal AS (
    SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                ELSE pg_current_wal_lsn() END AS lsn
)
SELECT s.plugin::text AS plugin,
       s.database::text AS database,
       s.active_pid,
       s.wal_status,
       s.confirmed_flush_lsn::text AS confirmed_flush_lsn,
       pg_wal_lsn_diff(wal.lsn, s.restart_lsn)::bigint AS retained_bytes,
       pg_wal_lsn_diff(wal.lsn, s.confirmed_flush_lsn)::bigint AS unconfirmed_bytes
FROM pg_replication_slots s, wal
WHERE s.slot_name = $1

-- The slot of one pipeline, with what it holds back on the server's disk.
SELECT s.plugin::text AS plugin,
       s.database::text AS database,
       s.active_pid,
       s.wal_status,
       s.confirmed_flush_lsn::text AS confirmed_flush_lsn,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint AS retained_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint AS unconfirmed_bytes
FROM pg_replication_slots s
WHERE s.slot_name = $1

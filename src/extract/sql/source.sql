-- Which database this is: the cluster initdb made, the timeline it is on (a point-in-time
-- restore or a promoted standby starts a new one), and the database itself. A primary's
-- timeline is the one it writes the log on (the first 8 hex digits of the current WAL file's
-- name): a promoted standby's last checkpoint, which pg_control_checkpoint() reads, may still
-- be on the old one for a moment after the promotion.
SELECT s.system_identifier::text AS system_identifier,
       CASE WHEN pg_is_in_recovery()
            THEN c.timeline_id::int8
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int4::int8
       END AS timeline,
       d.datname::text AS database,
       d.oid::int8 AS database_oid
FROM pg_control_system() s, pg_control_checkpoint() c, pg_database d
WHERE d.datname = current_database()

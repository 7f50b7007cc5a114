-- Which server and history the slot's positions belong to: `<system identifier>/<timeline>`,
-- and ` standby` when it is a hot standby, whose slots are its own. A restore onto another
-- server, a failover, or postgres.url moved between a primary and its standby changes it. A
-- primary's timeline is the one it writes the log on (the first 8 hex digits of the current
-- WAL file's name): a promoted standby's last checkpoint, which pg_control_checkpoint()
-- reads, may still be on the old one for a moment after the promotion.
SELECT (SELECT system_identifier::text FROM pg_control_system())
       || '/' || CASE WHEN pg_is_in_recovery()
                      THEN (SELECT timeline_id::text FROM pg_control_checkpoint()) || ' standby'
                      ELSE (('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int4)::text
                 END

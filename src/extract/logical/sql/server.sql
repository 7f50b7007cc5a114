-- Which server and history the slot's positions belong to: `<system identifier>/<timeline>`,
-- and ` standby` when it is a hot standby, whose slots are its own. A restore onto another
-- server, a failover, or postgres.url moved between a primary and its standby changes it.
SELECT (SELECT system_identifier::text FROM pg_control_system())
       || '/' || (SELECT timeline_id::text FROM pg_control_checkpoint())
       || CASE WHEN pg_is_in_recovery() THEN ' standby' ELSE '' END

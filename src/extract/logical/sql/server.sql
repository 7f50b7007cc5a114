-- Which server and history the slot's positions belong to: `<system identifier>/<timeline>`.
-- A restore onto another server or a failover changes it.
SELECT (SELECT system_identifier::text FROM pg_control_system())
       || '/' || (SELECT timeline_id::text FROM pg_control_checkpoint())

-- Which database this is: the cluster initdb made, the timeline it is on (a point-in-time
-- restore or a promoted standby starts a new one), and the database itself.
SELECT s.system_identifier::text AS system_identifier,
       c.timeline_id::int8 AS timeline,
       d.datname::text AS database,
       d.oid::int8 AS database_oid
FROM pg_control_system() s, pg_control_checkpoint() c, pg_database d
WHERE d.datname = current_database()

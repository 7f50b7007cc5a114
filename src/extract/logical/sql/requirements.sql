-- What logical capture needs of the server (its version included) and the role, and the disk guard.
SELECT current_setting('wal_level') AS wal_level,
       (SELECT r.rolreplication OR r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) AS replication,
       current_user::text AS role,
       current_setting('max_slot_wal_keep_size') AS max_slot_wal_keep_size,
       current_setting('server_version_num')::int4 AS server_version_num,
       current_setting('server_version') AS server_version

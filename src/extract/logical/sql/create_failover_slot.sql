-- A logical slot decoding with pgoutput that a standby with sync_replication_slots copies,
-- and keeps across its promotion (Postgres 17+: the fifth argument, failover); its position
-- is the server's newest.
SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput', false, false, true)

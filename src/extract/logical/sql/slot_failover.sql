-- Whether the slot is kept across a failover (Postgres 17+): made with failover, synced from
-- a primary (on a promoted standby), and why Postgres invalidated it, if it did.
SELECT s.failover, s.synced, s.invalidation_reason::text AS invalidation_reason
FROM pg_replication_slots s
WHERE s.slot_name = $1

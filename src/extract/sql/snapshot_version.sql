-- The snapshot documents are about to be built from, read before the statements that build
-- them take theirs: its xmax (with the epoch) and how many transactions below it still run.
-- Read-only, so a hot standby answers it too.
SELECT pg_snapshot_xmax(snapshot)::text AS xmax,
       (SELECT count(*) FROM pg_snapshot_xip(snapshot)) AS running
FROM pg_current_snapshot() AS snapshot

-- How many of the transactions $1 (32-bit ids from the stream) a new snapshot does not see yet.
-- A transaction is streamed once its commit is in the log, which comes a moment before other
-- sessions see it: documents are built only once every one of a batch's is visible.
WITH now AS (SELECT pg_current_snapshot() AS snap),
     bounds AS (SELECT snap, pg_snapshot_xmax(snap)::text::bigint AS xmax FROM now)
SELECT count(*)
FROM bounds, unnest($1::bigint[]) AS x(xid)
WHERE NOT pg_visible_in_snapshot(
    ((((bounds.xmax >> 32) - CASE WHEN x.xid > (bounds.xmax & 4294967295) THEN 1 ELSE 0 END) << 32)
     | x.xid)::text::xid8,
    bounds.snap)

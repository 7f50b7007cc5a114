-- A new consumer starts at the newest change, with the transactions open now still to read.
INSERT INTO pg2es.consumers (name, position, pending)
SELECT $1, coalesce((SELECT max(seq) FROM pg2es.changes), 0),
       ARRAY(SELECT pg_snapshot_xip(pg_current_snapshot()))
ON CONFLICT (name) DO NOTHING

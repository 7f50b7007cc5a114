-- The transactions open in this snapshot: their changes may appear behind the position.
SELECT ARRAY(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) AS x)

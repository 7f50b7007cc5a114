-- The newest recorded change visible in this snapshot (0: none).
SELECT coalesce(max(seq), 0) FROM pg2es.changes

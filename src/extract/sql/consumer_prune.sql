-- Changes every consumer has passed, and that no consumer still waits for.
DELETE FROM pg2es.changes c
WHERE c.seq <= (SELECT min(position) FROM pg2es.consumers)
  AND NOT EXISTS (SELECT 1 FROM pg2es.consumers k WHERE c.xid = ANY(k.pending))

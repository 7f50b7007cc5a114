-- Every consumer with its backlog (changes it has not read yet).
SELECT k.name, k.position, k.seen_at,
       (SELECT count(*) FROM pg2es.changes c WHERE c.seq > k.position OR c.xid = ANY(k.pending)) AS backlog
FROM pg2es.consumers k
ORDER BY k.name

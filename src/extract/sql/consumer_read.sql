-- A consumer's next changes: after its position, and those of transactions that were open
-- when it last read (they may have committed behind the position since).
SELECT seq, relation, key_column, value
FROM pg2es.changes
WHERE seq > $1 OR xid = ANY($2::text[]::xid8[])
ORDER BY seq
LIMIT $3

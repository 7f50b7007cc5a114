-- What a consumer has not read, each changed key once: the changes after its position ($1) up
-- to $3 (a window of bounded size), and those of the transactions that were open when it last
-- read ($2, they may have committed behind the position since). A backlog of many writes to
-- few rows costs one document build per row, whatever the number of writes.
SELECT relation, key_column, value, max(seq) AS seq
FROM pg2es.changes
WHERE (seq > $1 AND seq <= $3) OR xid = ANY($2::text[]::xid8[])
GROUP BY relation, key_column, value
ORDER BY max(seq)

-- The oldest recorded changes still to be indexed.
SELECT seq, source, row_id
FROM pg2es.changes
ORDER BY seq
LIMIT $1

-- The columns a table's replica identity puts in the old row of updates and deletes:
-- every column with FULL, the primary key's by default, the chosen index's with USING INDEX.
SELECT c.relreplident::text AS identity,
       COALESCE((SELECT array_agg(a.attname::text)
                 FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                 WHERE i.indrelid = c.oid
                   AND ((c.relreplident = 'd' AND i.indisprimary)
                        OR (c.relreplident = 'i' AND i.indisreplident))), '{}') AS columns
FROM pg_class c
WHERE c.oid = $1::regclass

-- The smallest unique index that may serve as replica identity and holds every column in $2.
SELECT quote_ident(ic.relname::text)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = $1::regclass
  AND i.indisunique AND i.indisvalid AND i.indimmediate
  AND i.indpred IS NULL AND i.indexprs IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) AND NOT a.attnotnull)
  AND (SELECT array_agg(a.attname::text) FROM pg_attribute a
       WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) @> $2::text[]
ORDER BY i.indisprimary DESC, array_length(i.indkey, 1), 1
LIMIT 1

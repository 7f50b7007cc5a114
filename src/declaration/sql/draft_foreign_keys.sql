-- The single-column foreign keys from or to table $1 (schema-qualified):
-- (from table, its column, to table, the column it references). A partition's copy of its
-- parent's foreign key is left out: the parent's is the one a declaration follows.
SELECT fn.nspname || '.' || f.relname AS from_table, fa.attname::text AS from_column,
       tn.nspname || '.' || t.relname AS to_table, ta.attname::text AS to_column
FROM pg_constraint c
JOIN pg_class f ON f.oid = c.conrelid
JOIN pg_namespace fn ON fn.oid = f.relnamespace
JOIN pg_class t ON t.oid = c.confrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_attribute fa ON fa.attrelid = c.conrelid AND fa.attnum = c.conkey[1]
JOIN pg_attribute ta ON ta.attrelid = c.confrelid AND ta.attnum = c.confkey[1]
WHERE c.contype = 'f'
  AND cardinality(c.conkey) = 1
  AND c.conparentid = 0
  AND (c.conrelid = to_regclass($1) OR c.confrelid = to_regclass($1))
ORDER BY 1, 2, 3

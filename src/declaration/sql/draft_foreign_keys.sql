-- The foreign keys from or to table $1 (schema-qualified), of one column or several:
-- (from table, its columns, to table, the columns they reference, pairwise in the constraint's
-- order). A partition's copy of its parent's foreign key is left out: the parent's is the one a
-- declaration follows.
SELECT fn.nspname || '.' || f.relname AS from_table,
       ARRAY(SELECT a.attname::text
             FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
             ORDER BY k.n) AS from_columns,
       tn.nspname || '.' || t.relname AS to_table,
       ARRAY(SELECT a.attname::text
             FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum
             ORDER BY k.n) AS to_columns
FROM pg_constraint c
JOIN pg_class f ON f.oid = c.conrelid
JOIN pg_namespace fn ON fn.oid = f.relnamespace
JOIN pg_class t ON t.oid = c.confrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE c.contype = 'f'
  AND c.conparentid = 0
  AND (c.conrelid = to_regclass($1) OR c.confrelid = to_regclass($1))
ORDER BY 1, 2, 3

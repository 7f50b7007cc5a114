-- Whether table $1 (schema-qualified) exists, and its primary key's columns in key order.
SELECT to_regclass($1) IS NOT NULL AS found,
       COALESCE((SELECT array_agg(a.attname::text ORDER BY k.n)
                 FROM pg_constraint c
                 CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                 WHERE c.conrelid = to_regclass($1) AND c.contype = 'p'), '{}') AS key

-- The unique indexes of one table ($1, schema-qualified), its primary key among them; for a
-- partitioned table, its partitioned indexes (pg_index has them on the parent). `columns` are
-- the index's key columns in order: INCLUDE columns enforce nothing and are left out, and an
-- expression has no column (`on_expressions` says there is one).
SELECT i.indexrelid::regclass::text AS name,
       i.indpred IS NOT NULL AS is_partial,
       i.indexprs IS NOT NULL AS on_expressions,
       i.indisvalid AS is_valid,
       ARRAY(SELECT a.attname::text
             FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.position <= i.indnkeyatts
             ORDER BY k.position) AS columns
FROM pg_index i
WHERE i.indrelid = to_regclass($1)
  AND i.indisunique
ORDER BY i.indisprimary DESC, 1

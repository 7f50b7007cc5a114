-- The partitions (at any level) of the relations $1 that lack a capture trigger: the row
-- trigger Postgres clones from the parent, or the statement triggers `pg2es setup` (or the
-- worker, on a partition it finds new) puts on each partition.
SELECT format('%I.%I', n.nspname, c.relname) || ' (partition of ' || w.relation || ')'
FROM unnest($1::text[]) AS w(relation)
CROSS JOIN LATERAL pg_partition_tree(to_regclass(w.relation)) AS t
JOIN pg_class c ON c.oid = t.relid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE t.level > 0
  AND (SELECT count(*) FROM pg_trigger g
       WHERE g.tgrelid = t.relid
         AND g.tgname IN ('pg2es_record', 'pg2es_notify', 'pg2es_truncate')) < 3
ORDER BY 1

-- Every member of the partition tree of each followed relation ($1): the relation itself
-- (level 0) and its partitions at every level, with the file its rows are in (a TRUNCATE,
-- VACUUM FULL or rewrite gives a leaf a new one; a partitioned table has none).
SELECT w.relation,
       format('%I.%I', n.nspname, c.relname) AS name,
       c.oid::bigint AS oid,
       c.relfilenode::bigint AS filenode,
       t.level,
       t.isleaf AS leaf
FROM unnest($1::text[]) AS w(relation)
-- pg_partition_tree has no row for a plain table: it is a tree of itself.
CROSS JOIN LATERAL (SELECT relid, level, isleaf FROM pg_partition_tree(to_regclass(w.relation))
                    UNION ALL
                    SELECT to_regclass(w.relation), 0, true
                    WHERE NOT EXISTS (SELECT 1 FROM pg_partition_tree(to_regclass(w.relation)))) AS t
JOIN pg_class c ON c.oid = t.relid
JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY 1, t.level, 2

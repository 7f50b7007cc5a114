-- The capture triggers of the relations $1 that do not fire for every write: disabled
-- ('D', e.g. left by ALTER TABLE ... DISABLE TRIGGER ALL), or enabled only for writes made
-- with session_replication_role = origin ('O', what ENABLE TRIGGER ALL sets back) or replica
-- ('R'). `pg2es setup` enables them ALWAYS ('A').
-- Partitions count: each has its own copy of every trigger, enabled on its own.
SELECT CASE p.level WHEN 0 THEN w.relation
                    ELSE p.relid::regclass::text || ' (partition of ' || w.relation || ')' END AS relation,
       t.tgname::text AS trigger,
       CASE t.tgenabled WHEN 'D' THEN 'disabled'
                        WHEN 'O' THEN 'not fired when session_replication_role = replica'
                        ELSE 'fired only when session_replication_role = replica' END AS how
FROM unnest($1::text[]) AS w(relation)
-- pg_partition_tree has no row for a plain table: it is a tree of itself.
CROSS JOIN LATERAL (SELECT relid, level, isleaf FROM pg_partition_tree(to_regclass(w.relation))
                    UNION ALL
                    SELECT to_regclass(w.relation), 0, true
                    WHERE NOT EXISTS (SELECT 1 FROM pg_partition_tree(to_regclass(w.relation)))) AS p
JOIN pg_trigger t ON t.tgrelid = p.relid
WHERE t.tgname IN ('pg2es_record', 'pg2es_notify', 'pg2es_truncate')
  AND NOT t.tgisinternal
  AND t.tgenabled <> 'A'
ORDER BY 1, 2

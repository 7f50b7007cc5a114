-- The (relation, column) pairs ($1, $2) whose capture is not installed: no trigger on the
-- table, or the triggers do not record that column.
SELECT w.relation || '.' || w.key_column
FROM unnest($1::text[], $2::text[]) AS w(relation, key_column)
WHERE NOT EXISTS (SELECT 1 FROM pg2es.captured k
                  WHERE k.relation = w.relation AND k.key_column = w.key_column)
   OR (SELECT count(*) FROM pg_trigger t
       WHERE t.tgrelid = to_regclass(w.relation)
         AND t.tgname IN ('pg2es_record', 'pg2es_notify', 'pg2es_truncate')
         AND NOT t.tgisinternal) < 3

-- The tables ($1, schema-qualified) that lack pg2es's triggers or whose change table is missing.
SELECT relation
FROM unnest($1::text[]) AS relation
WHERE to_regclass('pg2es.changes') IS NULL
   OR (SELECT count(*) FROM pg_trigger t
       WHERE t.tgrelid = to_regclass(relation)
         AND t.tgname IN ('pg2es_record', 'pg2es_notify')
         AND NOT t.tgisinternal) < 2

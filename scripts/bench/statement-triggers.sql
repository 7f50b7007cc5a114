-- Bench-only experiment (scripts/bench/source-cost.sh): the row triggers `pg2es setup`
-- installs replaced by statement-level triggers over transition tables, which record the same
-- columns (pg2es.captured) with one INSERT … SELECT per statement and notify in the same
-- function: one trigger call per statement instead of one per row plus one per statement.
DO $$
DECLARE
    r record;
    fn text;
    cols text;
BEGIN
    FOR r IN SELECT relation, array_agg(key_column ORDER BY key_column) AS columns
             FROM pg2es.captured GROUP BY relation
    LOOP
        SELECT string_agg(format('(%L, t.%I::text)', c, c), ', ') INTO cols FROM unnest(r.columns) AS c;
        fn := 'pg2es."stmt_' || r.relation || '"';
        EXECUTE format($f$
            CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO pg2es.changes (relation, key_column, value)
                    SELECT %L, x.c, x.v FROM new_rows t, LATERAL (VALUES %s) AS x(c, v) WHERE x.v IS NOT NULL;
                ELSIF TG_OP = 'DELETE' THEN
                    INSERT INTO pg2es.changes (relation, key_column, value)
                    SELECT %L, x.c, x.v FROM old_rows t, LATERAL (VALUES %s) AS x(c, v) WHERE x.v IS NOT NULL;
                ELSE
                    INSERT INTO pg2es.changes (relation, key_column, value)
                    SELECT DISTINCT %L, x.c, x.v
                    FROM (SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows) t,
                         LATERAL (VALUES %s) AS x(c, v) WHERE x.v IS NOT NULL;
                END IF;
                PERFORM pg_notify('pg2es_changes', '');
                RETURN NULL;
            END
            $body$ $f$, fn, r.relation, cols, r.relation, cols, r.relation, cols);
        EXECUTE format('DROP TRIGGER IF EXISTS pg2es_record ON %s', r.relation);
        EXECUTE format('DROP TRIGGER IF EXISTS pg2es_notify ON %s', r.relation);
        EXECUTE format('CREATE TRIGGER pg2es_stmt_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()', r.relation, fn);
        EXECUTE format('CREATE TRIGGER pg2es_stmt_update AFTER UPDATE ON %s REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()', r.relation, fn);
        EXECUTE format('CREATE TRIGGER pg2es_stmt_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()', r.relation, fn);
    END LOOP;
END
$$;

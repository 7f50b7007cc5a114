-- Records {columns} of every inserted, updated or deleted row of {relation}: new values, and
-- old values that differ (a link row moved to another film touches both films).
CREATE OR REPLACE FUNCTION pg2es."{function}"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO pg2es.changes (relation, key_column, value)
        SELECT {relation_literal}, c, v FROM (VALUES {new_values}) AS n(c, v) WHERE v IS NOT NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO pg2es.changes (relation, key_column, value)
        SELECT {relation_literal}, c, v FROM (VALUES {old_values}) AS o(c, v) WHERE v IS NOT NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO pg2es.changes (relation, key_column, value)
        SELECT {relation_literal}, c, v FROM (VALUES {old_new_values}) AS o(c, v, n)
        WHERE v IS NOT NULL AND v IS DISTINCT FROM n;
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS pg2es_record ON {relation};
CREATE TRIGGER pg2es_record AFTER INSERT OR UPDATE OR DELETE ON {relation}
    FOR EACH ROW EXECUTE FUNCTION pg2es."{function}"();
-- Writes made with session_replication_role = replica (a logical replication subscriber,
-- restores and bulk loads that set it) fire only triggers enabled ALWAYS.
ALTER TABLE {relation} ENABLE ALWAYS TRIGGER pg2es_record;
-- The statement triggers (the wake-up, and the record of a TRUNCATE: it fires no row
-- trigger) follow, from capture_statement.sql, as on each partition.
DELETE FROM pg2es.captured WHERE relation = {relation_literal};
INSERT INTO pg2es.captured (relation, key_column) VALUES {captured_rows};

-- Records the key of every inserted, updated or deleted row of {relation} as a {source} change.
CREATE OR REPLACE FUNCTION pg2es.record_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO pg2es.changes (source, row_id) VALUES ('{source}', NEW.{key});
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.{key} IS DISTINCT FROM NEW.{key}) THEN
        INSERT INTO pg2es.changes (source, row_id) VALUES ('{source}', OLD.{key});
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS pg2es_record ON {relation};
CREATE TRIGGER pg2es_record AFTER INSERT OR UPDATE OR DELETE ON {relation}
    FOR EACH ROW EXECUTE FUNCTION pg2es.record_{name}();
DROP TRIGGER IF EXISTS pg2es_notify ON {relation};
CREATE TRIGGER pg2es_notify AFTER INSERT OR UPDATE OR DELETE ON {relation}
    FOR EACH STATEMENT EXECUTE FUNCTION pg2es.notify_change();

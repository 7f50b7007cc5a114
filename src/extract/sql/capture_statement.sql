-- The statement triggers of {partition}, the followed {relation} itself or one of its
-- partitions (a partition's row trigger is Postgres's clone of the parent's, but statement
-- triggers are not cloned, and a statement aimed at a partition fires only its own): the
-- wake-up, and the record of a TRUNCATE (any row may be gone), enabled ALWAYS.
DROP TRIGGER IF EXISTS pg2es_notify ON {partition};
CREATE TRIGGER pg2es_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {partition}
    FOR EACH STATEMENT EXECUTE FUNCTION pg2es.notify_change();
DROP TRIGGER IF EXISTS pg2es_truncate ON {partition};
CREATE TRIGGER pg2es_truncate AFTER TRUNCATE ON {partition}
    FOR EACH STATEMENT EXECUTE FUNCTION pg2es.record_truncate({relation_literal});
ALTER TABLE {partition} ENABLE ALWAYS TRIGGER pg2es_notify;
ALTER TABLE {partition} ENABLE ALWAYS TRIGGER pg2es_truncate;

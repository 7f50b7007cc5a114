-- Exact change capture: triggers record every changed key here; pg2es deletes a row only after
-- Elasticsearch acknowledged the documents it touched, so a late commit is never skipped.
CREATE SCHEMA IF NOT EXISTS pg2es;
CREATE TABLE IF NOT EXISTS pg2es.changes (
    seq         bigserial PRIMARY KEY,
    source      text NOT NULL,
    row_id      uuid NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- One notification per statement wakes the worker (LISTEN pg2es_changes).
CREATE OR REPLACE FUNCTION pg2es.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pg2es_changes', '');
    RETURN NULL;
END
$$;

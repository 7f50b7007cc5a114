-- Exact change capture. Triggers record, for every changed row, the columns that lead to
-- documents (its key and its refs, old and new values). Every consumer (a pipeline of a
-- deployment) keeps its own position; a change is pruned once every consumer has passed it.
CREATE SCHEMA IF NOT EXISTS pg2es;
-- The layout of pg2es before pipelines were declared (one consumer, uuid keys) is replaced:
-- changes it still held are dropped (`pg2es verify --repair` covers them).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = 'pg2es' AND table_name = 'changes' AND column_name = 'row_id') THEN
        DROP TABLE pg2es.changes;
    END IF;
END
$$;
CREATE TABLE IF NOT EXISTS pg2es.changes (
    seq         bigserial PRIMARY KEY,
    -- The recording transaction: a consumer re-reads the changes of transactions that were
    -- still open when it read past them (a late commit is never skipped).
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    relation    text NOT NULL,
    key_column  text NOT NULL,
    value       text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS pg2es.consumers (
    name          text PRIMARY KEY,
    position      bigint NOT NULL,
    pending       xid8[] NOT NULL DEFAULT '{}',
    registered_at timestamptz NOT NULL DEFAULT now(),
    seen_at       timestamptz NOT NULL DEFAULT now()
);
-- Which columns of which table the triggers record: `check` compares it with what each
-- pipeline needs.
CREATE TABLE IF NOT EXISTS pg2es.captured (
    relation   text NOT NULL,
    key_column text NOT NULL,
    PRIMARY KEY (relation, key_column)
);
-- One notification per statement wakes the workers (LISTEN pg2es_changes).
CREATE OR REPLACE FUNCTION pg2es.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pg2es_changes', '');
    RETURN NULL;
END
$$;
-- A TRUNCATE of the relation the trigger names (its argument) is one row with an empty
-- key_column and value: every row may be gone, and which documents they reached is unknown.
CREATE OR REPLACE FUNCTION pg2es.record_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pg2es.changes (relation, key_column, value) VALUES (TG_ARGV[0], '', '');
    RETURN NULL;
END
$$;

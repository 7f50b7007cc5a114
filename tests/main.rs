//! Integration tests against the real Postgres and Elasticsearch/OpenSearch started by `make up`.
//! `make test` runs this binary once per search server (`PG2ES_TEST_SEARCH_URL`).

mod support;

mod alias;
mod atlas;
mod backfill;
mod bad_input;
mod capture;
mod capture_holes;
mod changes;
mod composite_keys;
mod composite_root;
mod connections;
mod dead_letter;
mod derived;
mod docs;
mod escape;
mod faults;
mod golden;
mod hops;
mod horizon;
mod init;
mod init_composite;
mod init_schemas;
mod keys;
mod logical;
mod logical_faults;
mod observability;
mod partitions;
mod pipelines;
mod randomized;
mod reindex;
mod resume;
mod schema_change;
mod search_faults;
mod security;
mod shop;
mod sorting;
mod standby;
mod state_faults;
mod truncate_rebuild;
mod trust;
mod turns;
mod types;
mod verify;
mod versions;

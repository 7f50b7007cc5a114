//! pg2es keeps an Elasticsearch/OpenSearch index in sync with PostgreSQL.
//!
//! ```text
//! config ──► pipeline ──► extract (Postgres) ──► transform (rows → documents) ──► load (Elasticsearch)
//!                │                                                                   │
//!                └──────────────── state (cursor saved only after load acks) ◄───────┘
//! ```
//!
//! **Where a changed row becomes a bulk action**: the capture mode (`pipeline/capture/`, one
//! folder per mode behind `Follower`) turns changed rows into units of root keys; the build
//! stage (`pipeline/stages/units.rs`) hands each unit to `build_actions`
//! (`pipeline/documents.rs`), which builds the documents through the declaration's SQL and
//! makes an index action of each, a delete of each key without a row; the engine writes them
//! through the `Sink` contract (`load/sink.rs`, kept by `load/bulk.rs`) and moves the
//! position in the `StateStore` (`state/store.rs`) once they were acknowledged.
//!
//! - [`config`] validates `config.yaml` plus `PG2ES__SECTION__KEY` overrides once, into types
//!   the rest of the code trusts.
//! - [`pipeline`] is the engine: back-fill by primary key (`stages/backfill.rs`), then the
//!   changes as the capture mode finds them (`capture/`), fan-out from child tables to root
//!   documents. It knows nothing about movies; a [`declaration`] describes the tables and
//!   builds documents. The index name users search is an alias: when the index config
//!   changes, a new index is built next to the live one (`lifecycle/`), written to by the
//!   changes meanwhile, and the alias moves to it in one request. What it reads, writes and
//!   stores are contracts on traits (`stages/source.rs`, `load/sink.rs`, `state/store.rs`),
//!   each with an in-memory implementation its unit tests run on.
//! - [`declaration`] reads pipeline declarations (`pipelines/*.yaml`: the movies, genres and
//!   persons indexes are three of them) and derives the SQL, the fan-out and the capture.
//! - [`extract`] reads Postgres, [`transform`] holds the document type, [`load`] writes bulk
//!   requests and judges every item, [`state`] persists cursors atomically, [`retry`] lets each
//!   error decide whether it is worth another attempt.
//! - Beside them: [`metrics`] (the registry, `/metrics`, `/healthz`, `/readyz`) and [`lock`]
//!   (one active worker per pipeline and index; the others stand by).

pub mod cli;
pub mod config;
pub(crate) mod declaration;
pub(crate) mod errors;
pub(crate) mod extract;
pub(crate) mod load;
pub(crate) mod lock;
pub(crate) mod metrics;
pub(crate) mod pipeline;
pub(crate) mod retry;
pub(crate) mod state;
pub(crate) mod telemetry;
pub(crate) mod transform;

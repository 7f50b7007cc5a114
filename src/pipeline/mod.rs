//! The engine: back-fill, then follow changes table by table, saving cursors only after
//! Elasticsearch acknowledged everything before them. Nothing here knows what a document is.

/// The data path: back-fill pages and change units built into documents and written in order.
mod stages {
    pub(super) mod backfill;
    pub(super) mod in_order;
    #[cfg(test)]
    pub(super) mod memory;
    pub(super) mod partitions;
    pub(super) mod progress;
    pub(super) mod source;
    pub(super) mod spawned;
    pub(super) mod truncated;
    pub(super) mod units;
}
/// Change capture, one folder per mode behind one interface (`capture::Follower`).
mod capture;
/// The index behind the alias: what it needs at start (`plan`, `prepare`) and rebuilds.
mod lifecycle {
    pub(super) mod plan;
    pub(super) mod prepare;
    pub(super) mod rebuild;
    pub(super) mod trust;
}
/// Commands that run once: export, verify, dead-letter replay, the schema check.
mod oneshot {
    pub(super) mod export;
    pub(super) mod replay;
    pub(super) mod schema;
    pub(super) mod verify;
}

pub(crate) use capture::{grant_for, guarded, lag};
pub(crate) use lifecycle::plan::Request;
pub(crate) use lifecycle::prepare::wanted_hash;
pub(crate) use lifecycle::trust::alias_trouble;
pub(crate) use oneshot::export::export;
pub(crate) use oneshot::replay::replay_dead_letters;
pub(crate) use oneshot::schema::check_schema;
pub(crate) use oneshot::verify::{verify, VerifyMode, VerifyReport};

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use futures_util::{Stream, StreamExt};
use sqlx::PgPool;
use tracing::info;

use crate::config::Config;
use crate::declaration::{Declared, Touch};
use crate::extract::{PgError, Postgres, Table};
use crate::load::{Elastic, EsError, IdScroll, WriteReport};
use crate::state::{self, State, StateError, StateStore};
use crate::transform::{actions_for, Action, Document, Key};

use self::stages::units::Unit;

/// What a pipeline tells the engine: which tables to follow, how a recorded change reaches
/// root documents, and how to build documents. (Implemented by declared pipelines.)
pub(crate) trait Pipeline: Send + Sync + 'static {
    /// Names the pipeline in the state file, the lock, the metrics and the change consumers.
    fn name(&self) -> &str;
    /// Every followed table, the root table (one document per row) first.
    fn tables(&self) -> &[Table];
    /// How a recorded change of `relation.column` reaches root documents (`None`: it does not).
    fn touch(&self, relation: &str, column: &str) -> Option<&Touch>;
    /// What shapes the documents, as canonical text: part of the hash that names the index.
    fn fingerprint(&self) -> &str;
    /// Whether its documents are those pg2es built before pipelines were declared (the
    /// shipped movies declaration): an index built then is kept, not rebuilt.
    fn builds_undeclared_documents(&self) -> bool;
    /// Builds the documents of these root keys; a key without a row yields no document.
    fn build(
        &self,
        pool: &PgPool,
        ids: &[Key],
    ) -> impl Future<Output = Result<Vec<Document>, sqlx::Error>> + Send;

    fn root(&self) -> &Table {
        &self.tables()[0]
    }
}

impl Pipeline for Declared {
    fn name(&self) -> &str {
        &self.name
    }

    fn tables(&self) -> &[Table] {
        &self.tables
    }

    fn touch(&self, relation: &str, column: &str) -> Option<&Touch> {
        self.recorded.get(&(relation.to_owned(), column.to_owned()))
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn builds_undeclared_documents(&self) -> bool {
        self.fingerprint == crate::declaration::shipped_movies_fingerprint()
    }

    async fn build(&self, pool: &PgPool, ids: &[Key]) -> Result<Vec<Document>, sqlx::Error> {
        Declared::build(self, pool, ids).await
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error(transparent)]
    Elasticsearch(#[from] EsError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("change capture is not installed on {}: run `pg2es setup` (or use sync.capture: polling)", .0.join(", "))]
    CaptureMissing(Vec<String>),
    #[error("change capture triggers do not fire for every write ({}): writes are missed; run `pg2es setup` (it enables them ALWAYS)", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    CaptureUnfired(Vec<crate::extract::UnfiredTrigger>),
    #[error("polling cannot see other roles' open transactions: role {role} lacks pg_read_all_stats, so a late commit could be skipped; run `{grant}` (or accept the risk with sync.polling_guard: off)")]
    GuardBlind { role: String, grant: String },
    #[error(transparent)]
    Export(#[from] oneshot::export::ExportError),
    #[error("postgres does not have what the pipeline reads: {what}")]
    Schema {
        what: String,
        #[source]
        source: PgError,
    },
    #[error("sync.capture: logical cannot work here: {}", .0.join("; "))]
    LogicalUnavailable(Vec<String>),
    #[error(transparent)]
    Logical(#[from] crate::extract::LogicalError),
    #[error("{reason}: the index is rebuilt behind the alias")]
    RebuildNeeded {
        reason: String,
        /// What the state file and the log call the rebuild.
        cause: crate::state::RebuildReason,
    },
    #[error("a back-fill task stopped unexpectedly")]
    Task(#[source] tokio::task::JoinError),
    #[error("alias {alias} points at several indexes ({}): pg2es keeps it on one; remove it from the others", .indexes.join(", "))]
    SeveralIndexes { alias: String, indexes: Vec<String> },
    #[error("the index behind alias {alias} is not the one pg2es left it on ({reason}): its documents are not trusted")]
    AliasMoved { alias: String, reason: String },
    #[error("nothing to roll back to: no earlier index of {alias} built from another index config is kept (index.keep_previous)")]
    NothingToRollBack { alias: String },
}

/// What the engine does about a failed cycle, decided by the error itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Remedy {
    /// The index behind the alias is gone or was moved by hand: its documents are not
    /// trusted; it is made again behind the alias (writes require the alias, so nothing went
    /// to a stray index), search answering incompletely until then.
    Remake,
    /// Changes were missed (a truncated table, a lost slot): rebuilt behind the alias, search
    /// answering meanwhile; a rebuild in progress starts over.
    Rebuild {
        reason: String,
        cause: crate::state::RebuildReason,
    },
    /// Nothing the engine can mend: the pipeline stops with the error, whose message says
    /// what the operator can do (transient failures were retried below, call by call).
    Stop,
}

impl SyncError {
    /// What to do about this error (see [`Remedy`]).
    pub(crate) fn remedy(&self) -> Remedy {
        match self {
            SyncError::Elasticsearch(EsError::IndexGone { .. }) | SyncError::AliasMoved { .. } => {
                Remedy::Remake
            }
            SyncError::RebuildNeeded { reason, cause } => Remedy::Rebuild {
                reason: reason.clone(),
                cause: *cause,
            },
            _ => Remedy::Stop,
        }
    }

    /// The slot's stream does not cover every change any more (`reason` says why).
    fn slot_lost(reason: String) -> Self {
        SyncError::RebuildNeeded {
            reason,
            cause: crate::state::RebuildReason::SlotLost,
        }
    }
}

pub(crate) struct Engine<P> {
    pipeline: Arc<P>,
    pg: Postgres,
    /// Writes go to the alias, so they reach whichever index it points at.
    es: Elastic,
    /// The index a rebuild fills, which every change is written to as well; set exactly while
    /// the state holds a rebuild.
    rebuild_es: Option<Elastic>,
    /// A rollback's pass over the earlier index's ids, looking for rows gone meanwhile.
    extras: Option<IdScroll>,
    /// Where the state is kept (the state file).
    store: Box<dyn StateStore>,
    state: State,
    batch_size: u32,
    bulk_concurrency: usize,
    tune_backfill: bool,
    /// The capture mode, with what it keeps between cycles.
    follower: capture::Follower,
    /// How long a pass over the changes runs while more keep coming (`None`: to the end).
    turn: Option<std::time::Duration>,
    keep_previous: u32,
    totals: WriteReport,
    /// Operations the live index had applied, and those pg2es had sent it, at the last look
    /// (see `load/writes.rs`); `None` until the first look after start or a swap.
    watch: Option<lifecycle::trust::Look>,
    /// What `verify --repair` beside this worker had the index apply (`state/repairs.rs`).
    repair_ledger: PathBuf,
}

/// What the engine is given to work with.
pub(crate) struct Servers {
    pub pg: Postgres,
    pub es: Elastic,
}

impl<P: Pipeline> Engine<P> {
    pub fn new(pipeline: Arc<P>, servers: Servers, state: State, config: &Config) -> Self {
        let sync = &config.sync;
        let pipeline_name = pipeline.name();
        crate::metrics::get().pipeline_started(pipeline_name);
        let store = Box::new(state::StateFile {
            path: config.state_path(pipeline_name),
        });
        let follower = capture::Follower::new(pipeline_name, servers.es.index_name(), config);
        let repair_ledger = config.repair_ledger_path(pipeline_name);
        Self {
            pipeline,
            follower,
            turn: None,
            pg: servers.pg,
            es: servers.es,
            rebuild_es: None,
            extras: None,
            store,
            state,
            batch_size: sync.batch_size,
            bulk_concurrency: sync.bulk_concurrency as usize,
            tune_backfill: sync.tune_backfill,
            keep_previous: config.index.keep_previous,
            totals: WriteReport::default(),
            watch: None,
            repair_ledger,
        }
    }

    /// Runs until stopped: a pass over the changes gives the rest of the engine its turn
    /// after [`capture::TURN`] (without this, a pass reads every change committed before it
    /// started, as `sync --once` must).
    pub fn until_stopped(&mut self) {
        self.turn = Some(capture::TURN);
    }

    /// Everything written since this engine started.
    pub fn totals(&self) -> WriteReport {
        self.totals
    }

    /// One full cycle: finish any back-fill, catch up on every table, then carry any rebuild
    /// through to the alias swap, following changes between its slices.
    pub async fn sync(&mut self) -> Result<(), SyncError> {
        // Noticed at every cycle, also when there is nothing to write.
        self.check_alias().await?;
        self.watch_writes().await?;
        self.measure_lag().await?;
        self.watch_partitions().await?;
        if !self.state.backfill.done {
            self.backfill().await?;
        }
        // Left tuned by a crash between the last batch and the restore.
        let live = self.es.clone();
        self.restore_index(stages::backfill::Target::Live, &live)
            .await?;
        self.follow_changes().await?;
        self.rebuild().await?;
        self.state.last_sync_at = Some(Utc::now());
        self.save().await?;
        crate::metrics::get().cycle_finished(self.pipeline.name());
        Ok(())
    }

    /// Builds `units` ahead and writes them one after another, calling `acknowledged` with each
    /// unit's mark once it and everything before it were written. Writes stay in order: the
    /// same document can be in several units, and its last version read must land last.
    async fn write_units<M: Send + 'static>(
        &mut self,
        units: impl Stream<Item = Result<Unit<M>, SyncError>>,
        // What a unit's mark changes in the state; `true`: saved before the next unit.
        mut acknowledged: impl FnMut(&mut Self, M) -> bool,
    ) -> Result<(), SyncError> {
        let built = stages::units::built(self.rows(), units);
        let mut built = std::pin::pin!(built);
        while let Some(unit) = built.next().await {
            let unit = unit?;
            self.write_actions(unit.actions).await?;
            if let Some(mark) = unit.mark {
                if acknowledged(self, mark) {
                    self.save().await?;
                }
            }
        }
        Ok(())
    }

    /// Writes to the live index and to the index being rebuilt.
    async fn write_actions(&mut self, actions: Vec<Action>) -> Result<(), SyncError> {
        if let Some(new) = &self.rebuild_es {
            let report = new.write(actions.clone()).await?;
            self.count_rebuild_refusals(report);
        }
        self.totals += self.es.write(actions).await?;
        Ok(())
    }

    /// The pipeline's rows in Postgres, as the data path reads them.
    fn rows(&self) -> stages::source::Rows<P> {
        stages::source::Rows {
            pipeline: Arc::clone(&self.pipeline),
            pg: self.pg.clone(),
        }
    }

    async fn save(&mut self) -> Result<(), SyncError> {
        self.store.store(&self.state).await?;
        Ok(())
    }
}

async fn build_actions<P: Pipeline>(
    pipeline: &P,
    pg: &Postgres,
    ids: &[Key],
) -> Result<Vec<Action>, PgError> {
    let documents = pg
        .call("build documents", || pipeline.build(pg.pool(), ids))
        .await?;
    Ok(actions_for(ids, documents))
}

fn log_progress(stage: &'static str, totals: WriteReport) {
    info!(
        stage,
        indexed = totals.indexed,
        deleted = totals.deleted,
        dead_lettered = totals.dead_lettered,
        "progress"
    );
}

#[cfg(test)]
mod remedy_tests {
    use super::*;
    use crate::state::RebuildReason;

    #[test]
    fn each_error_says_what_the_engine_does_about_it() {
        let gone = SyncError::Elasticsearch(EsError::IndexGone {
            alias: "movies".into(),
            reason: "deleted".into(),
        });
        assert_eq!(gone.remedy(), Remedy::Remake);
        let moved = SyncError::AliasMoved {
            alias: "movies".into(),
            reason: "by hand".into(),
        };
        assert_eq!(moved.remedy(), Remedy::Remake);
        let truncated = SyncError::RebuildNeeded {
            reason: "content.genre truncated".into(),
            cause: RebuildReason::Truncated,
        };
        assert_eq!(
            truncated.remedy(),
            Remedy::Rebuild {
                reason: "content.genre truncated".into(),
                cause: RebuildReason::Truncated
            }
        );
        let missing = SyncError::CaptureMissing(vec!["content.genre".into()]);
        assert_eq!(missing.remedy(), Remedy::Stop);
        let several = SyncError::SeveralIndexes {
            alias: "movies".into(),
            indexes: vec!["a".into(), "b".into()],
        };
        assert_eq!(several.remedy(), Remedy::Stop);
    }
}

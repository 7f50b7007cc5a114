//! The engine: back-fill, then follow changes table by table, saving cursors only after
//! Elasticsearch acknowledged everything before them. Nothing here knows what a document is.

/// The data path: back-fill pages and change units built into documents and written in order
/// (and, for `export`, into files).
mod stages {
    pub(super) mod backfill;
    pub(super) mod export;
    pub(super) mod in_order;
    #[cfg(test)]
    pub(super) mod memory;
    pub(super) mod pages;
    pub(super) mod partitions;
    pub(super) mod progress;
    pub(super) mod source;
    pub(super) mod spawned;
    pub(super) mod touched;
    pub(super) mod units;
}
/// Change capture, one folder per mode behind one interface (`capture::Follower`).
mod capture;
/// The index behind the alias: what it needs at start (`schema`, `plan`, `prepare`), whether
/// it is still the one pg2es left (`trust`), and rebuilds.
mod lifecycle {
    pub(super) mod plan;
    pub(super) mod prepare;
    pub(super) mod rebuild;
    pub(super) mod schema;
    pub(super) mod swap;
    pub(super) mod trust;
}
/// The index compared with Postgres and mended: `verify [--repair]`, dead letters replayed,
/// the repair after a truncation or rows changed unseen.
mod repair {
    pub(super) mod replay;
    pub(super) mod truncated;
    pub(super) mod verify;
}

mod documents;
mod error;

pub(crate) use capture::{grant_for, guarded, lag, on_a_standby};
pub(crate) use documents::Pipeline;
pub(crate) use error::{Remedy, SyncError};
pub(crate) use lifecycle::plan::Request;
pub(crate) use lifecycle::prepare::wanted_hash;
pub(crate) use lifecycle::schema::check_schema;
pub(crate) use lifecycle::trust::alias_trouble;
pub(crate) use repair::replay::replay_dead_letters;
pub(crate) use repair::verify::{verify, VerifyMode, VerifyReport};
pub(crate) use stages::export::export;

use std::sync::Arc;

use chrono::Utc;
use futures_util::{Stream, StreamExt};
use tracing::info;

use crate::config::Config;
use crate::extract::Postgres;
use crate::load::{Elastic, WriteReport};
use crate::state::{self, State, StateStore};
use crate::transform::Action;

use self::stages::units::Unit;

pub(crate) struct Engine<P> {
    pipeline: Arc<P>,
    pg: Postgres,
    /// Writes go to the alias, so they reach whichever index it points at.
    es: Elastic,
    /// What a rebuild keeps besides its part of the state.
    rebuilding: lifecycle::rebuild::Rebuilding,
    /// Where the state is kept (the state file).
    store: Box<dyn StateStore>,
    state: State,
    batch_size: u32,
    /// How the back-fill writes.
    filling: stages::backfill::Filling,
    /// The capture mode, with what it keeps between cycles.
    follower: capture::Follower,
    /// How long a pass over the changes runs while more keep coming (`None`: to the end).
    turn: Option<std::time::Duration>,
    totals: WriteReport,
    /// What tells writes pg2es did not make from its own.
    trust: lifecycle::trust::Watch,
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
            rebuilding: lifecycle::rebuild::Rebuilding {
                es: None,
                extras: None,
                keep_previous: config.index.keep_previous,
            },
            store,
            state,
            batch_size: sync.batch_size,
            filling: stages::backfill::Filling {
                concurrency: sync.bulk_concurrency as usize,
                tune: sync.tune_backfill,
            },
            totals: WriteReport::default(),
            trust: lifecycle::trust::Watch {
                look: None,
                repair_ledger,
            },
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
        if let Some(new) = &self.rebuilding.es {
            let report = new.write(actions.clone()).await?;
            self.count_rebuild_refusals(report);
        }
        self.totals += self.es.write(actions).await?;
        Ok(())
    }

    /// The pipeline's rows in Postgres, as the data path reads them.
    pub(in crate::pipeline) fn rows(&self) -> stages::source::Rows<P> {
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

fn log_progress(stage: &'static str, totals: WriteReport) {
    info!(
        stage,
        indexed = totals.indexed,
        deleted = totals.deleted,
        dead_lettered = totals.dead_lettered,
        stale = totals.stale,
        "progress"
    );
}

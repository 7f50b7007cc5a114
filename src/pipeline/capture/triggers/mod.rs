//! Exact mode: index what the triggers recorded, then move this consumer's position past it.
//! The position moves only after Elasticsearch acknowledged the documents, and changes of
//! transactions still open when they were read past are read again once committed, so a late
//! commit is never skipped. Other consumers (pipelines, deployments) keep their own positions.

mod wake;

use std::time::Duration;

use futures_util::stream;
use sqlx::PgPool;
use tracing::{error, info, warn};

use tokio::time::Instant;

use super::Follower;
use crate::extract::{Change, Member};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::stages::touched::touched_units;
use crate::pipeline::stages::units::Unit;
use crate::pipeline::{log_progress, Engine};

/// What triggers mode keeps between cycles.
pub(crate) struct Triggers {
    /// This pipeline's name among the consumers of recorded changes: `<pipeline>@<alias>`.
    pub consumer: String,
    /// Listening for the triggers' notifications, from the first wait on.
    wake: Option<wake::Wake>,
    /// The last pass ended before the recorded changes did: the next one starts at once.
    behind: bool,
}

impl Triggers {
    pub fn new(pipeline: &str, alias: &str) -> Self {
        Self {
            consumer: format!("{pipeline}@{alias}"),
            wake: None,
            behind: false,
        }
    }

    /// Between cycles: until a change is notified, at the latest after `interval`. The first
    /// call only starts listening and returns at once, so that a change notified before the
    /// listener was there is read by the cycle that follows.
    pub async fn wait(&mut self, pool: &PgPool, interval: Duration) {
        if self.behind {
            return;
        }
        if let Some(wake) = self.wake.as_mut() {
            return wake.wait(interval).await;
        }
        match wake::Wake::listen(pool).await {
            Ok(wake) => self.wake = Some(wake),
            Err(err) => {
                warn!(error = %err, "cannot listen for changes: reading every poll interval");
                tokio::time::sleep(interval).await;
            }
        }
    }
}

impl<P: Pipeline> Engine<P> {
    fn triggers(&mut self) -> &mut Triggers {
        match &mut self.follower {
            Follower::Triggers(triggers) => triggers,
            _ => unreachable!("a change consumer in triggers mode only"),
        }
    }

    /// At start: the triggers are on every followed table (new partitions get theirs now)
    /// and fire for every write; this pipeline is registered as a consumer.
    pub(super) async fn check_triggers(&mut self) -> Result<(), SyncError> {
        let mut missing = self.pg.capture_missing(self.pipeline.tables()).await?;
        if !missing.is_empty() {
            missing = self.capture_partitions_missing(missing).await?;
        }
        if !missing.is_empty() {
            return Err(SyncError::CaptureMissing(missing));
        }
        let unfired = self.pg.capture_unfired(self.pipeline.tables()).await?;
        if !unfired.is_empty() {
            return Err(SyncError::CaptureUnfired(unfired));
        }
        let consumer = self.triggers().consumer.clone();
        self.pg.register_consumer(&consumer).await?;
        Ok(())
    }

    /// Statement triggers on partitions that joined a followed table.
    pub(super) async fn trigger_new_partitions(
        &mut self,
        new: &[(String, Member)],
    ) -> Result<(), SyncError> {
        for (relation, member) in new {
            if let Err(err) = self.pg.capture_partition(relation, &member.name).await {
                if err.is_lock_timeout() {
                    // Each attempt was logged; the partition stays new for the next
                    // start: the watch keeps the old trees until its moves are written.
                    error!(partition = member.name, relation, "a new partition of a followed table: its capture triggers waited for other transactions' locks on it past sync.retry.max_attempts; end those transactions");
                    return Err(err.into());
                }
                error!(partition = member.name, relation, error = %err, "a new partition of a followed table has no capture triggers and pg2es cannot put them there: run `pg2es setup`");
                return Err(SyncError::CaptureMissing(vec![format!(
                    "{} (partition of {relation})",
                    member.name
                )]));
            }
            info!(
                partition = member.name,
                relation, "capture triggers put on a new partition"
            );
        }
        Ok(())
    }

    pub(in crate::pipeline) async fn consume_recorded(&mut self) -> Result<(), SyncError> {
        let before = self.totals;
        let consumer = self.triggers().consumer.clone();
        let until = self.turn.map(|turn| Instant::now() + turn);
        loop {
            let page = self.pg.recorded_changes(&consumer).await?;
            let units = self.recorded_units(&page.changes).await?;
            self.write_units(stream::iter(units.into_iter().map(Ok)), |_, ()| false)
                .await?;
            let truncated = self.truncated_tables(&page.changes);
            if !truncated.is_empty() {
                self.repair_after_truncate(&truncated).await?;
            }
            self.pg.acknowledge_changes(&consumer, &page.next).await?;
            // Changes that keep coming end the pass after its turn; the next reads on at once.
            self.triggers().behind = page.more;
            if !page.more || until.is_some_and(|until| Instant::now() >= until) {
                break;
            }
        }
        if self.totals != before {
            log_progress("recorded changes", self.totals);
        }
        Ok(())
    }

    /// The root documents a window of recorded changes touches (see [`touched_units`]).
    pub(in crate::pipeline) async fn recorded_units(
        &self,
        changes: &[Change],
    ) -> Result<Vec<Unit<()>>, SyncError> {
        touched_units(&*self.pipeline, &self.rows(), changes, self.batch_size).await
    }
}

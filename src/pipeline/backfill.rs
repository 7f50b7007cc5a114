//! The back-fill: every root row in key order, through the overlapping stages of `units`. The
//! position saved is always the end of the last page acknowledged in order.

use std::sync::Arc;

use chrono::Utc;
use futures_util::{Stream, StreamExt};
use tracing::{info, warn};
use uuid::Uuid;

use super::progress::Progress;
use super::units::{built, written, Unit};
use super::{Engine, Pipeline, SyncError};
use crate::extract::{Postgres, Table};
use crate::load::backfill_settings;

impl<P: Pipeline> Engine<P> {
    pub(super) async fn backfill(&mut self) -> Result<(), SyncError> {
        if self.state.backfill.started_at.is_none() {
            self.start_cursors().await?;
        } else {
            info!(
                after = ?self.state.backfill.after,
                already_indexed = self.state.backfill.indexed,
                "resuming back-fill"
            );
        }
        self.tune_index().await?;
        let total = self.pg.count(self.pipeline.root()).await?;
        let mut progress = Progress::start(total.max(0) as u64, self.state.backfill.indexed);
        let pages = root_pages(
            self.pg.clone(),
            self.pipeline.root(),
            self.state.backfill.after,
            self.batch_size,
        );
        let built = built(Arc::clone(&self.pipeline), self.pg.clone(), pages);
        let mut written = std::pin::pin!(written(self.es.clone(), self.bulk_concurrency, built));
        while let Some(batch) = written.next().await {
            let (last, report) = batch?;
            self.totals += report;
            self.state.backfill.after = last;
            self.state.backfill.indexed += report.indexed;
            self.save()?;
            progress.advance(report.indexed + report.dead_lettered);
        }
        progress.finish();
        self.restore_index().await?;
        self.state.backfill.done = true;
        self.state.backfill.finished_at = Some(Utc::now());
        self.save()?;
        info!(indexed = self.state.backfill.indexed, "back-fill finished");
        Ok(())
    }

    /// Changes are followed from the newest row of each table at the start of the back-fill:
    /// whatever changes while it runs is picked up after it.
    async fn start_cursors(&mut self) -> Result<(), SyncError> {
        for table in self.pipeline.tables() {
            let cursor = self.pg.latest(table).await?;
            self.state.cursors.insert(table.name.to_owned(), cursor);
        }
        self.state.backfill.started_at = Some(Utc::now());
        self.save()?;
        info!(pipeline = self.pipeline.name(), "back-fill starting");
        Ok(())
    }

    /// Switches refreshes and replicas off, first saving what to put back in the state file so
    /// that a crash in the middle still ends with the index restored.
    async fn tune_index(&mut self) -> Result<(), SyncError> {
        if !self.tune_backfill {
            return Ok(());
        }
        let tuned = backfill_settings();
        if self.state.backfill.restore_settings.is_none() {
            let mut current = self.es.settings().await?;
            if current.refresh_interval == tuned.refresh_interval {
                // Left so by a back-fill whose state file was reset: back to the defaults.
                warn!("index found with refreshes off from an earlier back-fill; they are restored to the default when this one ends");
                current = Default::default();
            }
            self.state.backfill.restore_settings = Some(current);
            self.save()?;
        }
        self.es.put_settings(&tuned).await?;
        Ok(())
    }

    /// Puts back the settings saved by `tune_index` and makes everything searchable.
    pub(super) async fn restore_index(&mut self) -> Result<(), SyncError> {
        let Some(saved) = self.state.backfill.restore_settings.clone() else {
            return Ok(());
        };
        self.es.put_settings(&saved).await?;
        self.es.refresh().await?;
        self.state.backfill.restore_settings = None;
        self.save()?;
        info!("index settings restored after the back-fill");
        Ok(())
    }
}

/// Pages of root ids in key order, each page read after the previous one; a page's mark is its
/// last id, where the back-fill resumes.
pub(super) fn root_pages(
    pg: Postgres,
    root: &'static Table,
    after: Option<Uuid>,
    batch_size: u32,
) -> impl Stream<Item = Result<Unit<Uuid>, SyncError>> {
    futures_util::stream::try_unfold(Some(after), move |next| {
        let pg = pg.clone();
        async move {
            let Some(after) = next else {
                return Ok(None);
            };
            let ids = pg.root_ids(root, after, batch_size).await?;
            let Some(last) = ids.last().copied() else {
                return Ok(None);
            };
            let more = ids.len() == batch_size as usize;
            let unit = Unit {
                ids,
                mark: Some(last),
            };
            Ok(Some((unit, more.then_some(Some(last)))))
        }
    })
}

//! The back-fill: every root row in key order, reading the next batch while the last one is
//! being indexed, the position saved after each acknowledged batch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::info;
use uuid::Uuid;

use super::{build_actions, log_progress, Engine, Pipeline, SyncError};
use crate::extract::{PgError, Postgres};
use crate::transform::Action;

/// Batches read ahead of the one being indexed.
const READ_AHEAD: usize = 2;
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

struct Batch {
    last: Uuid,
    actions: Vec<Action>,
}

/// Stops the reader when the back-fill is dropped (shutdown) or fails.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

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
        let (sender, mut batches) = mpsc::channel(READ_AHEAD);
        let mut reader = AbortOnDrop(tokio::spawn(read_batches(
            Arc::clone(&self.pipeline),
            self.pg.clone(),
            self.state.backfill.after,
            self.batch_size,
            sender,
        )));
        let mut last_log = Instant::now();
        while let Some(batch) = batches.recv().await {
            let batch = batch?;
            let report = self.es.write(batch.actions).await?;
            self.totals += report;
            self.state.backfill.after = Some(batch.last);
            self.state.backfill.indexed += report.indexed;
            self.save()?;
            if last_log.elapsed() >= PROGRESS_EVERY {
                log_progress("back-fill", self.totals);
                last_log = Instant::now();
            }
        }
        (&mut reader.0).await.map_err(SyncError::Reader)?;
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
}

async fn read_batches<P: Pipeline>(
    pipeline: Arc<P>,
    pg: Postgres,
    mut after: Option<Uuid>,
    batch_size: u32,
    sender: mpsc::Sender<Result<Batch, PgError>>,
) {
    let root = pipeline.root();
    loop {
        let ids = match pg.root_ids(root, after, batch_size).await {
            Ok(ids) => ids,
            Err(err) => {
                let _ = sender.send(Err(err)).await;
                return;
            }
        };
        let Some(last) = ids.last().copied() else {
            return;
        };
        let batch = build_actions(&*pipeline, &pg, &ids)
            .await
            .map(|actions| Batch { last, actions });
        let failed = batch.is_err();
        if sender.send(batch).await.is_err() || failed || ids.len() < batch_size as usize {
            return;
        }
        after = Some(last);
    }
}

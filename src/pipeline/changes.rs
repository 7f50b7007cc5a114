//! Following changes: a keyset cursor on `(changed_at, id)` per table, so rows sharing a
//! timestamp and batch boundaries lose nothing; child tables fan out to their root documents.
//! The cursor never passes the start of a transaction still open, so a late commit is read
//! once it commits (see `horizon.sql`).

use chrono::{DateTime, Utc};
use tracing::debug;
use uuid::Uuid;

use super::{log_progress, Engine, Pipeline, SyncError};
use crate::extract::{start_cursor, Table};

impl<P: Pipeline> Engine<P> {
    pub(super) async fn catch_up(&mut self) -> Result<(), SyncError> {
        let before = self.totals;
        let horizon = self.pg.horizon().await?;
        for table in self.pipeline.tables() {
            self.follow(table, horizon).await?;
        }
        if self.totals != before {
            log_progress("changes", self.totals);
        }
        Ok(())
    }

    async fn follow(
        &mut self,
        table: &'static Table,
        horizon: DateTime<Utc>,
    ) -> Result<(), SyncError> {
        loop {
            let after = self
                .state
                .cursors
                .get(table.name)
                .copied()
                .unwrap_or_else(start_cursor);
            let changes = self
                .pg
                .changes(table, after, horizon, self.batch_size)
                .await?;
            let Some(last) = changes.last().copied() else {
                return Ok(());
            };
            debug!(table = table.name, rows = changes.len(), "changed rows");
            let ids: Vec<Uuid> = changes.iter().map(|change| change.id).collect();
            match table.fan_out {
                None => self.index_ids(&ids).await?,
                Some(sql) => self.index_fan_out(sql, &ids).await?,
            }
            self.state.cursors.insert(table.name.to_owned(), last);
            self.save()?;
            if changes.len() < self.batch_size as usize {
                return Ok(());
            }
        }
    }

    /// Re-indexes every root document the changed child rows touch, a batch at a time.
    pub(super) async fn index_fan_out(
        &mut self,
        sql: &'static str,
        changed: &[Uuid],
    ) -> Result<(), SyncError> {
        let mut after = None;
        loop {
            let roots = self
                .pg
                .fan_out(sql, changed, after, self.batch_size)
                .await?;
            let Some(last) = roots.last().copied() else {
                return Ok(());
            };
            self.index_ids(&roots).await?;
            if roots.len() < self.batch_size as usize {
                return Ok(());
            }
            after = Some(last);
        }
    }
}

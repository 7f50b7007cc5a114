//! Following changes: a keyset cursor on `(changed_at, id)` per table, so rows sharing a
//! timestamp and batch boundaries lose nothing; child tables fan out to their root documents.
//! The cursor never passes the start of a transaction still open, so a late commit is read
//! once it commits (see `horizon.sql`).

pub(crate) mod guard;

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{stream, Stream, TryStreamExt};
use tracing::debug;

use crate::config::{PollingGuard, SyncConfig};
use crate::extract::{start_cursor, Table};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::stages::source::Rows;
use crate::pipeline::stages::touched::fan_out_units;
use crate::pipeline::stages::units::Unit;
use crate::pipeline::{log_progress, Engine};
use crate::state::Cursor;
use crate::transform::Key;

/// What polling keeps between cycles: the late-commit guard's settings, and the session it
/// last named for holding polling back (named once, not every cycle).
pub(crate) struct Polling {
    guard: PollingGuard,
    held_back_after: Duration,
    named_holder: Option<i32>,
}

impl Polling {
    pub fn new(sync: &SyncConfig) -> Self {
        Self {
            guard: sync.polling_guard,
            held_back_after: sync.held_back_after,
            named_holder: None,
        }
    }
}

impl<P: Pipeline> Engine<P> {
    pub(in crate::pipeline) async fn catch_up(&mut self) -> Result<(), SyncError> {
        let before = self.totals;
        let horizon = self.polling_horizon().await?;
        let tables = self.pipeline.tables().to_vec();
        for table in tables {
            self.follow(table, horizon).await?;
        }
        if self.totals != before {
            log_progress("changes", self.totals);
        }
        Ok(())
    }

    /// Indexes what changed in `table` after its cursor; the cursor moves past a page of
    /// changes once every document it touches was acknowledged.
    async fn follow(&mut self, table: Table, horizon: DateTime<Utc>) -> Result<(), SyncError> {
        let after = self
            .state
            .cursors
            .get(&table.relation)
            .cloned()
            .unwrap_or_else(|| start_cursor(&table));
        let relation = table.relation.clone();
        let units = change_units(self.rows(), table, after, horizon, self.batch_size);
        self.write_units(units, |engine, cursor| {
            engine.state.cursors.insert(relation.clone(), cursor);
            true
        })
        .await
    }
}

/// Pages of changed rows after `after`, each turned into units of root ids; the last unit of a
/// page carries the page's last cursor.
fn change_units<P: Pipeline>(
    rows: Rows<P>,
    table: Table,
    after: Cursor,
    horizon: DateTime<Utc>,
    batch_size: u32,
) -> impl Stream<Item = Result<Unit<Cursor>, SyncError>> {
    stream::try_unfold(Some(after), move |next| {
        let rows = rows.clone();
        let table = table.clone();
        async move {
            let Some(after) = next else {
                return Ok::<_, SyncError>(None);
            };
            let changes = rows.pg.changes(&table, &after, horizon, batch_size).await?;
            let Some(last) = changes.last().cloned() else {
                return Ok(None);
            };
            debug!(table = table.relation, rows = changes.len(), "changed rows");
            let ids: Vec<Key> = changes.iter().map(|change| change.id.clone()).collect();
            let units = match &table.fan_out {
                None => vec![Unit {
                    ids,
                    mark: Some(last.clone()),
                }],
                Some(sql) => fan_out_units(&rows, sql, &ids, batch_size, last.clone()).await?,
            };
            let more = changes.len() == batch_size as usize;
            let units = stream::iter(units.into_iter().map(Ok::<_, SyncError>));
            Ok(Some((units, more.then_some(last))))
        }
    })
    .try_flatten()
}

//! Lag: how long the oldest change in Postgres that Elasticsearch has not acknowledged yet has
//! been waiting (0 when the index is caught up). Polling mode: the oldest row changed after
//! each table's cursor; exact mode: the oldest recorded change this consumer has not read.

use std::collections::BTreeMap;

use super::Follower;
use crate::config::Capture;
use crate::extract::{start_cursor, PgError, Postgres, Table};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::Engine;
use crate::state::Cursor;

/// Seconds the oldest unacknowledged change has waited, 0 when there is none.
pub(crate) async fn lag(
    pg: &Postgres,
    tables: &[Table],
    cursors: &BTreeMap<String, Cursor>,
    capture: Capture,
    consumer: &str,
) -> Result<f64, PgError> {
    match capture {
        Capture::Triggers => return Ok(pg.recorded_age(consumer).await?.unwrap_or(0.0)),
        // The stream measures it (the slot has no timestamps to read here).
        Capture::Logical => return Ok(0.0),
        Capture::Polling => {}
    }
    let mut oldest: f64 = 0.0;
    for table in tables {
        let after = cursors
            .get(&table.relation)
            .cloned()
            .unwrap_or_else(|| start_cursor(table));
        if let Some(age) = pg.unseen_age(table, &after).await? {
            oldest = oldest.max(age);
        }
    }
    Ok(oldest)
}

impl<P: Pipeline> Engine<P> {
    /// Records the lag at the start of a cycle, once the back-fill is done (before that the
    /// back-fill progress says more).
    pub(in crate::pipeline) async fn measure_lag(&self) -> Result<(), SyncError> {
        // Logical mode measures it as it streams.
        let consumer = match &self.follower {
            _ if !self.state.backfill.done => return Ok(()),
            Follower::Logical(_) => return Ok(()),
            Follower::Triggers(triggers) => triggers.consumer.as_str(),
            Follower::Polling(_) => "",
        };
        let tables = self.pipeline.tables();
        let capture = self.follower.mode();
        let seconds = lag(&self.pg, tables, &self.state.cursors, capture, consumer).await?;
        crate::metrics::get().lag(self.pipeline.name(), seconds);
        Ok(())
    }
}

//! Exact mode: index what the triggers recorded, then forget it. A change is deleted from
//! `pg2es.changes` only after Elasticsearch acknowledged its documents, so a transaction that
//! commits late is read whenever it becomes visible, never skipped.

use std::collections::BTreeMap;

use futures_util::stream;
use tracing::warn;
use uuid::Uuid;

use super::changes::fan_out_units;
use super::units::Unit;
use super::{log_progress, Engine, Pipeline, SyncError};
use crate::extract::Change;

impl<P: Pipeline> Engine<P> {
    pub(super) async fn consume_recorded(&mut self) -> Result<(), SyncError> {
        let before = self.totals;
        loop {
            let changes = self.pg.recorded_changes(self.batch_size).await?;
            if changes.is_empty() {
                break;
            }
            let units = self.recorded_units(&changes).await?;
            self.write_units(stream::iter(units.into_iter().map(Ok)), |_, ()| Ok(()))
                .await?;
            let seqs: Vec<i64> = changes.iter().map(|change| change.seq).collect();
            self.pg.forget_changes(&seqs).await?;
            if changes.len() < self.batch_size as usize {
                break;
            }
        }
        if self.totals != before {
            log_progress("recorded changes", self.totals);
        }
        Ok(())
    }

    /// The root documents a page of recorded changes touches, in units of a batch.
    async fn recorded_units(&self, changes: &[Change]) -> Result<Vec<Unit<()>>, SyncError> {
        let mut by_source: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
        for change in changes {
            by_source
                .entry(change.source.as_str())
                .or_default()
                .push(change.row_id);
        }
        let mut units = Vec::new();
        for (source, mut ids) in by_source {
            ids.sort_unstable();
            ids.dedup();
            let Some(table) = self.pipeline.tables().iter().find(|t| t.name == source) else {
                warn!(
                    source,
                    rows = ids.len(),
                    "ignoring changes recorded for an unknown table"
                );
                continue;
            };
            match table.fan_out {
                None => units.extend(ids.chunks(self.batch_size as usize).map(|ids| Unit {
                    ids: ids.to_vec(),
                    mark: None,
                })),
                Some(sql) => {
                    units.extend(fan_out_units(&self.pg, sql, &ids, self.batch_size, ()).await?)
                }
            }
        }
        Ok(units)
    }
}

//! Exact mode: index what the triggers recorded, then forget it. A change is deleted from
//! `pg2es.changes` only after Elasticsearch acknowledged its documents, so a transaction that
//! commits late is read whenever it becomes visible, never skipped.

use std::collections::BTreeMap;

use tracing::warn;
use uuid::Uuid;

use super::{log_progress, Engine, Pipeline, SyncError};

impl<P: Pipeline> Engine<P> {
    pub(super) async fn consume_recorded(&mut self) -> Result<(), SyncError> {
        let before = self.totals;
        loop {
            let changes = self.pg.recorded_changes(self.batch_size).await?;
            if changes.is_empty() {
                break;
            }
            let mut by_source: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
            for change in &changes {
                by_source
                    .entry(change.source.as_str())
                    .or_default()
                    .push(change.row_id);
            }
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
                    None => self.index_ids(&ids).await?,
                    Some(sql) => self.index_fan_out(sql, &ids).await?,
                }
            }
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
}

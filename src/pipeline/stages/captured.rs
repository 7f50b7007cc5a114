//! Exact mode: index what the triggers recorded, then move this consumer's position past it.
//! The position moves only after Elasticsearch acknowledged the documents, and changes of
//! transactions still open when they were read past are read again once committed, so a late
//! commit is never skipped. Other consumers (pipelines, deployments) keep their own positions.

use std::collections::BTreeMap;

use futures_util::stream;
use tracing::debug;

use crate::declaration::Touch;
use crate::extract::Change;
use crate::pipeline::stages::changes::fan_out_units;
use crate::pipeline::stages::units::Unit;
use crate::pipeline::{log_progress, Engine, Pipeline, SyncError};
use crate::transform::Key;

impl<P: Pipeline> Engine<P> {
    pub(in crate::pipeline) async fn consume_recorded(&mut self) -> Result<(), SyncError> {
        let before = self.totals;
        loop {
            let page = self.pg.recorded_changes(&self.consumer).await?;
            let units = self.recorded_units(&page.changes).await?;
            self.write_units(stream::iter(units.into_iter().map(Ok)), |_, ()| false)
                .await?;
            let truncated = self.truncated_tables(&page.changes);
            if !truncated.is_empty() {
                self.repair_after_truncate(&truncated).await?;
            }
            self.pg
                .acknowledge_changes(&self.consumer, &page.next)
                .await?;
            if !page.more {
                break;
            }
        }
        if self.totals != before {
            log_progress("recorded changes", self.totals);
        }
        Ok(())
    }

    /// The root documents a window of recorded changes touches, each key once (also when it
    /// is reached from several tables), in units of a batch: a backlog of many writes to few
    /// rows costs one build per document.
    pub(in crate::pipeline) async fn recorded_units(
        &self,
        changes: &[Change],
    ) -> Result<Vec<Unit<()>>, SyncError> {
        let mut by_column: BTreeMap<(&str, &str), Vec<Key>> = BTreeMap::new();
        for change in changes.iter().filter(|change| !change.is_truncate()) {
            by_column
                .entry((change.relation.as_str(), change.column.as_str()))
                .or_default()
                .push(Key::from(change.value.as_str()));
        }
        let mut roots: Vec<Key> = Vec::new();
        for ((relation, column), mut keys) in by_column {
            keys.sort_unstable();
            keys.dedup();
            match self.pipeline.touch(relation, column) {
                None => debug!(
                    relation,
                    column,
                    rows = keys.len(),
                    "recorded changes this pipeline does not read"
                ),
                Some(Touch::Root) => roots.extend(keys),
                Some(Touch::FanOut(sql)) => {
                    for chunk in keys.chunks(self.batch_size as usize) {
                        let units =
                            fan_out_units(&self.pg, sql, chunk, self.batch_size, ()).await?;
                        roots.extend(units.into_iter().flat_map(|unit| unit.ids));
                    }
                }
            }
        }
        roots.sort_unstable();
        roots.dedup();
        let root = self.pipeline.root();
        roots.retain(|key| root.accepts(key.as_str()));
        Ok(roots
            .chunks(self.batch_size as usize)
            .map(|ids| Unit {
                ids: ids.to_vec(),
                mark: None,
            })
            .collect())
    }
}

//! A followed table truncated: `TRUNCATE` removes rows without a row change, so which
//! documents they reached is unknown. Every document is built again and compared with the
//! index, what differs is written and documents without a row are deleted (what `verify
//! --repair` does), in the live index and in an index being rebuilt. Search keeps answering
//! throughout; only the documents the truncation changed are written.
//!
//! The truncation is acknowledged only after the repair: a worker stopped in the middle
//! repairs again at its next start.

use tracing::{info, warn};

use crate::extract::Change;
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::repair::verify::{verify, VerifyMode};
use crate::pipeline::Engine;

impl<P: Pipeline> Engine<P> {
    /// The followed tables that `changes` records as truncated, each once.
    pub(in crate::pipeline) fn truncated_tables(&self, changes: &[Change]) -> Vec<String> {
        let tables = self.pipeline.tables();
        let followed = |relation: &str| tables.iter().any(|table| table.relation == relation);
        let mut truncated: Vec<String> = changes
            .iter()
            .filter(|change| change.is_truncate() && followed(&change.relation))
            .map(|change| change.relation.clone())
            .collect();
        truncated.sort_unstable();
        truncated.dedup();
        truncated
    }

    /// Brings every index written to back to Postgres after `tables` were truncated.
    pub(in crate::pipeline) async fn repair_after_truncate(
        &mut self,
        tables: &[String],
    ) -> Result<(), SyncError> {
        warn!(
            pipeline = self.pipeline.name(),
            tables = tables.join(", "),
            "a followed table was truncated: every document is built again and compared with the index"
        );
        self.repair_indexes(&format!("{} truncated", tables.join(", ")))
            .await
    }

    /// Rows went without a row change anyone saw (`why`): every document is built again and
    /// compared with every index written to, and what differs is written.
    pub(in crate::pipeline) async fn repair_everything(
        &mut self,
        why: &str,
    ) -> Result<(), SyncError> {
        warn!(
            pipeline = self.pipeline.name(),
            why, "rows changed unseen: every document is built again and compared with the index"
        );
        self.repair_indexes(why).await
    }

    async fn repair_indexes(&mut self, why: &str) -> Result<(), SyncError> {
        let targets: Vec<_> = std::iter::once(self.es.clone())
            .chain(self.rebuilding.es.clone())
            .collect();
        for (number, es) in targets.iter().enumerate() {
            let report = verify(
                &*self.pipeline,
                &self.pg,
                es,
                self.batch_size,
                VerifyMode::Repair,
            )
            .await?;
            info!(
                index = es.index_name(),
                checked = report.checked,
                missing = report.missing.count,
                stale = report.stale.count,
                without_row = report.extra.count,
                why,
                "index repaired"
            );
            match number {
                0 => self.totals += report.written,
                _ => self.count_rebuild_refusals(report.written),
            }
        }
        Ok(())
    }
}

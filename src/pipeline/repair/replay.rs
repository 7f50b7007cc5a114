//! `pg2es dead-letter replay`: once the cause is fixed (the mapping, or the data), the refused
//! documents are built again from Postgres as they are now and written; what is refused again
//! goes back to the dead-letter file, and a row deleted meanwhile becomes a delete.

use crate::extract::Postgres;
use crate::load::{Elastic, WriteReport};
use crate::pipeline::documents::{build_actions, Pipeline};
use crate::pipeline::error::SyncError;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplayReport {
    /// Distinct documents found in the dead-letter file.
    pub letters: u64,
    pub written: WriteReport,
}

pub(crate) async fn replay_dead_letters<P: Pipeline>(
    pipeline: &P,
    pg: &Postgres,
    es: &Elastic,
    batch_size: u32,
) -> Result<ReplayReport, SyncError> {
    let Some(taken) = es.dead_letters().take()? else {
        return Ok(ReplayReport::default());
    };
    let ids = taken.ids()?;
    let mut report = ReplayReport {
        letters: ids.len() as u64,
        ..ReplayReport::default()
    };
    for chunk in ids.chunks(batch_size as usize) {
        let actions = build_actions(pipeline, pg, chunk).await?;
        report.written += es.write(actions).await?;
    }
    taken.finish()?;
    Ok(report)
}

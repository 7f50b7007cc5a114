//! `pg2es export`: the back-fill's reading and building without Elasticsearch. It writes the
//! bulk request bodies the back-fill would send, one file per request, or only counts them; the
//! benchmark uses it to time Postgres alone and to replay the exact bodies.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt;

use crate::extract::Postgres;
use crate::load::Elastic;
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::stages::backfill::built_batches;
use crate::pipeline::stages::pages::Stop;
use crate::pipeline::stages::source::Rows;
use crate::transform::Action;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExportReport {
    pub documents: u64,
    pub deletes: u64,
    pub bulks: u64,
    pub bytes: u64,
}

/// Every document, as the bulk bodies `es` would send, written under `dir` (`None`: counted,
/// then dropped). Nothing is sent to Elasticsearch.
pub(crate) async fn export<P: Pipeline>(
    pipeline: Arc<P>,
    pg: &Postgres,
    es: &Elastic,
    batch_size: u32,
    dir: Option<&Path>,
) -> Result<ExportReport, SyncError> {
    let rows = Rows {
        pipeline,
        pg: pg.clone(),
    };
    let batches = built_batches(rows, None, batch_size, Stop::at_the_end());
    let mut batches = std::pin::pin!(batches);
    let mut report = ExportReport::default();
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        for action in &batch.actions {
            match action {
                Action::Index(_) => report.documents += 1,
                Action::Delete(..) => report.deletes += 1,
            }
        }
        for body in es.bulk_bodies(batch.actions) {
            report.bulks += 1;
            report.bytes += body.len() as u64;
            if let Some(dir) = dir {
                write_body(&dir.join(format!("{:08}.ndjson", report.bulks)), &body)?;
            }
        }
    }
    Ok(report)
}

fn write_body(path: &Path, text: &[u8]) -> Result<(), SyncError> {
    fs::File::create(path)
        .and_then(|mut file| file.write_all(text))
        .map_err(|source| SyncError::Export {
            path: path.to_owned(),
            source,
        })
}

//! `pg2es export [--dir DIR]`: the bulk bodies of a back-fill, without Elasticsearch.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use super::{connect, AppError};
use crate::config::Config;
use crate::movies::Movies;
use crate::pipeline;
use crate::retry::RetryPolicy;

pub(super) async fn run(config: &Config, dir: Option<&Path>) -> Result<ExitCode, AppError> {
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|source| AppError::Output {
            path: dir.to_owned(),
            source,
        })?;
    }
    let (postgres, elastic) = connect(config, RetryPolicy::from(&config.sync.retry))?;
    let started = Instant::now();
    let report = pipeline::export(
        Arc::new(Movies),
        &postgres,
        &elastic,
        config.sync.batch_size,
        dir,
    )
    .await?;
    println!(
        "documents={} deletes={} bulks={} bytes={} seconds={:.3}",
        report.documents,
        report.deletes,
        report.bulks,
        report.bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

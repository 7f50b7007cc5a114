//! `pg2es export [--dir DIR]`: the bulk bodies of a back-fill, without Elasticsearch. With
//! several pipelines, each writes into `DIR/<pipeline>`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use super::{compiled, pipelines, AppError};
use crate::config::Config;
use crate::pipeline;
use crate::retry::RetryPolicy;

pub(super) async fn run(config: &Config, dir: Option<&Path>) -> Result<ExitCode, AppError> {
    let retry = RetryPolicy::from(&config.sync.retry);
    let (postgres, compiled) = compiled(config, retry).await?;
    let several = compiled.len() > 1;
    for declared in compiled {
        let dir = dir.map(|dir| match several {
            true => dir.join(&declared.name),
            false => dir.to_owned(),
        });
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(|source| AppError::Output {
                path: dir.clone(),
                source,
            })?;
        }
        let elastic = pipelines::elastic(config, retry, &declared)?;
        let started = Instant::now();
        let name = declared.name.clone();
        let report = pipeline::export(
            declared,
            &postgres,
            &elastic,
            config.sync.batch_size,
            dir.as_deref(),
        )
        .await?;
        println!(
            "{}documents={} deletes={} bulks={} bytes={} seconds={:.3}",
            if several {
                format!("{name}: ")
            } else {
                String::new()
            },
            report.documents,
            report.deletes,
            report.bulks,
            report.bytes,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

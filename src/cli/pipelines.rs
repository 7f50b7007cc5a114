//! The pipelines of the config, chosen once: each declaration read and checked for shape, then
//! checked against the database and compiled, with its own index client.

use std::sync::Arc;

use super::AppError;
use crate::config::Config;
use crate::declaration::{Declaration, Declared};
use crate::extract::Postgres;
use crate::load::Elastic;
use crate::retry::RetryPolicy;

/// Every configured pipeline's declaration, with the config's overrides applied.
pub(crate) fn declarations(config: &Config) -> Result<Vec<Declaration>, AppError> {
    let mut declarations = Vec::new();
    for (name, entry) in &config.pipelines {
        let mut declaration = Declaration::load(name, &config.pipeline_file(entry))?;
        if let Some(alias) = &entry.alias {
            declaration.model.alias = alias.clone();
        }
        if let Some(index_config) = &entry.index_config {
            declaration.index_config = Some(config.base_dir.join(index_config));
        }
        declarations.push(declaration);
    }
    Ok(declarations)
}

/// Every configured pipeline, checked against the database and compiled.
pub(crate) async fn compiled(
    config: &Config,
    postgres: &Postgres,
) -> Result<Vec<Arc<Declared>>, AppError> {
    let mut pipelines = Vec::new();
    for declaration in declarations(config)? {
        pipelines.push(Arc::new(
            Declared::connect(&declaration, postgres.pool()).await?,
        ));
    }
    Ok(pipelines)
}

pub(crate) fn postgres(config: &Config, retry: RetryPolicy) -> Result<Postgres, AppError> {
    Ok(Postgres::new(&config.postgres, retry)?)
}

/// The index client of one pipeline: its alias and its dead-letter file.
pub(crate) fn elastic(
    config: &Config,
    retry: RetryPolicy,
    pipeline: &Declared,
) -> Result<Elastic, AppError> {
    Ok(Elastic::new(
        &config.elasticsearch,
        &pipeline.alias,
        retry,
        &config.dead_letter_path(&pipeline.name),
    )?
    .with_bulk_max_bytes(config.sync.bulk_max_bytes)
    .for_pipeline(&pipeline.name))
}

//! `pg2es setup` / `pg2es teardown`: install or remove exact change capture for every table
//! the configured pipelines follow; `pg2es consumers`: who reads the recorded changes.

use std::process::ExitCode;

use clap::Subcommand;

use super::{compiled, AppError};
use crate::config::Config;
use crate::extract::{Postgres, Table};
use crate::retry::RetryPolicy;

#[derive(Debug, Subcommand)]
pub(crate) enum ConsumersAction {
    /// Every registered consumer with its backlog.
    List,
    /// Unregister a consumer gone for good (e.g. `movies@staging_movies`), so that its backlog
    /// no longer holds recorded changes back.
    Forget { name: String },
}

fn all_tables(pipelines: &[std::sync::Arc<crate::declaration::Declared>]) -> Vec<Table> {
    pipelines
        .iter()
        .flat_map(|pipeline| pipeline.tables.iter().cloned())
        .collect()
}

pub(super) async fn setup(config: &Config) -> Result<ExitCode, AppError> {
    let (postgres, pipelines) = compiled(config, RetryPolicy::from(&config.sync.retry)).await?;
    if config.sync.capture == crate::config::Capture::Logical {
        super::logical::setup(config, &postgres, &pipelines).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let tables = all_tables(&pipelines);
    postgres.install_capture(&tables).await?;
    for (relation, columns) in crate::extract::captured_columns(&tables) {
        println!("✓ triggers on {relation} record {}", columns.join(", "));
    }
    println!(
        "change capture installed: set sync.capture: triggers (PG2ES__SYNC__CAPTURE=triggers)"
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn teardown(config: &Config) -> Result<ExitCode, AppError> {
    let (postgres, pipelines) = compiled(config, RetryPolicy::from(&config.sync.retry)).await?;
    super::logical::teardown(config, &postgres, &pipelines).await?;
    let primary = super::logical::writer(config, &postgres).await?;
    let written = primary.as_ref().unwrap_or(&postgres);
    written.remove_capture(&all_tables(&pipelines)).await?;
    println!("change capture removed (triggers and the pg2es schema)");
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn consumers(
    config: &Config,
    action: ConsumersAction,
) -> Result<ExitCode, AppError> {
    let postgres = super::pipelines::postgres(config, RetryPolicy::from(&config.sync.retry))?;
    match action {
        ConsumersAction::List => {
            let Some(consumers) = postgres.consumers().await? else {
                println!("change capture is not installed");
                return Ok(ExitCode::SUCCESS);
            };
            for consumer in consumers {
                println!(
                    "{}  backlog {}  position {}  last read {}",
                    consumer.name, consumer.backlog, consumer.position, consumer.seen_at
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ConsumersAction::Forget { name } => forget(&postgres, &name).await,
    }
}

/// Unregisters a consumer, unless a running worker reads it: forgotten under it, that worker
/// would fail at every read of recorded changes while the changes it has not read are pruned.
async fn forget(postgres: &Postgres, name: &str) -> Result<ExitCode, AppError> {
    if let Some(holder) = reader_of(postgres, name).await? {
        eprintln!("consumer {name} is read by a running worker ({holder}): stop that worker first (SIGTERM or SIGINT to its process, e.g. `systemctl stop` or `docker stop`; it saves its position and exits), then forget it if it is gone for good");
        return Ok(ExitCode::FAILURE);
    }
    match postgres.forget_consumer(name).await? {
        true => {
            println!("consumer {name} unregistered");
            Ok(ExitCode::SUCCESS)
        }
        false => {
            eprintln!("no consumer {name}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The worker holding the lock of the pipeline and alias a consumer is named after
/// (`<pipeline>@<alias>`; a pipeline name has no `@`).
async fn reader_of(postgres: &Postgres, consumer: &str) -> Result<Option<String>, AppError> {
    let Some((pipeline, alias)) = consumer.split_once('@') else {
        return Ok(None);
    };
    let key = crate::lock::key(pipeline, alias);
    Ok(crate::lock::active_worker(postgres.pool(), key).await?)
}

//! `pg2es dead-letter replay`: send the refused documents again, built from Postgres as they are
//! now, once the cause is fixed.

use std::process::ExitCode;

use clap::Subcommand;

use super::{compiled, pipelines, AppError};
use crate::config::Config;
use crate::pipeline::replay_dead_letters;
use crate::retry::RetryPolicy;

#[derive(Debug, Subcommand)]
pub(super) enum Action {
    /// Build every dead-lettered document again and write it; refused again, it goes back to
    /// the file. Exit code 1 when some were refused again.
    Replay,
}

pub(super) async fn run(config: &Config, action: Action) -> Result<ExitCode, AppError> {
    match action {
        Action::Replay => replay(config).await,
    }
}

async fn replay(config: &Config) -> Result<ExitCode, AppError> {
    let retry = RetryPolicy::from(&config.sync.retry);
    let (postgres, compiled) = compiled(config, retry).await?;
    let mut refused_again = 0;
    let several = compiled.len() > 1;
    for declared in compiled {
        let elastic = pipelines::elastic(config, retry, &declared)?;
        let report =
            replay_dead_letters(&*declared, &postgres, &elastic, config.sync.batch_size).await?;
        let written = report.written;
        refused_again += written.dead_lettered;
        let name = match several {
            true => format!("{}: ", declared.name),
            false => String::new(),
        };
        println!(
            "{name}letters={} indexed={} deleted={} dead_lettered={}",
            report.letters, written.indexed, written.deleted, written.dead_lettered
        );
    }
    Ok(match refused_again {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

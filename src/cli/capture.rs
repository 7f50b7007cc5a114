//! `pg2es setup` / `pg2es teardown`: install or remove exact change capture.

use std::process::ExitCode;

use super::{connect, AppError};
use crate::config::Config;
use crate::movies::Movies;
use crate::pipeline::Pipeline;
use crate::retry::RetryPolicy;

pub(super) async fn setup(config: &Config) -> Result<ExitCode, AppError> {
    let (postgres, _) = connect(config, RetryPolicy::from(&config.sync.retry))?;
    let pipeline = Movies;
    postgres.install_capture(pipeline.tables()).await?;
    for table in pipeline.tables() {
        println!("✓ triggers on {}", table.relation);
    }
    println!(
        "change capture installed: set sync.capture: triggers (PG2ES__SYNC__CAPTURE=triggers)"
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn teardown(config: &Config) -> Result<ExitCode, AppError> {
    let (postgres, _) = connect(config, RetryPolicy::from(&config.sync.retry))?;
    postgres.remove_capture(Movies.tables()).await?;
    println!("change capture removed (triggers and the pg2es schema)");
    Ok(ExitCode::SUCCESS)
}

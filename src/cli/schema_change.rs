//! A schema change under a running worker: Postgres refuses what one pipeline's queries read
//! (a column dropped, renamed or retyped). That pipeline stops, naming the declaration key that
//! broke, and waits with its position kept, looking again with backoff; the other pipelines go
//! on. Once Postgres has what it reads again, it starts over from its state file: nothing
//! changed meanwhile is lost, since no position past an unacknowledged change was saved.

use std::time::Duration;

use tracing::{error, info, warn};

use super::{causes, pipelines, AppError};
use crate::config::Config;
use crate::declaration::Declared;
use crate::extract::Postgres;
use crate::retry::RetryPolicy;

/// The first look again after a pipeline stopped; each next one waits twice as long.
const FIRST_LOOK: Duration = Duration::from_secs(1);
/// The longest wait between two looks.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// Whether `err` says Postgres no longer has what the pipeline reads.
pub(super) fn broke(err: &AppError) -> bool {
    crate::extract::schema_changed(err)
}

/// `--once`: the error to end with, naming the declaration key that broke when it can.
pub(super) async fn explained(config: &Config, pipeline: &Declared, cause: AppError) -> AppError {
    let diagnosed = match postgres(config) {
        Ok(pg) => diagnose(pipeline, &pg).await,
        Err(_) => None,
    };
    AppError::SchemaChanged {
        pipeline: pipeline.name.clone(),
        source: Box::new(diagnosed.unwrap_or(cause)),
    }
}

/// Keeps `pipeline` stopped, saying why in the log, `/readyz`, `/status` and
/// `pg2es_stopped`, until Postgres has what it reads again.
pub(super) async fn wait_until_fits(
    config: &Config,
    pipeline: &Declared,
    cause: AppError,
) -> Result<(), AppError> {
    let pg = postgres(config)?;
    let metrics = crate::metrics::get();
    let name = pipeline.name.as_str();
    let mut reason = describe(&diagnose(pipeline, &pg).await.unwrap_or(cause));
    error!(pipeline = name, error = %reason, "postgres no longer has what the pipeline reads: it stops, its position kept, until it does again (restore the column, or edit the declaration and restart pg2es); the other pipelines go on");
    metrics.stopped(name, Some(reason.clone()));
    let mut delay = FIRST_LOOK;
    loop {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(LONGEST_WAIT);
        let Some(err) = diagnose(pipeline, &pg).await else {
            break;
        };
        let now = describe(&err);
        if now != reason {
            warn!(pipeline = name, error = %now, "still stopped: postgres does not have what the pipeline reads");
            metrics.stopped(name, Some(now.clone()));
            reason = now;
        }
    }
    metrics.stopped(name, None);
    info!(
        pipeline = name,
        "postgres has what the pipeline reads again: it resumes from its state file"
    );
    Ok(())
}

/// What the pipeline reads and Postgres lacks: the declaration's check, naming the file, key,
/// line and column; else the error of the queries themselves (a declaration's own SQL);
/// `None` when everything fits.
async fn diagnose(pipeline: &Declared, pg: &Postgres) -> Option<AppError> {
    if let Err(err) = pipeline.recheck(pg.pool()).await {
        return Some(err.into());
    }
    crate::pipeline::check_schema(pipeline, pg)
        .await
        .err()
        .map(AppError::from)
}

fn postgres(config: &Config) -> Result<Postgres, AppError> {
    pipelines::postgres(config, RetryPolicy::from(&config.sync.retry))
}

fn describe(err: &AppError) -> String {
    causes(err).join(": ")
}

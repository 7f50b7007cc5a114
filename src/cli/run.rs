//! `run` and `sync`: every pipeline at once, each behind its worker lock, cycling until done
//! or stopped; the errors a running worker heals (an index gone, changes missed) are met here.

use std::process::ExitCode;
use std::sync::Arc;

use tracing::{error, info, warn};

use super::{compiled, connect, load_state, schema_change, worker, AppError};
use crate::config::{redact_url, Config};
use crate::declaration::Declared;
use crate::load::WriteReport;
use crate::pipeline::{Engine, Remedy, Request, Servers};
use crate::retry::RetryPolicy;
use crate::state;

/// How `sync` runs: until stopped or once, and what it asks of the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mode {
    pub once: bool,
    pub reset_state: bool,
    pub request: Request,
}

impl Mode {
    pub(super) fn follow(once: bool, reset_state: bool) -> Self {
        Self {
            once,
            reset_state,
            request: Request::Follow,
        }
    }
}

/// `run`/`sync`: every pipeline of the config at once, each with its own worker lock, state,
/// alias and dead letters. `--once` prints the totals, then one line per pipeline.
pub(super) async fn sync(config: &Config, mode: Mode) -> Result<ExitCode, AppError> {
    let retry = RetryPolicy::from(&config.sync.retry);
    let (_, pipelines) = compiled(config, retry).await?;
    let first = Arc::clone(&pipelines[0]);
    let _observer = worker::observe(config, &first).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for pipeline in pipelines {
        let (config, mode) = (config.clone(), mode);
        tasks.spawn(async move {
            let name = pipeline.name.clone();
            (name, sync_pipeline(&config, mode, pipeline).await)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (name, result) = joined.map_err(|err| AppError::Task(err.to_string()))?;
        match result {
            Ok(totals) => results.push((name, totals)),
            Err(err) => {
                tasks.abort_all();
                return Err(err);
            }
        }
    }
    if mode.once {
        results.sort_by(|a, b| a.0.cmp(&b.0));
        let mut sum = WriteReport::default();
        for (_, totals) in &results {
            sum += *totals;
        }
        println!(
            "indexed={} deleted={} dead_lettered={} stale={}",
            sum.indexed, sum.deleted, sum.dead_lettered, sum.stale
        );
        for (name, totals) in &results {
            println!(
                "  {name}: indexed={} deleted={} dead_lettered={} stale={}",
                totals.indexed, totals.deleted, totals.dead_lettered, totals.stale
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One pipeline: takes its worker lock, then works until done or stopped. When the lock is
/// lost (a Postgres restart ends its session), writes stop and the worker stands by to take
/// it again, then goes on from the state file, which another worker may have moved meanwhile.
async fn sync_pipeline(
    config: &Config,
    mode: Mode,
    pipeline: Arc<Declared>,
) -> Result<WriteReport, AppError> {
    let mut reset_state = mode.reset_state;
    loop {
        let Some(mut lock) = worker::take_lock(config, &pipeline, mode.once).await? else {
            return Ok(WriteReport::default());
        };
        if std::mem::take(&mut reset_state) {
            let path = config.state_path(&pipeline.name);
            state::reset(&path)?;
            warn!(pipeline = pipeline.name, path = %path.display(), "state reset: everything is indexed again");
        }
        tokio::select! {
            totals = work_on(config, &mode, &pipeline) => return totals,
            signal = worker::shutdown_signal() => {
                info!(signal, pipeline = pipeline.name, "stopping: the state file holds the last acknowledged position");
                return Ok(WriteReport::default());
            }
            lost = lock.lost() => {
                if mode.once {
                    return Err(worker::WorkerError::from(lost).into());
                }
                warn!(error = %lost, pipeline = pipeline.name, "standing by to take the worker lock again");
            }
        }
    }
}

/// [`work`], started over from the state file when a schema change stopped it and Postgres
/// has what the pipeline reads again; meanwhile the other pipelines go on.
async fn work_on(
    config: &Config,
    mode: &Mode,
    pipeline: &Arc<Declared>,
) -> Result<WriteReport, AppError> {
    loop {
        let err = match work(config, mode, Arc::clone(pipeline)).await {
            Ok(totals) => return Ok(totals),
            Err(err) if schema_change::broke(&err) => err,
            Err(err) => return Err(err),
        };
        if mode.once {
            return Err(schema_change::explained(config, pipeline, err).await);
        }
        schema_change::wait_until_fits(config, pipeline, err).await?;
    }
}

/// Start-up checks, then sync cycles: one with `--once`, else until stopped.
async fn work(
    config: &Config,
    mode: &Mode,
    pipeline: Arc<Declared>,
) -> Result<WriteReport, AppError> {
    let state = load_state(config, &pipeline)?;
    // Refuse a broken index config before any document is sent.
    let index_config = pipeline.index_config.read()?;
    let retry = RetryPolicy::from(&config.sync.retry);
    let (postgres, elastic) = connect(config, retry, &pipeline)?;
    info!(
        pipeline = pipeline.name,
        postgres = %redact_url(config.postgres.url.expose()),
        elasticsearch = %config.elasticsearch.describe(),
        index = %pipeline.alias,
        state = %config.state_path(&pipeline.name).display(),
        capture = ?config.sync.capture,
        poll_interval = ?config.sync.poll_interval,
        batch_size = config.sync.batch_size,
        "pg2es starting"
    );
    postgres.ping().await?;
    crate::pipeline::check_schema(&*pipeline, &postgres).await?;
    elastic.ping().await?;
    let servers = Servers {
        pg: postgres,
        es: elastic,
    };
    let mut engine = Engine::new(Arc::clone(&pipeline), servers, state, config);
    if !mode.once {
        engine.until_stopped();
    }
    engine.check_capture().await?;
    engine.prepare(&index_config, mode.request).await?;
    loop {
        if let Err(err) = engine.sync().await {
            match err.remedy() {
                Remedy::Remake => {
                    error!(pipeline = pipeline.name, error = %err, "the index behind the alias is gone or not the one pg2es left it on: rebuilding it; search answers incompletely until then");
                    crate::metrics::get().health.incomplete(format!(
                        "{}: rebuilding the index behind alias {}",
                        pipeline.name, pipeline.alias
                    ));
                    engine.prepare(&index_config, Request::Follow).await?;
                }
                Remedy::Rebuild { reason, cause } => {
                    error!(
                        pipeline = pipeline.name,
                        reason, "rebuilding the index behind the alias"
                    );
                    engine
                        .prepare(&index_config, Request::Restart(cause))
                        .await?;
                }
                Remedy::Stop => {
                    // Its stream let go of, so that the slot is free when the pipeline resumes.
                    engine.close_capture().await;
                    return Err(err.into());
                }
            }
            continue;
        }
        if mode.once {
            engine.close_capture().await;
            return Ok(engine.totals());
        }
        engine.wait_for_changes(config.sync.poll_interval).await;
    }
}

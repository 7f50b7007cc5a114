//! The `pg2es` command line: parses arguments, loads config, runs one command.

mod capture;
mod check;
mod dead_letter;
mod export;
mod listen;
mod logical;
mod pipelines;
mod polling;
mod reindex;
mod status;
mod verify;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tracing::{error, info, warn};

use crate::config::{redact_url, Capture, Config, ConfigError};
use crate::declaration::{DeclarationError, Declared, SchemaError};
use crate::extract::{PgError, Postgres};
use crate::load::{read_index_config, Elastic, EsError, WriteReport};
use crate::pipeline::{Engine, Request, Servers, SyncError};
use crate::retry::RetryPolicy;
use crate::state::{self, State, StateError};

#[derive(Debug, Parser)]
#[command(
    name = "pg2es",
    version,
    about = "Keeps an Elasticsearch/OpenSearch index in sync with PostgreSQL"
)]
struct Cli {
    /// Config file; a missing file means defaults plus PG2ES__SECTION__KEY variables.
    #[arg(long, global = true, default_value = "config.yaml")]
    config: PathBuf,
    /// Only this pipeline of the config (default: every one).
    #[arg(long, global = true)]
    pipeline: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the index if absent (or rebuild it when the index config changed), back-fill,
    /// then follow changes until SIGTERM/SIGINT.
    Run {
        /// Delete the state file first: everything is indexed again.
        #[arg(long)]
        reset_state: bool,
    },
    /// Catch up with Postgres; with --once, exit when caught up.
    Sync {
        #[arg(long)]
        once: bool,
        /// Delete the state file first: everything is indexed again.
        #[arg(long)]
        reset_state: bool,
    },
    /// Build a new index behind the alias when the index config changed (or with --force),
    /// following changes meanwhile, move the alias to it, and exit.
    Reindex {
        /// Rebuild even when the index config did not change.
        #[arg(long, conflicts_with = "rollback")]
        force: bool,
        /// Bring the previous index up to date and move the alias back to it.
        #[arg(long)]
        rollback: bool,
    },
    /// Validate config, reach both servers, compare the live mapping with the index config.
    Check,
    /// Install exact change capture (triggers and the pg2es schema) in Postgres; idempotent.
    Setup,
    /// Remove what `setup` installed.
    Teardown,
    /// Rebuild every document from Postgres and compare it with the index (exit 0 when equal).
    Verify {
        /// Write missing and stale documents, delete extra ones.
        #[arg(long)]
        repair: bool,
        #[arg(long)]
        json: bool,
    },
    /// Documents Elasticsearch refused (see dead_letter.path).
    DeadLetter {
        #[command(subcommand)]
        action: dead_letter::Action,
    },
    /// Write the bulk request bodies a back-fill would send, one file each, without sending
    /// them (no directory: only count them). For benchmarks and debugging.
    Export {
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The consumers of recorded changes (exact mode), with their backlogs.
    Consumers {
        #[command(subcommand)]
        action: capture::ConsumersAction,
    },
    /// Show cursors, the last sync, and documents in the index against rows in Postgres.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error(transparent)]
    Elasticsearch(#[from] EsError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Worker(#[from] worker::WorkerError),
    #[error(transparent)]
    Declaration(#[from] DeclarationError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("no pipeline {name:?} in the config (it has: {known})")]
    UnknownPipeline { name: String, known: String },
    #[error("{0}")]
    Task(String),
    #[error("cannot create {path}")]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Entry point of the binary.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    // A declaration that cannot work is a config error too, found before anything connects
    // (`check` reports it among its other checks instead).
    let validate = |config: Config| match matches!(cli.command, Command::Check) {
        true => Ok(config),
        false => pipelines::declarations(&config).map(|_| config),
    };
    let config = match Config::load(&cli.config)
        .map_err(AppError::from)
        .and_then(|config| only(config, cli.pipeline.as_deref()))
        .and_then(validate)
    {
        Ok(config) => config,
        Err(err) => {
            report(&err);
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&config.log);
    let result = match cli.command {
        Command::Run { reset_state } => sync(&config, Mode::follow(false, reset_state)).await,
        Command::Sync { once, reset_state } => sync(&config, Mode::follow(once, reset_state)).await,
        Command::Reindex { force, rollback } => reindex::run(&config, force, rollback).await,
        Command::Check => check::run(&cli.config, &config).await,
        Command::Setup => capture::setup(&config).await,
        Command::Teardown => capture::teardown(&config).await,
        Command::Verify { repair, json } => verify::run(&config, repair, json).await,
        Command::Status { json } => status::run(&config, json).await,
        Command::DeadLetter { action } => dead_letter::run(&config, action).await,
        Command::Export { dir } => export::run(&config, dir.as_deref()).await,
        Command::Consumers { action } => capture::consumers(&config, action).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            report(&err);
            ExitCode::FAILURE
        }
    }
}

/// Prints an error with its chain of causes.
fn report(err: &AppError) {
    eprintln!("error: {}", causes(err).join("\n  caused by: "));
}

/// The messages of an error and its sources, leaving out a cause its parent already quoted.
pub(crate) fn causes(err: &dyn std::error::Error) -> Vec<String> {
    let mut messages = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !messages.last().is_some_and(|parent| parent.contains(&text)) {
            messages.push(text);
        }
        source = cause.source();
    }
    messages
}

/// `--pipeline NAME`: the config with that pipeline only.
fn only(mut config: Config, name: Option<&str>) -> Result<Config, AppError> {
    let Some(name) = name else {
        return Ok(config);
    };
    if !config.pipelines.contains_key(name) {
        return Err(AppError::UnknownPipeline {
            name: name.to_owned(),
            known: config
                .pipelines
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    config.pipelines.retain(|key, _| key == name);
    Ok(config)
}

/// Postgres, and the index client of `pipeline`.
pub(crate) fn connect(
    config: &Config,
    retry: RetryPolicy,
    pipeline: &Declared,
) -> Result<(Postgres, Elastic), AppError> {
    let postgres = pipelines::postgres(config, retry)?;
    let elastic = pipelines::elastic(config, retry, pipeline)?;
    Ok((postgres, elastic))
}

/// Postgres reached, and every selected pipeline checked against it and compiled.
pub(crate) async fn compiled(
    config: &Config,
    retry: RetryPolicy,
) -> Result<(Postgres, Vec<Arc<Declared>>), AppError> {
    let postgres = pipelines::postgres(config, retry)?;
    postgres.ping().await?;
    let compiled = pipelines::compiled(config, &postgres).await?;
    Ok((postgres, compiled))
}

/// A pipeline's state: its own file, or (carried over once) the single-pipeline state file
/// of an earlier pg2es at `state.path` when it belongs to this pipeline.
fn load_state(config: &Config, declared: &Declared) -> Result<State, AppError> {
    let (pipeline, index) = (declared.name.as_str(), declared.alias.as_str());
    let path = config.state_path(pipeline);
    if let Some(state) = state::load(&path, pipeline, index)? {
        return Ok(state);
    }
    let legacy = &config.state.path;
    let carried = match state::load(legacy, pipeline, index) {
        Ok(state) => state,
        // Another pipeline's: that one carries it over.
        Err(StateError::Corrupt { reason, .. }) if reason.contains("belongs to pipeline") => None,
        Err(err) => return Err(err.into()),
    };
    if let Some(mut state) = carried {
        // Its cursors were named by table without the schema.
        let cursors = std::mem::take(&mut state.cursors);
        for (name, cursor) in cursors {
            let relation = declared
                .tables
                .iter()
                .find(|t| t.relation.rsplit('.').next() == Some(name.as_str()))
                .map_or(name, |t| t.relation.clone());
            state.cursors.insert(relation, cursor);
        }
        state::save(&path, &state)?;
        let _ = std::fs::remove_file(legacy);
        let dead_letters = config.dead_letter_path(pipeline);
        if config.dead_letter.path.exists() && !dead_letters.exists() {
            let _ = std::fs::rename(&config.dead_letter.path, &dead_letters);
        }
        warn!(from = %legacy.display(), to = %path.display(), "state file of an earlier pg2es carried over");
        return Ok(state);
    }
    Ok(State::new(pipeline, index))
}

/// How `sync` runs: until stopped or once, and what it asks of the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mode {
    pub once: bool,
    pub reset_state: bool,
    pub request: Request,
}

impl Mode {
    fn follow(once: bool, reset_state: bool) -> Self {
        Self {
            once,
            reset_state,
            request: Request::Follow,
        }
    }
}

/// `run`/`sync`: every pipeline of the config at once, each with its own worker lock, state,
/// alias and dead letters. `--once` prints the totals, then one line per pipeline.
async fn sync(config: &Config, mode: Mode) -> Result<ExitCode, AppError> {
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
            "indexed={} deleted={} dead_lettered={}",
            sum.indexed, sum.deleted, sum.dead_lettered
        );
        for (name, totals) in &results {
            println!(
                "  {name}: indexed={} deleted={} dead_lettered={}",
                totals.indexed, totals.deleted, totals.dead_lettered
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
            totals = work(config, &mode, Arc::clone(&pipeline)) => return totals,
            signal = shutdown_signal() => {
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

/// Start-up checks, then sync cycles: one with `--once`, else until stopped.
async fn work(
    config: &Config,
    mode: &Mode,
    pipeline: Arc<Declared>,
) -> Result<WriteReport, AppError> {
    let state = load_state(config, &pipeline)?;
    // Refuse a broken index config before any document is sent.
    let index_config = read_index_config(&pipeline.index_config)?;
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
    let pool = postgres.pool().clone();
    let servers = Servers {
        pg: postgres,
        es: elastic,
    };
    let mut engine = Engine::new(Arc::clone(&pipeline), servers, state, config);
    engine.check_capture().await?;
    engine.prepare(&index_config, mode.request).await?;
    let mut wake = match (mode.once, config.sync.capture) {
        (false, Capture::Triggers) => Some(listen::Wake::listen(&pool, &retry).await?),
        _ => None,
    };
    loop {
        match engine.sync().await {
            Ok(()) => {}
            // Deleted under the worker, or the alias removed: writes never create an index of
            // the alias's name (they require the alias), so nothing went to a stray index.
            // Rebuilt behind the alias, search complete again without a restart.
            Err(
                untrusted @ (SyncError::Elasticsearch(EsError::IndexGone { .. })
                | SyncError::AliasMoved { .. }),
            ) => {
                error!(pipeline = pipeline.name, error = %untrusted, "the index behind the alias is gone or not the one pg2es left it on: rebuilding it; search answers incompletely until then");
                crate::metrics::get().health.incomplete(format!(
                    "{}: rebuilding the index behind alias {}",
                    pipeline.name, pipeline.alias
                ));
                engine.prepare(&index_config, Request::Follow).await?;
                continue;
            }
            // A truncated table or a lost replication slot (logical mode): changes were
            // missed, so the index is rebuilt behind the alias, search answering meanwhile;
            // a rebuild in progress starts over (its pages may hold rows that are gone).
            Err(SyncError::RebuildNeeded { reason }) => {
                error!(
                    pipeline = pipeline.name,
                    reason, "rebuilding the index behind the alias"
                );
                engine.prepare(&index_config, Request::Restart).await?;
                continue;
            }
            Err(err) => return Err(err.into()),
        }
        if mode.once {
            engine.close_stream().await;
            return Ok(engine.totals());
        }
        match config.sync.capture {
            Capture::Logical => engine.wait_for_changes(config.sync.poll_interval).await,
            _ => listen::wait(wake.as_mut(), config.sync.poll_interval).await,
        }
    }
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return "none";
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

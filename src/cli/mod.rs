//! The `pg2es` command line: parses arguments, loads config, runs one command.

mod capture;
mod check;
mod dead_letter;
mod export;
mod failover;
mod init;
mod logical;
mod pipelines;
mod polling;
mod reindex;
mod report;
mod run;
mod schema_change;
mod status;
mod verify;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tracing::warn;

use crate::config::{Config, ConfigError};
use crate::declaration::{DeclarationError, Declared, SchemaError};
pub(crate) use crate::errors::causes;
use crate::extract::{PgError, Postgres, VersionError};
use crate::load::{Elastic, EsError};
use crate::pipeline::SyncError;
use crate::retry::RetryPolicy;
use crate::state::{self, State, StateError};
use run::sync;
pub(crate) use run::Mode;

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
    /// Draft pipelines/NAME.yaml from the catalogue: the root, its columns, and the tables
    /// one foreign key away, each choice with a comment. Never overwrites without --force.
    Init {
        /// The table that gives one document per row, as SCHEMA.TABLE.
        #[arg(long)]
        root: String,
        /// The pipeline's name and alias (default: the table's name).
        #[arg(long)]
        name: Option<String>,
        /// How many hops of foreign keys are followed: 1, or 2 for a `one:` object in each
        /// list item for each table the listed table references.
        #[arg(long, default_value_t = 1)]
        depth: u32,
        /// Follow only relations to these tables (SCHEMA.TABLE or SCHEMA.*; repeatable).
        #[arg(long)]
        include: Vec<String>,
        /// Never follow relations to these tables, nor a through list via them (SCHEMA.TABLE or
        /// SCHEMA.*; repeatable).
        #[arg(long)]
        exclude: Vec<String>,
        /// Overwrite pipelines/NAME.yaml (and NAME_index.json).
        #[arg(long)]
        force: bool,
        /// Also write the derived index config to pipelines/NAME_index.json and name it in the
        /// draft, to tune analyzers and mappings there.
        #[arg(long)]
        index_config: bool,
    },
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
    Version(#[from] VersionError),
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
    #[error("pipeline {pipeline} stopped: postgres no longer has what it reads")]
    SchemaChanged {
        pipeline: String,
        #[source]
        source: Box<AppError>,
    },
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
    let validate =
        |config: Config| match matches!(cli.command, Command::Check | Command::Init { .. }) {
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
        Command::Init {
            root,
            name,
            depth,
            include,
            exclude,
            force,
            index_config,
        } => {
            let follow = crate::declaration::draft::Follow {
                depth,
                include,
                exclude,
            };
            let init = init::Init {
                root,
                name,
                follow,
                force,
                index_config,
            };
            init::run(&config, init).await
        }
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

/// Postgres reached and of a supported version, and every selected pipeline checked against
/// it and compiled.
pub(crate) async fn compiled(
    config: &Config,
    retry: RetryPolicy,
) -> Result<(Postgres, Vec<Arc<Declared>>), AppError> {
    let postgres = pipelines::postgres(config, retry)?;
    postgres.supported_version().await?;
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

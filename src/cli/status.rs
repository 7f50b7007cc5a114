//! `pg2es status`: where the worker is, how far behind, and how the index compares with
//! Postgres.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};

use super::{connect, load_state, pipelines, AppError};
use crate::config::{Capture, Config};
use crate::declaration::{Declared, SchemaError};
use crate::extract::Postgres;
use crate::load::DeadLetters;
use crate::pipeline::{self, Pipeline};
use crate::retry::RetryPolicy;
use crate::state::{Backfill, State};

/// Status answers quickly: a few tries, not the worker's patience.
pub(super) const QUICK_RETRY: RetryPolicy = RetryPolicy {
    initial_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(1),
    max_attempts: 3,
};

/// One pipeline's report; with several pipelines `--json` prints an array of them.
pub(super) async fn run(config: &Config, as_json: bool) -> Result<ExitCode, AppError> {
    let postgres = pipelines::postgres(config, QUICK_RETRY)?;
    postgres.ping().await?;
    let mut reports = Vec::new();
    for declaration in pipelines::declarations(config)? {
        let pipeline = match Declared::connect(&declaration, postgres.pool()).await {
            Ok(pipeline) => pipeline,
            // The others are reported still: a running worker goes on with them.
            Err(err @ SchemaError::Mismatch { .. }) => {
                let report = stopped_report(config, &declaration.name, &err).await;
                if !as_json {
                    println!(
                        "pipeline:   {}\n  ✗ stopped: {}\n",
                        report["pipeline"].as_str().unwrap_or_default(),
                        report["stopped"].as_str().unwrap_or_default()
                    );
                }
                reports.push(report);
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        let (state, report) = pipeline_report(config, &pipeline).await?;
        if !as_json {
            print_text(&state, &report, &pipeline);
            println!();
        }
        reports.push(report);
    }
    if as_json {
        let value = match reports.len() {
            1 => reports.remove(0),
            _ => Value::Array(reports),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A pipeline whose declaration Postgres cannot serve now (a column dropped under a running
/// worker, which stops that pipeline only): why, and what the worker says.
async fn stopped_report(config: &Config, pipeline: &str, err: &SchemaError) -> Value {
    json!({
        "pipeline": pipeline,
        "stopped": super::causes(err).join(": "),
        "worker_http": worker_http(config).await,
    })
}

async fn pipeline_report(config: &Config, pipeline: &Declared) -> Result<(State, Value), AppError> {
    let state = load_state(config, pipeline)?;
    let (postgres, elastic) = connect(config, QUICK_RETRY, pipeline)?;
    let rows = postgres.count(pipeline.root()).await?;
    let documents = elastic.count().await?;
    let consumers = postgres.consumers().await?;
    let consumer = format!("{}@{}", pipeline.name, pipeline.alias);
    let pending = consumers.as_ref().map(|all| {
        all.iter()
            .find(|c| c.name == consumer)
            .map_or(0, |c| c.backlog)
    });
    let http = worker_http(config).await;
    let capture_installed = consumers.is_some();
    let lag = match (config.sync.capture, state.backfill.done) {
        // The worker measures it as it streams: the slot has no timestamps to read here.
        (Capture::Logical, true) => streamed_lag(&http, pipeline),
        _ => lag_seconds(config, &postgres, &state, pipeline, capture_installed).await?,
    };
    let key = crate::lock::key(&pipeline.name, &pipeline.alias);
    let active = crate::lock::active_worker(postgres.pool(), key).await?;
    let dead_letter_path = config.dead_letter_path(&pipeline.name);
    let dead_letters = DeadLetters::count(&dead_letter_path).ok();
    let aliased = elastic.aliased_indexes().await?;
    let horizon = match config.sync.capture {
        Capture::Polling => super::polling::horizon_report(config, &postgres).await?,
        _ => Value::Null,
    };
    let alias_trouble = pipeline::alias_trouble(&elastic, &state).await?;
    let report = json!({
        "pipeline": state.pipeline,
        "index": state.index,
        "alias_on": aliased,
        "alias_trouble": alias_trouble,
        "foreign_writes": state.foreign_writes,
        "worker_http": http,
        "rebuild": state.rebuild,
        "pinned_config": state.pinned_config,
        "state_file": config.state_path(&pipeline.name),
        "active_worker": active,
        "backfill": state.backfill,
        "cursors": state.cursors,
        "last_sync_at": state.last_sync_at,
        "lag_seconds": lag.seconds(),
        "lag_unknown": lag.unknown(),
        "documents_in_index": documents,
        "rows_in_postgres": rows,
        "capture": config.sync.capture,
        "pending_changes": pending,
        "polling_horizon": horizon,
        "consumers": consumers,
        "dead_letter_file": dead_letter_path,
        "dead_letters": dead_letters,
        "slot": super::logical::slot_report(config, &postgres, pipeline).await?,
    });
    Ok((state, report))
}

/// The lag, or why `status` cannot say it.
#[derive(Debug, Clone, PartialEq)]
enum Lag {
    Seconds(f64),
    Unknown(&'static str),
}

impl Lag {
    fn seconds(&self) -> Option<f64> {
        match self {
            Lag::Seconds(seconds) => Some(*seconds),
            Lag::Unknown(_) => None,
        }
    }

    fn unknown(&self) -> Option<&'static str> {
        match self {
            Lag::Seconds(_) => None,
            Lag::Unknown(why) => Some(why),
        }
    }
}

/// Logical mode, once back-filled: the lag the running worker measured as it streamed, from
/// its `/status`.
fn streamed_lag(http: &Value, pipeline: &Declared) -> Lag {
    match http["lag_seconds"][&pipeline.name].as_f64() {
        Some(seconds) => Lag::Seconds((seconds * 1000.0).round() / 1000.0),
        None => Lag::Unknown("measured by the worker as it streams (`pg2es_lag_seconds`; shown here while it runs with `http.address` on a fixed port); the slot line says what is not confirmed yet"),
    }
}

/// Polling and triggers mode: the lag read from Postgres, once the back-fill is done.
async fn lag_seconds(
    config: &Config,
    postgres: &Postgres,
    state: &State,
    pipeline: &Declared,
    capture_installed: bool,
) -> Result<Lag, AppError> {
    let capture = config.sync.capture;
    if !state.backfill.done {
        return Ok(Lag::Unknown("unknown until the back-fill is done"));
    }
    if capture == Capture::Triggers && !capture_installed {
        return Ok(Lag::Unknown(
            "unknown: change capture is not installed (run `pg2es setup`)",
        ));
    }
    let consumer = format!("{}@{}", pipeline.name, pipeline.alias);
    let seconds = pipeline::lag(
        postgres,
        &pipeline.tables,
        &state.cursors,
        capture,
        &consumer,
    )
    .await?;
    Ok(Lag::Seconds((seconds * 1000.0).round() / 1000.0))
}

fn print_text(state: &State, report: &Value, pipeline: &Declared) {
    let text = |key: &str| match &report[key] {
        Value::String(text) => text.clone(),
        Value::Null => "none".to_owned(),
        other => other.to_string(),
    };
    println!("pipeline:   {} → index {}", state.pipeline, state.index);
    let answering = match report["alias_on"].as_array().map(Vec::as_slice) {
        None | Some([]) => "no alias (first start, or an older indexer's index)".to_owned(),
        Some(indexes) => indexes
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    };
    println!("alias on:   {answering}");
    if let Some(trouble) = report["alias_trouble"].as_str() {
        println!("  ✗ {trouble}");
    }
    if let Some(noted) = &state.foreign_writes {
        println!("  {}", super::check::foreign_writes_text(noted));
    }
    println!("state file: {}", text("state_file"));
    println!("worker:     {}", text("active_worker"));
    let http = &report["worker_http"];
    if let Some(reason) = http["reason"].as_str() {
        println!("  not ready: {reason}");
    }
    for retrying in http["retrying"].as_array().into_iter().flatten() {
        println!(
            "  retrying since {} ({}), last error: {}",
            retrying["since"].as_str().unwrap_or_default(),
            retrying["operation"].as_str().unwrap_or_default(),
            retrying["last_error"].as_str().unwrap_or_default()
        );
    }
    if let Some(rebuild) = &state.rebuild {
        println!(
            "rebuild:    {:?} into {}, {}",
            rebuild.reason,
            rebuild.index,
            progress(&rebuild.backfill)
        );
    }
    println!("back-fill:  {}", progress(&state.backfill));
    println!("cursors:");
    for (table, cursor) in &state.cursors {
        println!("  {table:<26} {}  {}", cursor.at, cursor.id);
    }
    let last_sync = state
        .last_sync_at
        .map_or("never".into(), |at| at.to_rfc3339());
    println!("last cycle: {last_sync}");
    let lag = match (&report["lag_seconds"], report["lag_unknown"].as_str()) {
        (Value::Null, why) => why.unwrap_or("unknown").to_owned(),
        (seconds, _) => format!("{seconds}s (age of the oldest change not yet indexed)"),
    };
    println!("lag:        {lag}");
    if report["polling_horizon"].is_object() {
        println!(
            "horizon:    {}",
            super::polling::horizon_line(&report["polling_horizon"])
        );
    }
    let documents = match &report["documents_in_index"] {
        Value::Null => "index missing".to_owned(),
        count => count.to_string(),
    };
    println!(
        "documents:  {documents} in the index, {} rows in {}",
        text("rows_in_postgres"),
        pipeline.root().relation
    );
    println!(
        "dead letters: {} in {}",
        text("dead_letters"),
        text("dead_letter_file")
    );
    super::logical::print_slot(&report["slot"]);
    if let Some(consumers) = report["consumers"].as_array() {
        println!(
            "consumers of recorded changes (`pg2es consumers forget NAME` for one gone for good):"
        );
        for consumer in consumers {
            println!(
                "  {:<32} backlog {}  last read {}",
                consumer["name"].as_str().unwrap_or_default(),
                consumer["backlog"],
                consumer["seen_at"].as_str().unwrap_or_default()
            );
        }
    }
}

fn progress(backfill: &Backfill) -> String {
    match (backfill.done, backfill.started_at) {
        (true, _) => format!("done, {} documents", backfill.indexed),
        (false, Some(_)) => format!(
            "in progress, {} documents, next after {}",
            backfill.indexed,
            backfill
                .after
                .as_ref()
                .map_or("the start".into(), |id| id.to_string())
        ),
        (false, None) => "not started".to_owned(),
    }
}

/// What the running worker says on its HTTP listener (`/status`): readiness and what it is
/// retrying. `null` when the listener is off, on a port chosen at start, or not answering.
async fn worker_http(config: &Config) -> Value {
    let Some(mut address) = config.http.listen_address().filter(|a| a.port() != 0) else {
        return Value::Null;
    };
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let asked = tokio::time::timeout(Duration::from_secs(2), http_get(address, "/status")).await;
    match asked {
        Ok(Ok(body)) => serde_json::from_str(&body).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

async fn http_get(address: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_owned()))
}

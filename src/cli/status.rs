//! `pg2es status`: where the worker is, and how the index compares with Postgres.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use super::{connect, load_state, AppError};
use crate::config::Config;
use crate::movies::Movies;
use crate::pipeline::Pipeline;
use crate::retry::RetryPolicy;
use crate::state::Backfill;

/// Status answers quickly: a few tries, not the worker's patience.
pub(super) const QUICK_RETRY: RetryPolicy = RetryPolicy {
    initial_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(1),
    max_attempts: 3,
};

pub(super) async fn run(config: &Config, as_json: bool) -> Result<ExitCode, AppError> {
    let pipeline = Movies;
    let state = load_state(&config.state.path, pipeline.name(), &config.index.name)?;
    let (postgres, elastic) = connect(config, QUICK_RETRY)?;
    let rows = postgres.count(pipeline.root()).await?;
    let documents = elastic.count().await?;
    let pending = postgres.pending_changes().await?;
    let aliased = elastic.aliased_indexes().await?;
    if as_json {
        let report = json!({
            "pipeline": state.pipeline,
            "index": state.index,
            "alias_on": aliased,
            "rebuild": state.rebuild,
            "pinned_config": state.pinned_config,
            "state_file": config.state.path,
            "backfill": state.backfill,
            "cursors": state.cursors,
            "last_sync_at": state.last_sync_at,
            "documents_in_index": documents,
            "rows_in_postgres": rows,
            "capture": config.sync.capture,
            "pending_changes": pending,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("pipeline:   {} → index {}", state.pipeline, state.index);
    let answering = match aliased.as_slice() {
        [] => "no alias (first start, or an older indexer's index)".to_owned(),
        indexes => indexes.join(", "),
    };
    println!("alias on:   {answering}");
    println!("state file: {}", config.state.path.display());
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
        println!("  {table:<18} {}  {}", cursor.at.to_rfc3339(), cursor.id);
    }
    let last_sync = state
        .last_sync_at
        .map_or("never".into(), |at| at.to_rfc3339());
    println!("last sync:  {last_sync}");
    let documents = documents.map_or("index missing".into(), |count| count.to_string());
    println!(
        "documents:  {documents} in the index, {rows} rows in {}",
        pipeline.root().relation
    );
    Ok(ExitCode::SUCCESS)
}

fn progress(backfill: &Backfill) -> String {
    match (backfill.done, backfill.started_at) {
        (true, _) => format!("done, {} documents", backfill.indexed),
        (false, Some(_)) => format!(
            "in progress, {} documents, next after {}",
            backfill.indexed,
            backfill
                .after
                .map_or("the start".into(), |id| id.to_string())
        ),
        (false, None) => "not started".to_owned(),
    }
}

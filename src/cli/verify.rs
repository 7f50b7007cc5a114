//! `pg2es verify [--repair] [--json]`: is the index equal to what Postgres says? A repair
//! enters its writes in the repair ledger under the repair lock, so that a worker running
//! beside it counts them as pg2es's own (see `state/repairs.rs`).

use std::process::ExitCode;

use tracing::{info, warn};

use super::{compiled, pipelines, AppError};
use crate::config::Config;
use crate::declaration::Declared;
use crate::extract::Postgres;
use crate::load::Elastic;
use crate::pipeline::{self, VerifyMode, VerifyReport};
use crate::retry::RetryPolicy;
use crate::state::RepairRecord;

pub(super) async fn run(
    config: &Config,
    repair: bool,
    as_json: bool,
) -> Result<ExitCode, AppError> {
    let retry = RetryPolicy::from(&config.sync.retry);
    let (postgres, compiled) = compiled(config, retry).await?;
    let mut all_equal = true;
    for declared in compiled {
        let elastic = pipelines::elastic(config, retry, &declared)?;
        let report = match repair {
            true => repair_beside_a_worker(config, &postgres, &elastic, &declared).await?,
            false => {
                let batch_size = config.sync.batch_size;
                pipeline::verify(
                    &*declared,
                    &postgres,
                    &elastic,
                    batch_size,
                    VerifyMode::Compare,
                )
                .await?
            }
        };
        all_equal &= report.equal();
        let state = super::load_state(config, &declared)?;
        let trouble = pipeline::alias_trouble(&elastic, &state)
            .await
            .map_err(crate::pipeline::SyncError::from)?;
        all_equal &= trouble.is_none();
        if as_json {
            let mut value = serde_json::to_value(&report).unwrap_or_default();
            value["pipeline"] = declared.name.clone().into();
            value["alias_trouble"] = trouble.into();
            value["foreign_writes"] =
                serde_json::to_value(&state.foreign_writes).unwrap_or_default();
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
        } else {
            println!("{} ({}):", declared.name, declared.alias);
            if let Some(trouble) = &trouble {
                println!("  ✗ {trouble}");
            }
            if let Some(noted) = &state.foreign_writes {
                println!("  {}", super::check::foreign_writes_text(noted));
            }
            print_text(&report);
        }
    }
    // With --repair, success means everything found was written again.
    Ok(match all_equal || repair {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    })
}

/// Repairs under the repair lock, entering what the index applied for each write in the
/// repair ledger beside the state file.
async fn repair_beside_a_worker(
    config: &Config,
    postgres: &Postgres,
    elastic: &Elastic,
    declared: &Declared,
) -> Result<VerifyReport, AppError> {
    let (pipeline, alias) = (declared.name.as_str(), declared.alias.as_str());
    let worker = crate::lock::active_worker(postgres.pool(), crate::lock::key(pipeline, alias));
    let state_path = config.state_path(pipeline);
    if let (Some(worker), false) = (worker.await?, state_path.exists()) {
        warn!(pipeline, worker = %worker, state_file = %state_path.display(), "a worker is active on this pipeline, but its state file is not here: it reads the repair ledger beside its state file, so it will take this repair's writes for someone else's (run the repair with the worker's state.path)");
    }
    let key = crate::lock::repair_key(pipeline, alias);
    let _lock = crate::lock::hold_for_repair(postgres, key).await?;
    let ledger = config.repair_ledger_path(pipeline);
    let record = RepairRecord::begin(&ledger, pipeline, alias)?;
    let mode = VerifyMode::RepairRecorded(&record);
    let report =
        pipeline::verify(declared, postgres, elastic, config.sync.batch_size, mode).await?;
    info!(
        pipeline,
        operations = record.recorded(),
        ledger = %record.path().display(),
        "the repair's writes are in the repair ledger: a worker beside it counts them as its own"
    );
    Ok(report)
}

fn print_text(report: &VerifyReport) {
    println!(
        "checked {} documents: {} missing, {} stale, {} extra",
        report.checked, report.missing.count, report.stale.count, report.extra.count
    );
    for (kind, found) in [
        ("missing", &report.missing),
        ("stale", &report.stale),
        ("extra", &report.extra),
    ] {
        for id in &found.ids {
            println!("  {kind} {id}");
        }
        if found.count > found.ids.len() as u64 {
            println!(
                "  … and {} more {kind}",
                found.count - found.ids.len() as u64
            );
        }
    }
    match (report.equal(), report.repaired) {
        (true, _) => println!("the index equals Postgres"),
        (false, true) if report.written.stale > 0 => println!(
            "repaired, except {} the index refused as older than what it holds (a worker wrote those documents since, or someone else did where pg2es cannot take a transaction id): run `pg2es verify` again",
            report.written.stale
        ),
        (false, true) => println!("repaired: every difference was written again"),
        (false, false) => println!("run `pg2es verify --repair` to fix them"),
    }
}

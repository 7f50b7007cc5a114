//! `pg2es verify [--repair] [--json]`: is the index equal to what Postgres says?

use std::process::ExitCode;

use super::{compiled, pipelines, AppError};
use crate::config::Config;
use crate::pipeline::{self, VerifyReport};
use crate::retry::RetryPolicy;

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
        let report = pipeline::verify(
            &*declared,
            &postgres,
            &elastic,
            config.sync.batch_size,
            repair,
        )
        .await
        .map_err(AppError::from)?;
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
        (false, true) => println!("repaired: every difference was written again"),
        (false, false) => println!("run `pg2es verify --repair` to fix them"),
    }
}

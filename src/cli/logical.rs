//! Logical capture in the commands: what `setup` and `teardown` do for it, its lines in
//! `check`, and the slot in `status`.

use serde_json::{json, Value};

use super::report::Report;
use super::AppError;
use crate::config::{Capture, Config};
use crate::declaration::Declared;
use crate::extract::{Postgres, Slot, Table};
use crate::retry::RetryPolicy;

/// What to set so that a slot whose reader is gone cannot fill the disk.
const KEEP_SIZE_HINT: &str = "set max_slot_wal_keep_size (e.g. '10GB', above what an outage of the worker writes): Postgres then invalidates a slot left behind instead of filling its disk, and pg2es rebuilds the index from a new slot";

fn slot_of(pipeline: &Declared) -> Slot {
    Slot::of(&pipeline.name, &pipeline.alias)
}

/// Where what `setup` and `teardown` write goes: `postgres.url`, or, when that is a hot
/// standby (whose slot logical capture reads, 16+), the primary of `postgres.primary_url`.
pub(super) async fn writer(
    config: &Config,
    postgres: &Postgres,
) -> Result<Option<Postgres>, AppError> {
    if !postgres.is_standby().await? {
        return Ok(None);
    }
    let retry = RetryPolicy::from(&config.sync.retry);
    match Postgres::primary_of(&config.postgres, retry)? {
        Some(primary) => Ok(Some(primary)),
        None => Err(crate::pipeline::SyncError::LogicalUnavailable(vec![
            "postgres.url is a hot standby, which is read-only: the publication and the replica identities are written on the primary; set postgres.primary_url".into(),
        ])
        .into()),
    }
}

/// `setup` in logical mode: replica identities that carry the recorded columns, then per
/// pipeline a publication over its tables and a slot (before any back-fill reads a row). On
/// a hot standby the slot is made there and the rest on the primary.
pub(super) async fn setup(
    config: &Config,
    postgres: &Postgres,
    pipelines: &[std::sync::Arc<Declared>],
) -> Result<(), AppError> {
    let requirements = postgres.logical_requirements().await?;
    let missing = requirements.missing();
    if !missing.is_empty() {
        return Err(crate::pipeline::SyncError::LogicalUnavailable(missing).into());
    }
    let primary = writer(config, postgres).await?;
    let written = primary.as_ref().unwrap_or(postgres);
    let tables: Vec<Table> = pipelines.iter().flat_map(|p| p.tables.clone()).collect();
    for (relation, identity) in written.widen_identities(&tables).await? {
        println!(
            "✓ replica identity of {relation}: {identity} (deletes say which documents they touch)"
        );
    }
    for pipeline in pipelines {
        let slot = slot_of(pipeline);
        written.publish(&slot, &pipeline.tables).await?;
        let relations: Vec<&str> = pipeline
            .tables
            .iter()
            .map(|t| t.relation.as_str())
            .collect();
        println!("✓ publication {} over {}", slot.name, relations.join(", "));
        match postgres.create_slot_nudged(&slot, primary.as_ref()).await? {
            true if primary.is_some() => println!(
                "✓ replication slot {} created on the hot standby (pgoutput)",
                slot.name
            ),
            true => println!("✓ replication slot {} created (pgoutput)", slot.name),
            false => println!("✓ replication slot {} already there", slot.name),
        }
        super::failover::setup(postgres, &config.postgres, &slot).await?;
        warn_of_legacy_slot(postgres, &slot).await?;
    }
    if requirements.unbounded() {
        println!("⚠ max_slot_wal_keep_size is unlimited: {KEEP_SIZE_HINT}");
    }
    println!("logical capture installed: set sync.capture: logical (PG2ES__SYNC__CAPTURE=logical); `pg2es teardown` removes the slots");
    Ok(())
}

/// A slot of the name an earlier release gave keeps log on the server until dropped.
async fn warn_of_legacy_slot(postgres: &Postgres, slot: &Slot) -> Result<(), AppError> {
    let Some(legacy) = &slot.legacy else {
        return Ok(());
    };
    let old = Slot {
        name: legacy.clone(),
        legacy: None,
    };
    if postgres.slot_state(&old).await?.is_some() {
        println!("⚠ replication slot {legacy} (the name of earlier releases) is still there and keeps log on the server: pg2es now reads {}; once no earlier worker runs, drop it with SELECT pg_drop_replication_slot('{legacy}'); DROP PUBLICATION \"{legacy}\";", slot.name);
    }
    Ok(())
}

/// `teardown`: drops every pipeline's slot and publication, saying so (on a hot standby, the
/// slot there and the publication on the primary).
pub(super) async fn teardown(
    config: &Config,
    postgres: &Postgres,
    pipelines: &[std::sync::Arc<Declared>],
) -> Result<(), AppError> {
    let primary = writer(config, postgres).await?;
    let written = primary.as_ref().unwrap_or(postgres);
    for pipeline in pipelines {
        let slot = slot_of(pipeline);
        if postgres.drop_slot(&slot).await? {
            println!(
                "replication slot {} dropped: it no longer keeps log on the server",
                slot.name
            );
        }
        if written.unpublish(&slot).await? {
            println!("publication {} dropped", slot.name);
        }
    }
    Ok(())
}

/// `check` on a hot standby in logical mode (16+): the slot is read there; what it needs.
pub(super) async fn check_standby(report: &mut Report, config: &Config, postgres: &Postgres) {
    let what = "postgres is the primary";
    let primary = match &config.postgres.primary_url {
        Some(url) => format!(
            "setup writes the publication and replica identities on the primary, {}",
            crate::config::redact_url(url.expose())
        ),
        None => "no postgres.primary_url: pg2es makes no connection to the primary; `setup` needs it (the publication and replica identities are written there), and a slot made on the standby waits for the primary's next record of running transactions (up to 15 s while it is busy; never while it is idle)".into(),
    };
    report.pass(
        what,
        &format!("a hot standby: logical capture reads its own slot there and writes nothing to it (wal_level = logical is needed on the primary too); {primary}"),
    );
    match postgres.standby_settings().await {
        Ok(settings) => {
            match settings.feedback {
                true => report.pass("hot_standby_feedback", "on"),
                false => report.fail(
                    "hot_standby_feedback",
                    "off: the primary may remove catalog rows the slot still decodes with, and Postgres then invalidates it (a new slot and a rebuild)",
                    "set hot_standby_feedback = on on the standby",
                ),
            }
            match settings.primary_slot {
                Some(name) => report.pass("physical slot", &format!("primary_slot_name = {name}")),
                None => report.warn(
                    "physical slot",
                    "no primary_slot_name: the primary may recycle log the standby has not received yet",
                    "give the standby a physical slot on the primary (primary_slot_name)",
                ),
            }
        }
        Err(err) => report.fail("hot_standby_feedback", &super::causes(&err).join(": "), ""),
    }
}

/// `check` in logical mode: the server's settings, the role, each pipeline's slot and
/// publication, and the replica identities.
pub(super) async fn check(
    report: &mut Report,
    config: &Config,
    postgres: &Postgres,
    pipelines: &[Declared],
) {
    if config.sync.capture != Capture::Logical {
        return;
    }
    let setup_hint = "run `pg2es setup` (with sync.capture: logical)";
    match postgres.logical_requirements().await {
        Ok(requirements) => {
            let missing = requirements.missing();
            match missing.is_empty() {
                true => report.pass(
                    "logical replication",
                    &format!(
                        "wal_level = logical, role {} may replicate",
                        requirements.role
                    ),
                ),
                false => report.fail(
                    "logical replication",
                    &missing.join("; "),
                    "or use sync.capture: triggers or polling",
                ),
            }
            if requirements.unbounded() {
                report.warn(
                    "slot disk guard",
                    "max_slot_wal_keep_size is unlimited",
                    KEEP_SIZE_HINT,
                );
            } else {
                report.pass(
                    "slot disk guard",
                    &format!(
                        "max_slot_wal_keep_size = {}",
                        requirements.max_slot_wal_keep_size
                    ),
                );
            }
        }
        Err(err) => report.fail("logical replication", &super::causes(&err).join(": "), ""),
    }
    let tables: Vec<Table> = pipelines.iter().flat_map(|p| p.tables.clone()).collect();
    match postgres.short_identities(&tables).await {
        Ok(short) if short.is_empty() => report.pass(
            "replica identities",
            "every followed table's deletes name the documents they touch",
        ),
        Ok(short) => {
            let detail: Vec<String> = short
                .iter()
                .map(|s| format!("{} lacks {}", s.relation, s.missing.join(", ")))
                .collect();
            report.fail("replica identities", &detail.join("; "), setup_hint)
        }
        Err(err) => report.fail(
            "replica identities",
            &super::causes(&err).join(": "),
            setup_hint,
        ),
    }
    for pipeline in pipelines {
        check_slot(report, postgres, pipeline, setup_hint).await;
        super::failover::check(report, postgres, &slot_of(pipeline)).await;
    }
}

/// A partitioned followed table whose changes the publication does not send through the
/// root (an error reading counts as none: the other lines report it).
async fn partitions_unpublished(
    postgres: &Postgres,
    tables: &[Table],
    slot: &Slot,
) -> Option<String> {
    let trees = postgres.partition_trees(tables).await.ok()?;
    let partitioned = trees
        .iter()
        .find(|(_, members)| members.iter().any(|m| m.is_partition()))?;
    match postgres.publishes_via_root(slot).await {
        Ok(false) => Some(partitioned.0.clone()),
        _ => None,
    }
}

async fn check_slot(report: &mut Report, postgres: &Postgres, pipeline: &Declared, hint: &str) {
    let slot = slot_of(pipeline);
    let what = format!("replication slot {}", slot.name);
    match postgres.publication_exists(&slot).await {
        Ok(true) => {}
        Ok(false) => return report.fail(&what, &format!("no publication {}", slot.name), hint),
        Err(err) => return report.fail(&what, &super::causes(&err).join(": "), ""),
    }
    if let Some(partitioned) = partitions_unpublished(postgres, &pipeline.tables, &slot).await {
        return report.fail(
            &what,
            &format!("publication {} sends the changes of the partitions of {partitioned} under the partitions' names, which the stream does not follow", slot.name),
            hint,
        );
    }
    match postgres.slot_state(&slot).await {
        Ok(None) => report.fail(&what, "missing", hint),
        Ok(Some(state)) if state.wal_status.as_deref() == Some("lost") => report.fail(
            &what,
            "invalidated by Postgres (wal_status = lost)",
            "start the worker: it makes a new slot and rebuilds the index behind the alias",
        ),
        Ok(Some(state)) => report.pass(
            &what,
            &format!(
                "wal_status {}, retains {} bytes of log, {} bytes not confirmed yet",
                state.wal_status.unwrap_or_default(),
                state.retained_bytes.unwrap_or(0),
                state.unconfirmed_bytes.unwrap_or(0)
            ),
        ),
        Err(err) => report.fail(&what, &super::causes(&err).join(": "), ""),
    }
}

/// The slot in `status --json` (`null` outside logical mode).
pub(super) async fn slot_report(
    config: &Config,
    postgres: &Postgres,
    pipeline: &Declared,
) -> Result<Value, AppError> {
    if config.sync.capture != Capture::Logical {
        return Ok(Value::Null);
    }
    let slot = slot_of(pipeline);
    let state = postgres.slot_state(&slot).await?;
    Ok(json!({"name": slot.name, "state": state}))
}

/// The slot in `status`.
pub(super) fn print_slot(slot: &Value) {
    if slot.is_null() {
        return;
    }
    let name = slot["name"].as_str().unwrap_or_default();
    let state = &slot["state"];
    if state.is_null() {
        println!("slot:       {name} missing (run `pg2es setup`)");
        return;
    }
    println!(
        "slot:       {name}  wal_status {}  retains {} bytes  {} bytes not confirmed  confirmed at {}",
        state["wal_status"].as_str().unwrap_or("?"),
        state["retained_bytes"],
        state["unconfirmed_bytes"],
        state["confirmed_flush_lsn"].as_str().unwrap_or("?")
    );
}

//! Whether logical capture's slot outlives a failover: `setup` makes it a failover slot on
//! Postgres 17+, and `check` says whether it is one and whether a standby keeps it.

use super::report::Report;
use super::AppError;
use crate::config::PostgresConfig;
use crate::extract::{enable_failover, Postgres, Slot, FIRST_WITH_FAILOVER};

const WHAT: &str = "kept across a failover";

/// What the primary and the standby need for the slot to outlive a promotion.
const STANDBY_HINT: &str = "on the primary set synchronized_standby_slots to the standby's physical slot; on the standby set sync_replication_slots = on, hot_standby_feedback = on, primary_slot_name to that slot and dbname in primary_conninfo (README, \"Failover\")";

/// `setup`: a slot made before (by Postgres 16, or an earlier release of pg2es) on a server
/// that keeps failover slots gets `failover` turned on (`ALTER_REPLICATION_SLOT`); a server
/// older than 17 is said to keep none.
pub(super) async fn setup(
    postgres: &Postgres,
    config: &PostgresConfig,
    slot: &Slot,
) -> Result<(), AppError> {
    if postgres.is_standby().await? {
        // The slot is the hot standby's own: Postgres makes no failover slot there.
        return Ok(());
    }
    let version = postgres.server_version_num().await?;
    if version < FIRST_WITH_FAILOVER {
        println!("⚠ replication slot {}: PostgreSQL before 17 keeps no slot across a failover; a promoted standby means a new slot and a rebuild behind the alias", slot.name);
        return Ok(());
    }
    let Some(found) = postgres.failover_slot(slot).await? else {
        return Ok(());
    };
    if found.failover {
        println!("✓ replication slot {} is a failover slot", slot.name);
        return Ok(());
    }
    match enable_failover(config, slot).await {
        Ok(()) => println!(
            "✓ replication slot {}: failover turned on (a standby that synchronizes slots keeps it)",
            slot.name
        ),
        Err(err) => println!(
            "⚠ replication slot {} is not a failover slot, and turning failover on failed ({}): stop the worker that reads it and run `pg2es setup` again",
            slot.name,
            super::causes(&err).join(": ")
        ),
    }
    Ok(())
}

/// `check`: the slot is a failover slot, and a standby the primary waits for reads its
/// physical slot now; on Postgres before 17, that a failover means a rebuild.
pub(super) async fn check(report: &mut Report, postgres: &Postgres, slot: &Slot) {
    let what = format!("replication slot {} {WHAT}", slot.name);
    let version = match postgres.server_version_num().await {
        Ok(version) => version,
        Err(err) => return report.fail(&what, &super::causes(&err).join(": "), ""),
    };
    if postgres.is_standby().await.unwrap_or(false) {
        return report.warn(
            &what,
            "no: the slot is the hot standby's own (Postgres makes no failover slot on a standby), so a promotion means a new slot and a rebuild behind the alias",
            "read the slot on the primary with a standby that synchronizes slots to keep it across a failover (README, \"Failover\")",
        );
    }
    if version < FIRST_WITH_FAILOVER {
        return report.warn(
            &what,
            "no: PostgreSQL before 17 keeps no slot across a failover, so a promoted standby means a new slot and a rebuild behind the alias",
            "PostgreSQL 17+ with a standby that synchronizes slots keeps it (README, \"Failover\")",
        );
    }
    let found = match postgres.failover_slot(slot).await {
        Ok(Some(found)) => found,
        Ok(None) => return,
        Err(err) => return report.fail(&what, &super::causes(&err).join(": "), ""),
    };
    if !found.failover {
        return report.warn(
            &what,
            "no: not a failover slot, so a promoted standby would not have it (a rebuild)",
            "stop the worker and run `pg2es setup`: it turns failover on",
        );
    }
    check_standbys(report, postgres, &what).await;
}

/// The standbys the primary waits for (`synchronized_standby_slots`) read their slots now,
/// and one of them is synchronous.
async fn check_standbys(report: &mut Report, postgres: &Postgres, what: &str) {
    let sync = match postgres.standby_sync().await {
        Ok(sync) => sync,
        Err(err) => return report.fail(what, &super::causes(&err).join(": "), ""),
    };
    if sync.standby_slots.is_empty() {
        return report.warn(
            what,
            "a failover slot, but synchronized_standby_slots names no standby: a promoted standby may lack the slot or changes the index holds (a rebuild)",
            STANDBY_HINT,
        );
    }
    let idle: Vec<&String> = sync
        .standby_slots
        .iter()
        .filter(|name| !sync.active.contains(name))
        .collect();
    if !idle.is_empty() {
        let names: Vec<&str> = idle.iter().map(|name| name.as_str()).collect();
        return report.fail(
            what,
            &format!("synchronized_standby_slots names {}, which no standby reads now: logical changes wait for it, so the stream stalls", names.join(", ")),
            "start the standby, or take its slot out of synchronized_standby_slots",
        );
    }
    report.pass(
        what,
        &format!(
            "a failover slot; the primary waits for the standby of {} (which must have sync_replication_slots = on)",
            sync.standby_slots.join(", ")
        ),
    );
    if !sync.synchronous {
        report.warn(
            "standby synchronous",
            "no (synchronous_standby_names is empty): documents read from rows just before a failover may hold commits the standby never received",
            "name the standby in synchronous_standby_names for a promotion that keeps the slot to keep the index exact",
        );
    }
}

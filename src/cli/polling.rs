//! The polling checks of `pg2es check` and `pg2es status`: whether the late-commit guard sees
//! every session, and which session, if any, holds polling back.

use serde_json::{json, Value};

use super::report::{chain, Report};
use crate::config::{Config, PollingGuard};
use crate::extract::{Postgres, Table};
use crate::pipeline::{grant_for, guarded};

const HELD_BACK_HINT: &str = "end that session (SELECT pg_terminate_backend(PID)), or let Postgres end such sessions (ALTER DATABASE … SET idle_in_transaction_session_timeout = '5min'); sync.capture: triggers has no such guard";

pub(super) async fn check_guard(
    report: &mut Report,
    config: &Config,
    postgres: &Postgres,
    tables: &[Table],
) {
    let what = "polling late-commit guard";
    if config.sync.polling_guard == PollingGuard::Off {
        return report.pass(
            what,
            "off (sync.polling_guard: off): a late commit may be skipped",
        );
    }
    if !guarded(tables) {
        return report.pass(what, "no table polled by a timestamp: nothing to guard");
    }
    match postgres.sees_all_sessions().await {
        Ok((true, role)) => report.pass(what, &format!("role {role} sees every session")),
        Ok((false, role)) => report.fail(
            what,
            &format!("role {role} cannot see other roles' transactions (no pg_read_all_stats): a late commit could be skipped"),
            &format!("{} (or set sync.polling_guard: off to accept the risk)", grant_for(&role)),
        ),
        Err(err) => report.fail(what, &chain(&err), ""),
    }
}

pub(super) async fn check_horizon(report: &mut Report, config: &Config, postgres: &Postgres) {
    let what = "polling horizon";
    let after = config.sync.held_back_after;
    match postgres.horizon().await {
        Ok(horizon) => match horizon.held_back(after) {
            None => report.pass(
                what,
                &format!(
                    "no transaction open longer than {}",
                    humantime::format_duration(after)
                ),
            ),
            Some(open) => report.fail(
                what,
                &format!(
                    "held back {}s by {open}: nothing committed after it began is indexed until it ends",
                    horizon.age().as_secs()
                ),
                &HELD_BACK_HINT.replace("PID", &open.pid.to_string()),
            ),
        },
        Err(err) => report.fail(what, &chain(&err), ""),
    }
}

/// `status`: the oldest open transaction, how long it has held polling back, and whether that
/// is longer than `sync.held_back_after`.
pub(super) async fn horizon_report(
    config: &Config,
    postgres: &Postgres,
) -> Result<Value, crate::extract::PgError> {
    let horizon = postgres.horizon().await?;
    let held_back = horizon.held_back(config.sync.held_back_after).is_some();
    Ok(json!({
        "guard": config.sync.polling_guard,
        "age_seconds": horizon.age().as_secs(),
        "held_back": held_back,
        "oldest_transaction": horizon.oldest,
    }))
}

/// The `status` line of the horizon.
pub(super) fn horizon_line(report: &Value) -> String {
    let open = &report["oldest_transaction"];
    if report["held_back"] != Value::Bool(true) {
        return "no transaction holds polling back".to_owned();
    }
    format!(
        "held back {}s by pid {} (application {}, client {}, {}): {}",
        report["age_seconds"],
        open["pid"],
        open["application_name"],
        open["client_addr"].as_str().unwrap_or("local socket"),
        open["state"].as_str().unwrap_or("state unknown"),
        HELD_BACK_HINT.replace("PID", &open["pid"].to_string())
    )
}

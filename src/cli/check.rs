//! `pg2es check`: one line per check with ✓/✗ and, under each ✗, a hint; non-zero exit when
//! anything is wrong. Nothing printed here holds a secret.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::report::{chain, finish, Report};
use super::{pipelines, AppError};
use crate::config::{redact_url, Capture, Config};
use crate::declaration::{Declared, IndexConfig};
use crate::extract::{Postgres, Table, VersionError};
use crate::load::privileges::{Privileges, INDEX_PRIVILEGES};
use crate::load::{limits_in, mapping, Elastic};
use crate::retry::RetryPolicy;

/// `check` is a diagnostic: one attempt at everything, with short timeouts, so that it answers
/// within seconds and says what is wrong instead of retrying like the worker.
const ONCE: RetryPolicy = RetryPolicy {
    initial_delay: Duration::from_millis(100),
    max_delay: Duration::from_millis(100),
    max_attempts: 1,
};
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn run(config_path: &Path, config: &Config) -> Result<ExitCode, AppError> {
    let mut report = Report::default();
    report.pass("config", &config_path.display().to_string());
    let mut config = config.clone();
    config.postgres.connect_timeout = config.postgres.connect_timeout.min(CONNECT_TIMEOUT);
    config.elasticsearch.timeout = config.elasticsearch.timeout.min(REQUEST_TIMEOUT);
    let config = &config;
    let postgres = pipelines::postgres(config, ONCE)?;
    let reachable = check_postgres(&mut report, config, &postgres).await;
    let compiled = match reachable {
        true => check_pipelines(&mut report, config, &postgres).await,
        false => Vec::new(),
    };
    if !compiled.is_empty() {
        let tables: Vec<Table> = compiled.iter().flat_map(|p| p.tables.clone()).collect();
        check_postgres_privileges(&mut report, config, &postgres, &tables).await;
        check_capture(&mut report, config, &postgres, &tables).await;
        if config.sync.capture == Capture::Polling {
            super::polling::check_guard(&mut report, config, &postgres, &tables).await;
            super::polling::check_horizon(&mut report, config, &postgres).await;
        }
        super::logical::check(&mut report, config, &postgres, &compiled).await;
    }
    for (number, pipeline) in compiled.iter().enumerate() {
        let elastic = pipelines::elastic(config, ONCE, pipeline)?;
        if number == 0 && !check_elasticsearch(&mut report, config, &elastic).await {
            break;
        }
        check_index_privileges(&mut report, pipeline, &elastic).await;
        check_index(&mut report, pipeline, &elastic).await;
        check_alias(&mut report, config, pipeline, &elastic).await;
        check_dead_letters(&mut report, config, pipeline);
    }
    Ok(finish(report))
}

async fn check_postgres(report: &mut Report, config: &Config, postgres: &Postgres) -> bool {
    let pg_url = redact_url(config.postgres.url.expose());
    match postgres.supported_version().await {
        Ok(version) => {
            report.pass(
                "postgres reachable",
                &format!("{pg_url}, PostgreSQL {}", version.name),
            );
            check_primary(report, config, postgres, version.number).await;
            true
        }
        Err(err @ VersionError::TooOld { .. }) => {
            report.fail(
                "postgres version",
                &chain(&err),
                "upgrade Postgres to 13 or newer",
            );
            false
        }
        Err(err) => {
            report.fail(
                "postgres reachable",
                &format!("{pg_url}: {}", chain(&err)),
                "check postgres.url (host, port, user, password, ?sslmode=) and postgres.ca_cert",
            );
            false
        }
    }
}

/// A hot standby: logical capture reads a slot there from 16 on; the other modes cannot follow
/// it exactly, said with the reason.
async fn check_primary(report: &mut Report, config: &Config, postgres: &Postgres, version: i32) {
    let what = "postgres is the primary";
    match postgres.is_standby().await {
        Ok(false) => report.pass(what, "not in recovery"),
        Ok(true) => match crate::pipeline::on_a_standby(config.sync.capture, version) {
            Some(reason) => report.fail(
                what,
                "it is a hot standby (pg_is_in_recovery() is true)",
                reason,
            ),
            None => super::logical::check_standby(report, config, postgres).await,
        },
        Err(err) => report.fail(what, &chain(&err), ""),
    }
}

/// Every declaration read, then checked against the database: the pipelines that can run.
async fn check_pipelines(
    report: &mut Report,
    config: &Config,
    postgres: &Postgres,
) -> Vec<Declared> {
    let declarations = match pipelines::declarations(config) {
        Ok(declarations) => declarations,
        Err(err) => {
            report.fail(
                "pipeline declarations",
                &chain(&err),
                "see \"Index your own schema\" in the README",
            );
            return Vec::new();
        }
    };
    let mut compiled = Vec::new();
    for declaration in declarations {
        let what = format!("pipeline {}", declaration.name);
        match Declared::connect(&declaration, postgres.pool()).await {
            Ok(declared) => {
                // The same check as at start-up: every query the pipeline runs, on no rows.
                match crate::pipeline::check_schema(&declared, postgres).await {
                    Ok(()) => report.pass(
                        &what,
                        &format!(
                            "{} → alias {}: every table and column there",
                            declaration.path.display(),
                            declared.alias
                        ),
                    ),
                    Err(err) => report.fail(
                        &what,
                        &chain(&err),
                        "a query of the pipeline fails on no rows",
                    ),
                }
                compiled.push(declared);
            }
            Err(err) => report.fail(
                &what,
                &chain(&err),
                "fix the declaration or the database (db/schema.sql for the movies catalogue)",
            ),
        }
    }
    compiled
}

async fn check_postgres_privileges(
    report: &mut Report,
    config: &Config,
    postgres: &Postgres,
    tables: &[Table],
) {
    let mut wanted: Vec<(&str, &str)> = tables
        .iter()
        .map(|table| (table.relation.as_str(), "SELECT"))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let count = wanted.len();
    if config.sync.capture == Capture::Triggers {
        wanted.push(("pg2es.changes", "SELECT, DELETE"));
        wanted.push(("pg2es.consumers", "SELECT, INSERT, UPDATE"));
    }
    match postgres.missing_privileges(&wanted).await {
        Ok(missing) if missing.is_empty() => report.pass(
            "postgres privileges",
            &format!("SELECT on the {count} tables"),
        ),
        Ok(missing) => report.fail(
            "postgres privileges",
            &format!("missing on {}", missing.join(", ")),
            "GRANT SELECT ON <table> TO <the role of postgres.url> (and SELECT, DELETE on pg2es.changes, SELECT, INSERT, UPDATE on pg2es.consumers in exact mode)",
        ),
        Err(err) => report.fail("postgres privileges", &chain(&err), ""),
    }
}

async fn check_capture(
    report: &mut Report,
    config: &Config,
    postgres: &Postgres,
    tables: &[Table],
) {
    let hint = "run `pg2es setup` for exact capture, or set sync.capture: polling";
    match postgres.capture_missing(tables).await {
        Ok(missing) if missing.is_empty() => {
            report.pass("change capture installed", "triggers on every table")
        }
        Ok(missing) => {
            let detail = format!("not installed on {}", missing.join(", "));
            match config.sync.capture {
                Capture::Polling | Capture::Logical => report.pass(
                    "change capture",
                    &format!(
                        "{detail} (not needed in {} mode)",
                        format!("{:?}", config.sync.capture).to_lowercase()
                    ),
                ),
                Capture::Triggers => report.fail("change capture", &detail, hint),
            }
        }
        Err(err) => report.fail("change capture", &chain(&err), hint),
    }
    if config.sync.capture == Capture::Triggers {
        check_triggers_fire(report, postgres, tables).await;
    }
}

/// A capture trigger disabled (or not fired for replicated writes) misses changes silently.
async fn check_triggers_fire(report: &mut Report, postgres: &Postgres, tables: &[Table]) {
    let what = "change capture triggers fire for every write";
    match postgres.capture_unfired(tables).await {
        Ok(unfired) if unfired.is_empty() => report.pass(what, "enabled ALWAYS"),
        Ok(unfired) => report.fail(
            what,
            &unfired.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            "run `pg2es setup` (it enables them ALWAYS, also for session_replication_role = replica); then `pg2es verify --repair` for the writes they missed",
        ),
        Err(err) => report.fail(what, &chain(&err), ""),
    }
}

async fn check_elasticsearch(report: &mut Report, config: &Config, elastic: &Elastic) -> bool {
    let nodes = config.elasticsearch.describe();
    let reachable = elastic.ping().await;
    match &reachable {
        Ok(()) => report.pass("elasticsearch reachable", &nodes),
        Err(err) => report.fail(
            "elasticsearch reachable",
            &format!("{nodes}: {}", chain(err)),
            "check elasticsearch.url or cloud_id, the credentials (username/password or api_key), and ca_cert for https (see Troubleshooting in the README)",
        ),
    }
    reachable.is_ok()
}

async fn check_index_privileges(report: &mut Report, pipeline: &Declared, elastic: &Elastic) {
    let alias = &pipeline.alias;
    let wanted = INDEX_PRIVILEGES.join(", ");
    match elastic.missing_privileges().await {
        Ok(Privileges::Unchecked) => report.pass(
            "elasticsearch privileges",
            "security off (no security API): nothing to check",
        ),
        Ok(Privileges::Missing(missing)) if missing.is_empty() => {
            report.pass("elasticsearch privileges", &format!("{wanted} on {alias}"))
        }
        Ok(Privileges::Missing(missing)) => report.fail(
            "elasticsearch privileges",
            &format!("missing {} on {alias}", missing.join(", ")),
            &format!("give the user a role with index privileges {wanted} on {alias}"),
        ),
        Err(err) => report.fail("elasticsearch privileges", &chain(&err), ""),
    }
}

async fn check_index(report: &mut Report, pipeline: &Declared, elastic: &Elastic) {
    let wanted = match pipeline.index_config.read() {
        Ok(wanted) => wanted,
        Err(err) => {
            let hint =
                "the declaration's index.config must be a JSON object with settings and mappings";
            return report.fail("index config", &chain(&err), hint);
        }
    };
    report.pass("index config", &pipeline.index_config.describe());
    if let IndexConfig::Derived(config) = &pipeline.index_config {
        let text = serde_json::to_string_pretty(config).unwrap_or_default();
        println!(
            "    derived index config (save it as a file and name it in index.config to tune it):"
        );
        for line in text.lines() {
            println!("    {line}");
        }
    }
    let name = &pipeline.alias;
    match elastic.mapping().await {
        Ok(None) => report.fail(
            "index mapping",
            &format!("index {name} does not exist"),
            "`pg2es run` creates it from the declaration's index config",
        ),
        Ok(Some(live)) => {
            let differences = mapping::differences(&wanted["mappings"], &live);
            match differences.is_empty() {
                true => report.pass("index mapping matches the index config", ""),
                false => report.fail(
                    "index mapping matches the index config",
                    &differences.join("\n    "),
                    "re-create the index (delete it, `pg2es run --reset-state`) or align index.config with it",
                ),
            }
        }
        Err(err) => report.fail("index mapping", &chain(&err), ""),
    }
}

/// The alias on the index pg2es left it on: not moved by hand, not a foreign index.
async fn check_alias(report: &mut Report, config: &Config, pipeline: &Declared, elastic: &Elastic) {
    let state = super::load_state(config, pipeline)
        .unwrap_or_else(|_| crate::state::State::new(&pipeline.name, &pipeline.alias));
    let what = format!("alias {}", pipeline.alias);
    if let Some(noted) = &state.foreign_writes {
        match noted.repaired_at {
            Some(_) => report.pass("writes by others", &foreign_writes_text(noted)),
            None => report.fail(
                "writes by others",
                &foreign_writes_text(noted),
                "the worker compares every document with Postgres and writes again what differs; `pg2es verify --repair` does the same by hand",
            ),
        }
    }
    match crate::pipeline::alias_trouble(elastic, &state).await {
        Ok(None) => report.pass(&what, "on the index pg2es built and left it on"),
        Ok(Some(trouble)) => report.fail(
            &what,
            &trouble,
            "searches read an index pg2es does not vouch for; `pg2es run` rebuilds behind the alias",
        ),
        Err(err) => report.fail(&what, &chain(&err), ""),
    }
}

/// The state file's note of writes into the index that pg2es did not make.
pub(super) fn foreign_writes_text(noted: &crate::state::ForeignWrites) -> String {
    let noticed = format!(
        "{} operation(s) in the index that pg2es did not send, noticed at {}",
        noted.operations,
        noted.noticed_at.to_rfc3339()
    );
    match noted.repaired_at {
        Some(at) => format!(
            "{noticed}; repaired at {}: {} document(s) written again",
            at.to_rfc3339(),
            noted.written_again
        ),
        None => format!("{noticed}; not repaired yet"),
    }
}

/// Documents the index refused are missing from it: say how many, and which limit they broke.
fn check_dead_letters(report: &mut Report, config: &Config, pipeline: &Declared) {
    let what = format!("dead letters of {}", pipeline.name);
    let path = config.dead_letter_path(&pipeline.name);
    let limits = match limits_in(&path) {
        Ok(limits) => limits,
        Err(err) => return report.fail(&what, &format!("{}: {err}", path.display()), ""),
    };
    let total: u64 = limits.values().sum();
    if total == 0 {
        return report.pass(&what, "none");
    }
    let mut hints = Vec::new();
    for (limit, count) in &limits {
        match limit {
            Some(limit) if limit.starts_with("index.") => hints.push(format!(
                "{count} broke {limit}: raise it under settings in {}",
                pipeline.index_config.describe()
            )),
            Some(limit) => hints.push(format!("{count} broke {limit}")),
            None => hints.push(format!("{count} refused for another reason (see the file)")),
        }
    }
    report.fail(
        &what,
        &format!("{total} documents refused, in {}", path.display()),
        &format!("{}; then `pg2es dead-letter replay`", hints.join("; ")),
    );
}

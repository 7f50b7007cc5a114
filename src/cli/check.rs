//! `pg2es check`: one line per check with ✓/✗ and, under each ✗, a hint; non-zero exit when
//! anything is wrong. Nothing printed here holds a secret.

use std::path::Path;
use std::process::ExitCode;

use super::status::QUICK_RETRY;
use super::{connect, AppError};
use crate::config::{redact_url, Capture, Config};
use crate::extract::Postgres;
use crate::load::privileges::{Privileges, INDEX_PRIVILEGES};
use crate::load::{mapping, read_index_config, Elastic};
use crate::movies::Movies;
use crate::pipeline::Pipeline;

struct Report {
    failed: usize,
}

impl Report {
    fn pass(&mut self, what: &str, detail: &str) {
        match detail.is_empty() {
            true => println!("✓ {what}"),
            false => println!("✓ {what}: {detail}"),
        }
    }

    fn fail(&mut self, what: &str, detail: &str, hint: &str) {
        self.failed += 1;
        println!("✗ {what}: {detail}");
        if !hint.is_empty() {
            println!("    hint: {hint}");
        }
    }
}

pub(super) async fn run(config_path: &Path, config: &Config) -> Result<ExitCode, AppError> {
    let mut report = Report { failed: 0 };
    report.pass("config", &config_path.display().to_string());
    let (postgres, elastic) = connect(config, QUICK_RETRY)?;
    check_postgres(&mut report, config, &postgres).await;
    check_elasticsearch(&mut report, config, &elastic).await;
    check_index(&mut report, config, &elastic).await;
    Ok(finish(report))
}

async fn check_postgres(report: &mut Report, config: &Config, postgres: &Postgres) {
    let pg_url = redact_url(config.postgres.url.expose());
    match postgres.ping().await {
        Ok(()) => report.pass("postgres reachable", &pg_url),
        Err(err) => report.fail(
            "postgres reachable",
            &format!("{pg_url}: {}", chain(&err)),
            "check postgres.url (host, port, user, password, ?sslmode=) and postgres.ca_cert",
        ),
    }
    let pipeline = Movies;
    match pipeline.build(postgres.pool(), &[]).await {
        Ok(_) => report.pass("postgres schema", "the movies queries run"),
        Err(err) => report.fail(
            "postgres schema",
            &chain(&err),
            "the content schema must exist (db/schema.sql) in the database of postgres.url",
        ),
    }
    for table in pipeline.tables() {
        if let Err(err) = postgres.latest(table).await {
            let what = format!("postgres table {}", table.relation);
            report.fail(&what, &chain(&err), "see db/schema.sql and db/indexes.sql");
        }
    }
    check_postgres_privileges(report, config, postgres).await;
    check_capture(report, config, postgres).await;
}

async fn check_postgres_privileges(report: &mut Report, config: &Config, postgres: &Postgres) {
    let mut wanted: Vec<(&str, &str)> = Movies
        .tables()
        .iter()
        .map(|table| (table.relation, "SELECT"))
        .collect();
    if config.sync.capture == Capture::Triggers {
        wanted.push(("pg2es.changes", "SELECT, DELETE"));
    }
    match postgres.missing_privileges(&wanted).await {
        Ok(missing) if missing.is_empty() => report.pass(
            "postgres privileges",
            &format!("SELECT on the {} tables", Movies.tables().len()),
        ),
        Ok(missing) => report.fail(
            "postgres privileges",
            &format!("missing on {}", missing.join(", ")),
            "GRANT SELECT ON <table> TO <the role of postgres.url> (and SELECT, DELETE on pg2es.changes in exact mode)",
        ),
        Err(err) => report.fail("postgres privileges", &chain(&err), ""),
    }
}

async fn check_capture(report: &mut Report, config: &Config, postgres: &Postgres) {
    let hint = "run `pg2es setup` for exact capture, or set sync.capture: polling";
    match postgres.capture_missing(Movies.tables()).await {
        Ok(missing) if missing.is_empty() => {
            report.pass("change capture installed", "triggers on every table")
        }
        Ok(missing) => {
            let detail = format!("not installed on {}", missing.join(", "));
            match config.sync.capture {
                Capture::Polling => report.pass(
                    "change capture",
                    &format!(
                        "{detail} (polling mode: not needed; `pg2es setup` for exact capture)"
                    ),
                ),
                Capture::Triggers => report.fail("change capture", &detail, hint),
            }
        }
        Err(err) => report.fail("change capture", &chain(&err), hint),
    }
}

async fn check_elasticsearch(report: &mut Report, config: &Config, elastic: &Elastic) {
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
    if reachable.is_err() {
        return;
    }
    let wanted = INDEX_PRIVILEGES.join(", ");
    match elastic.missing_privileges().await {
        Ok(Privileges::Unchecked) => report.pass(
            "elasticsearch privileges",
            "security off (no security API): nothing to check",
        ),
        Ok(Privileges::Missing(missing)) if missing.is_empty() => report.pass(
            "elasticsearch privileges",
            &format!("{wanted} on {}", config.index.name),
        ),
        Ok(Privileges::Missing(missing)) => report.fail(
            "elasticsearch privileges",
            &format!("missing {} on {}", missing.join(", "), config.index.name),
            &format!(
                "give the user a role with index privileges {wanted} on {}",
                config.index.name
            ),
        ),
        Err(err) => report.fail("elasticsearch privileges", &chain(&err), ""),
    }
}

async fn check_index(report: &mut Report, config: &Config, elastic: &Elastic) {
    let wanted = match read_index_config(&config.index.config) {
        Ok(wanted) => wanted,
        Err(err) => {
            let hint = "index.config must be a JSON object with settings and mappings";
            return report.fail("index config", &chain(&err), hint);
        }
    };
    report.pass("index config", &config.index.config.display().to_string());
    let name = &config.index.name;
    match elastic.mapping().await {
        Ok(None) => report.fail(
            "index mapping",
            &format!("index {name} does not exist"),
            "`pg2es run` creates it from index.config",
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

fn finish(report: Report) -> ExitCode {
    match report.failed {
        0 => ExitCode::SUCCESS,
        failed => {
            println!("{failed} check(s) failed");
            ExitCode::FAILURE
        }
    }
}

fn chain(err: &dyn std::error::Error) -> String {
    super::causes(err).join(": ")
}

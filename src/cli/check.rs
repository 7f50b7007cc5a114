//! `pg2es check`: one line per check with ✓/✗, non-zero exit when anything is wrong.

use std::path::Path;
use std::process::ExitCode;

use super::status::QUICK_RETRY;
use super::{connect, AppError};
use crate::config::{redact_url, Capture, Config};
use crate::load::{mapping, read_index_config};
use crate::movies::Movies;
use crate::pipeline::Pipeline;

struct Report {
    failed: usize,
}

impl Report {
    fn line(&mut self, ok: bool, what: &str, detail: &str) {
        if !ok {
            self.failed += 1;
        }
        let mark = if ok { "✓" } else { "✗" };
        match detail.is_empty() {
            true => println!("{mark} {what}"),
            false => println!("{mark} {what}: {detail}"),
        }
    }
}

pub(super) async fn run(config_path: &Path, config: &Config) -> Result<ExitCode, AppError> {
    let mut report = Report { failed: 0 };
    report.line(true, "config", &config_path.display().to_string());
    let (postgres, elastic) = connect(config, QUICK_RETRY)?;
    let pg_url = redact_url(config.postgres.url.expose());
    match postgres.ping().await {
        Ok(()) => report.line(true, "postgres reachable", &pg_url),
        Err(err) => report.line(
            false,
            "postgres reachable",
            &format!("{pg_url}: {}", chain(&err)),
        ),
    }
    let pipeline = Movies;
    match pipeline.build(postgres.pool(), &[]).await {
        Ok(_) => report.line(true, "postgres schema", "the movies queries run"),
        Err(err) => report.line(false, "postgres schema", &chain(&err)),
    }
    for table in pipeline.tables() {
        if let Err(err) = postgres.latest(table).await {
            report.line(
                false,
                &format!("postgres table {}", table.relation),
                &chain(&err),
            );
        }
    }
    match postgres.capture_missing(pipeline.tables()).await {
        Ok(missing) if missing.is_empty() => {
            report.line(true, "change capture installed", "triggers on every table")
        }
        Ok(missing) => report.line(
            config.sync.capture == Capture::Polling,
            "change capture",
            &format!(
                "not installed on {} (run `pg2es setup` for exact capture)",
                missing.join(", ")
            ),
        ),
        Err(err) => report.line(false, "change capture", &chain(&err)),
    }
    let es_url = redact_url(&config.elasticsearch.url);
    match elastic.ping().await {
        Ok(()) => report.line(true, "elasticsearch reachable", &es_url),
        Err(err) => report.line(
            false,
            "elasticsearch reachable",
            &format!("{es_url}: {}", chain(&err)),
        ),
    }
    let wanted = match read_index_config(&config.index.config) {
        Ok(wanted) => wanted,
        Err(err) => {
            report.line(false, "index config", &chain(&err));
            return Ok(finish(report));
        }
    };
    report.line(
        true,
        "index config",
        &config.index.config.display().to_string(),
    );
    match elastic.mapping().await {
        Ok(None) => report.line(
            false,
            "index mapping",
            &format!(
                "index {} does not exist (pg2es run creates it)",
                config.index.name
            ),
        ),
        Ok(Some(live)) => {
            let differences = mapping::differences(&wanted["mappings"], &live);
            let detail = differences.join("\n    ");
            report.line(
                differences.is_empty(),
                "index mapping matches the index config",
                &detail,
            );
        }
        Err(err) => report.line(false, "index mapping", &chain(&err)),
    }
    Ok(finish(report))
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

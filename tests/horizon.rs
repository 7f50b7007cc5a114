//! The late-commit guard of polling said out loud: the session that holds polling back is
//! named, and a role that cannot see other roles' transactions (so a late commit could be
//! skipped) is refused unless the guard is turned off deliberately.

use std::process::Command;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::support::{unique_name, SearchIndex, TestDb, Worker};

const FIRST_FILM: &str = "(SELECT id FROM content.film_work ORDER BY id LIMIT 1)";
const LAST_FILM: &str = "(SELECT id FROM content.film_work ORDER BY id DESC LIMIT 1)";

/// A connection of its own, named like the application a DBA would look for.
async fn session(db: &TestDb, application: &str) -> PgConnection {
    let options: PgConnectOptions = db.url.parse().unwrap();
    PgConnection::connect_with(&options.application_name(application))
        .await
        .unwrap()
}

fn status_json(worker: &Worker) -> serde_json::Value {
    let output = worker.output(&["status", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn a_session_idle_in_transaction_holding_polling_back_is_named() {
    let name = unique_name("horizon_idle_session");
    let db = TestDb::with_dataset(&name).await;
    let _index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__HELD_BACK_AFTER", "0s");
    assert_eq!(worker.sync_once().0, 999);

    // An ETL whose driver never commits: a transaction begun, then left idle.
    let mut etl = session(&db, "nightly_etl").await;
    sqlx::query("BEGIN").execute(&mut etl).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut etl)
        .await
        .unwrap();
    db.execute(&format!(
        "UPDATE content.film_work SET title = 'Held Back', updated_at = now() WHERE id = {FIRST_FILM}"
    ))
    .await;

    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed, 0, "the guard holds the change back");
    let warning = log
        .lines()
        .find(|line| line.contains("polling held back by an open transaction"))
        .unwrap_or_else(|| panic!("no warning in {log}"));
    assert!(warning.contains(&format!("pid={pid}")), "{warning}");
    assert!(warning.contains("nightly_etl"), "{warning}");
    assert!(warning.contains("idle in transaction"), "{warning}");

    let status = status_json(&worker);
    let horizon = &status["polling_horizon"];
    assert_eq!(horizon["held_back"], true, "{status}");
    assert_eq!(horizon["oldest_transaction"]["pid"], pid, "{status}");
    assert_eq!(
        horizon["oldest_transaction"]["application_name"],
        "nightly_etl"
    );
    let text = String::from_utf8_lossy(&worker.output(&["status"]).stdout).into_owned();
    assert!(
        text.contains("held back") && text.contains(&format!("pid {pid}")),
        "{text}"
    );

    let check = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ polling horizon: held back"), "{stdout}");
    assert!(
        stdout.contains(&format!("pid {pid} (application \"nightly_etl\"")),
        "{stdout}"
    );

    // The session ends its transaction: polling goes on.
    sqlx::query("ROLLBACK").execute(&mut etl).await.unwrap();
    assert_eq!(worker.sync_once().0, 1);
    assert_eq!(status_json(&worker)["polling_horizon"]["held_back"], false);
}

/// A login role with `SELECT` on the catalogue and nothing else (the usual production role);
/// dropped after the database that holds its grants (declare it first).
struct ReadOnlyRole {
    name: String,
}

impl ReadOnlyRole {
    async fn create(name: &str) -> Self {
        let role = Self {
            name: format!("{name}_reader"),
        };
        role.admin(&format!("CREATE ROLE {} LOGIN", role.name));
        role
    }

    async fn grant_select(&self, db: &TestDb) {
        db.execute(&format!(
            "GRANT USAGE ON SCHEMA content TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA content TO {role};",
            role = self.name
        ))
        .await;
    }

    /// `postgres.url` of `db` as this role.
    fn url(&self, db: &TestDb) -> String {
        db.url
            .replacen("://postgres@", &format!("://{}@", self.name), 1)
    }

    fn admin(&self, sql: &str) {
        let admin = std::env::var("PG2ES_TEST_POSTGRES_URL").unwrap();
        let output = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &admin, "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for ReadOnlyRole {
    fn drop(&mut self) {
        let admin = std::env::var("PG2ES_TEST_POSTGRES_URL").unwrap_or_default();
        let _ = Command::new("psql")
            .args(["-X", "-q", "-d", &admin, "-c"])
            .arg(format!("DROP ROLE IF EXISTS {}", self.name))
            .output();
    }
}

/// A film updated in a transaction of another role that commits after a committed change was
/// polled; returns whether it reached the index.
async fn late_commit_reaches_the_index(
    db: &TestDb,
    index: &SearchIndex,
    worker: &Worker,
    title: &str,
) -> bool {
    let mut late = db.pool.begin().await.unwrap();
    sqlx::query(&format!(
        "UPDATE content.film_work SET title = '{title}', updated_at = now() WHERE id = {FIRST_FILM}"
    ))
    .execute(&mut *late)
    .await
    .unwrap();
    db.execute(&format!(
        "UPDATE content.film_work SET title = '{title} (first)', updated_at = now() WHERE id = {LAST_FILM}"
    ))
    .await;
    worker.sync_once();
    late.commit().await.unwrap();
    worker.sync_once();
    index.matching_ids("title.raw", title).await.len() == 1
}

#[tokio::test]
async fn a_role_without_pg_read_all_stats_loses_late_commits_and_is_refused_until_granted() {
    let name = unique_name("horizon_blind_role");
    let role = ReadOnlyRole::create(&name).await;
    let db = TestDb::with_dataset(&name).await;
    role.grant_select(&db).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__POSTGRES__URL", &role.url(&db));

    let grant = format!("GRANT pg_read_all_stats TO {};", role.name);
    let check = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ polling late-commit guard"), "{stdout}");
    assert!(stdout.contains(&grant), "{stdout}");
    let refused = worker.output(&["sync", "--once"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains(&grant));

    // Acknowledged: the guard is blind, and a late commit by another role is lost.
    worker.set("PG2ES__SYNC__POLLING_GUARD", "off");
    assert_eq!(worker.sync_once().0, 999);
    assert!(!late_commit_reaches_the_index(&db, &index, &worker, "Lost Without Grant").await);

    // Granted: the guard sees the other role's transaction and waits for it.
    role.admin(&grant);
    worker.unset("PG2ES__SYNC__POLLING_GUARD");
    let stdout = String::from_utf8_lossy(&worker.output(&["check"]).stdout).into_owned();
    assert!(stdout.contains("✓ polling late-commit guard"), "{stdout}");
    assert!(late_commit_reaches_the_index(&db, &index, &worker, "Kept With Grant").await);
}

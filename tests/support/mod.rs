//! Shared helpers for the integration suite: real Postgres and Elasticsearch/OpenSearch from
//! `make up` (`target/stack.env`), one database and one index per test, the real binary.

pub mod disk;
pub mod fixture;
pub mod monitor;
pub mod pg_cluster;
pub mod process;
pub mod proxy;
pub mod refusal;
pub mod search;
pub mod search_node;
pub mod secure;
pub mod worker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

pub use monitor::SearchMonitor;
pub use search::SearchIndex;
pub use worker::Worker;

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");
pub const DATASET_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/movies");

fn env_or_fail(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite with `make test` (or `make up` and source target/stack.env)")
    })
}

/// The search server under test: Elasticsearch or OpenSearch, chosen by `make test`.
pub fn search_url() -> String {
    env_or_fail("PG2ES_TEST_SEARCH_URL")
}

fn admin_url() -> String {
    env_or_fail("PG2ES_TEST_POSTGRES_URL")
}

/// `server_version_num` of the test Postgres (`make test` runs the suite on 13 and on 18).
pub fn server_version_num() -> i32 {
    static VERSION: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let output = Command::new("psql")
            .args([
                "-X",
                "-At",
                "-d",
                &admin_url(),
                "-c",
                "SHOW server_version_num",
            ])
            .output()
            .expect("run psql");
        let text = String::from_utf8_lossy(&output.stdout);
        text.trim().parse().unwrap_or_else(|_| {
            panic!(
                "server_version_num of the test Postgres: {text:?} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
    })
}

/// Logical capture needs PostgreSQL 14 (README, "Servers it is tested against"): a test of it
/// returns at once on 13, saying so. On 13, tests/logical.rs
/// `logical_capture_on_postgres_13_is_refused_at_start_up_and_by_check` checks the refusal.
pub fn no_logical_capture(test: &str) -> bool {
    let version = server_version_num();
    let skip = version < 140_000;
    if skip {
        eprintln!("{test}: skipped: logical capture needs PostgreSQL 14, this is {version}");
    }
    skip
}

/// The search-server fault tests (tests/search_faults.rs: nodes of their own stopped, killed,
/// overloaded) run once in `make test`, on its first pass (Elasticsearch 7.10.2), and on every
/// pass of `make test-all`: the second pass of `make test` sets
/// `PG2ES_TEST_SEARCH_FAULTS=once` to keep `make test` within its time. Such a test returns at
/// once there, saying so.
pub fn search_faults_ran_already(test: &str) -> bool {
    let skip = std::env::var("PG2ES_TEST_SEARCH_FAULTS").is_ok_and(|v| v == "once");
    if skip {
        eprintln!("{test}: skipped: the search-server fault tests ran on make test's first pass");
    }
    skip
}

/// A unique, valid name for this test's database and index.
pub fn unique_name(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("pg2es_{test}_{}_{n}", std::process::id()).to_lowercase()
}

/// A database of this test's own, with the `content` schema; dropped with the value, also when
/// the test fails.
pub struct TestDb {
    pub url: String,
    pub pool: PgPool,
    name: String,
    admin_url: String,
}

impl TestDb {
    /// A database with our `content` schema (db/schema.sql).
    pub async fn create(name: &str) -> Self {
        let db = Self::empty(name).await;
        db.psql_file(&Path::new(REPO).join("db/schema.sql"), &[]);
        db
    }

    /// A database with nothing in it.
    pub async fn empty(name: &str) -> Self {
        Self::empty_on(&admin_url(), name).await
    }

    /// A database with the `content` schema and `films` generated films on another server.
    pub async fn generated_on(admin: &str, name: &str, films: u32) -> Self {
        let db = Self::empty_on(admin, name).await;
        db.psql_file(&Path::new(REPO).join("db/schema.sql"), &[]);
        let films = format!("films={films}");
        db.psql_file(&Path::new(REPO).join("db/generate.sql"), &["-v", &films]);
        db
    }

    async fn empty_on(admin_url: &str, name: &str) -> Self {
        Self::created_on(admin_url, name, "").await
    }

    /// An empty database whose default collation is ICU's `en-US` (`LOCALE_PROVIDER icu`, from
    /// Postgres 15; before, the server's default, and ICU collations on columns only).
    pub async fn empty_icu(name: &str) -> Self {
        let version = std::env::var("PG2ES_TEST_PG_VERSION").unwrap_or_default();
        let icu = match version.parse::<u32>() {
            Ok(major) if major >= 15 => " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'",
            _ => "",
        };
        Self::created_on(&admin_url(), name, icu).await
    }

    async fn created_on(admin_url: &str, name: &str, options: &str) -> Self {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(admin_url)
            .await
            .expect("connect to the test Postgres");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&admin)
            .await
            .unwrap();
        sqlx::query(&format!(
            "CREATE DATABASE {name} TEMPLATE template0{options}"
        ))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
        let url = with_database(admin_url, name);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .unwrap();
        Self {
            url,
            pool,
            name: name.to_owned(),
            admin_url: admin_url.to_owned(),
        }
    }

    /// This database on another server that has it (a promoted standby), dropped there with
    /// the value.
    pub fn on_server(&self, admin_url: &str) -> Self {
        let url = with_database(admin_url, &self.name);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_lazy(&url)
            .unwrap();
        Self {
            url,
            pool,
            name: self.name.clone(),
            admin_url: admin_url.to_owned(),
        }
    }

    /// The real third-party dataset (999 films).
    pub async fn with_dataset(name: &str) -> Self {
        let db = Self::create(name).await;
        db.psql_file(&Path::new(DATASET_DIR).join("content.dump"), &[]);
        db
    }

    /// The project's generator with `films` films.
    pub async fn with_generated(name: &str, films: u32) -> Self {
        let db = Self::create(name).await;
        let films = format!("films={films}");
        db.psql_file(&Path::new(REPO).join("db/generate.sql"), &["-v", &films]);
        db
    }

    pub fn psql_file(&self, file: &Path, extra: &[&str]) {
        let output = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &self.url, "-f"])
            .arg(file)
            .args(extra)
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "psql -f {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub async fn execute(&self, sql: &str) -> u64 {
        sqlx::raw_sql(sql)
            .execute(&self.pool)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"))
            .rows_affected()
    }

    /// Ends every session that holds an advisory lock in this database (the worker lock's): as
    /// a Postgres restart or a network cut would for that session. How many were ended.
    pub async fn end_lock_sessions(&self) -> u64 {
        self.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND database =
                   (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .await
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    pub async fn scalar_text(&self, sql: &str) -> String {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// Every film document, built by `support/expected.sql`, not by pg2es.
    pub async fn expected_documents(&self) -> BTreeMap<String, Value> {
        self.expected_by(include_str!("expected.sql")).await
    }

    /// Every genre document, built by `support/expected_genres.sql`.
    pub async fn expected_genres(&self) -> BTreeMap<String, Value> {
        self.expected_by(include_str!("expected_genres.sql")).await
    }

    /// Every person document, built by `support/expected_persons.sql`.
    pub async fn expected_persons(&self) -> BTreeMap<String, Value> {
        self.expected_by(include_str!("expected_persons.sql")).await
    }

    /// Documents built by `sql` (rows of `id`, `document` text), not by pg2es.
    pub async fn expected_by(&self, sql: &str) -> BTreeMap<String, Value> {
        let rows: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(&self.pool).await.unwrap();
        rows.into_iter()
            .map(|(id, doc)| (id, serde_json::from_str(&doc).unwrap()))
            .collect()
    }
}

/// Ends the readers of the replication slots of `database` and drops the slots, again while
/// a reader comes back (a running worker reconnects at once).
pub fn drop_slots_sql(database: &str) -> String {
    format!(
        "DO $$ BEGIN
           FOR i IN 1..200 LOOP
             BEGIN
               PERFORM pg_terminate_backend(active_pid) FROM pg_replication_slots
                 WHERE database = '{database}' AND active_pid IS NOT NULL;
               PERFORM pg_sleep(0.02);
               PERFORM pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                 WHERE database = '{database}';
               EXIT;
             EXCEPTION WHEN object_in_use THEN NULL;
             END;
           END LOOP;
         END $$"
    )
}

impl Drop for TestDb {
    /// Drops the database through `psql`, a process of its own: Drop runs on the test's
    /// runtime thread, which cannot drive a query of its own pool from here. `FORCE` ends the
    /// connections still open (the pool's, a killed worker's). A server already gone (a test's
    /// own cluster, stopped) is no failure: there is nothing left to clean.
    fn drop(&mut self) {
        // A database with a replication slot cannot be dropped: its reader is ended and the
        // slot dropped first (logical capture tests).
        let output = Command::new("psql")
            .args(["-X", "-q", "-d", &self.admin_url, "-c"])
            .arg(drop_slots_sql(&self.name))
            .arg("-c")
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .env("PGCONNECT_TIMEOUT", "5")
            .output();
        match output {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "could not drop test database {}: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(err) => eprintln!("could not drop test database {}: {err}", self.name),
        }
    }
}

fn with_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    parsed.set_path(database);
    parsed.to_string()
}

/// A fresh temporary directory for the worker's files.
pub fn work_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn index_config_path() -> PathBuf {
    Path::new(REPO).join("index_config.json")
}

/// The project's index config.
pub fn index_config() -> Value {
    serde_json::from_str(&std::fs::read_to_string(index_config_path()).unwrap()).unwrap()
}

/// The project's index config changed by `edit`, written as `dir/file`; returns its path.
pub fn index_config_variant(dir: &Path, file: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut config = index_config();
    edit(&mut config);
    let path = dir.join(file);
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    path.display().to_string()
}

/// Polls `condition` until it holds; fails with `what` when the deadline passes.
pub async fn wait_until<F, Fut>(what: &str, deadline: Duration, condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_until_or(what, deadline, condition, String::new).await
}

/// As `wait_until`, and a failure says what `report` (a log, a server's view) says then.
pub async fn wait_until_or<F, Fut>(
    what: &str,
    deadline: Duration,
    mut condition: F,
    report: impl FnOnce() -> String,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        if started.elapsed() >= deadline {
            panic!(
                "timed out after {deadline:?} waiting for {what}\n{}",
                report()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Asserts the index holds exactly the documents Postgres says it should (built by
/// `expected.sql`, not by pg2es), listing the first differences.
pub async fn assert_index_equals_postgres(db: &TestDb, index: &SearchIndex) {
    assert_same_documents(&db.expected_documents().await, &index.documents().await);
}

/// Asserts the index holds exactly the expected documents, listing the first differences.
pub fn assert_same_documents(expected: &BTreeMap<String, Value>, actual: &BTreeMap<String, Value>) {
    let problems = differences(expected, actual);
    let shown: Vec<&String> = problems.iter().take(5).collect();
    assert!(
        problems.is_empty(),
        "{} of {} documents differ; first: {shown:#?}",
        problems.len(),
        expected.len()
    );
}

/// Documents missing, stale or extra in `actual` (empty when it holds exactly `expected`).
pub fn differences(
    expected: &BTreeMap<String, Value>,
    actual: &BTreeMap<String, Value>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, want) in expected {
        let want = &numbers_as_f64(want.clone());
        match actual.get(id).cloned().map(numbers_as_f64).as_ref() {
            None => problems.push(format!("missing {id}")),
            Some(got) if got != want => {
                problems.push(format!("stale {id}: {}", field_differences(want, got)))
            }
            Some(_) => {}
        }
    }
    for id in actual.keys().filter(|id| !expected.contains_key(*id)) {
        problems.push(format!("extra {id}"));
    }
    problems
}

/// The top-level fields where two documents differ, with both values.
fn field_differences(want: &Value, got: &Value) -> String {
    let empty = serde_json::Map::new();
    let want = want.as_object().unwrap_or(&empty);
    let got = got.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = want.keys().chain(got.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| want.get(*key) != got.get(*key))
        .map(|key| format!("{key}: want {:?} got {:?}", want.get(key), got.get(key)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// JSON numbers compared by value: Postgres writes a real 8 as `8`, serde as `8.0`.
fn numbers_as_f64(value: Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, numbers_as_f64(v)))
                .collect(),
        ),
        other => other,
    }
}

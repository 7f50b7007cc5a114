//! One declared pipeline on a schema of its own: `tests/<dir>/schema.sql` loaded into a new
//! database, the declaration beside it served by a worker in one capture mode, and steps that
//! compare the index with documents built independently in SQL.

use super::{assert_same_documents, unique_name, SearchIndex, TestDb, Worker, REPO};

pub struct Fixture {
    pub db: TestDb,
    pub index: SearchIndex,
    pub worker: Worker,
    pub capture: &'static str,
    /// `SELECT id, doc` building every document.
    expected: &'static str,
}

/// What a fixture is made of, relative to the repository.
pub struct Parts {
    pub schema: &'static str,
    pub pipeline: &'static str,
    pub declaration: &'static str,
    pub expected: &'static str,
    pub batch_size: u32,
}

impl Fixture {
    pub async fn new(test: &str, capture: &'static str, parts: Parts) -> Self {
        let name = unique_name(test);
        let db = TestDb::empty(&name).await;
        db.psql_file(&std::path::Path::new(REPO).join(parts.schema), &[]);
        let index = SearchIndex::new(&name).await;
        let mut worker = Worker::with_pipelines(
            &db,
            &format!(
                "pipelines:\n  {}: {{file: {REPO}/{}, alias: {name}}}\n",
                parts.pipeline, parts.declaration
            ),
        );
        worker.set("PG2ES__SYNC__BATCH_SIZE", &parts.batch_size.to_string());
        match capture {
            "triggers" => worker.capture_with_triggers(),
            "logical" => worker.capture_logical(),
            _ => {
                worker.set("PG2ES__SYNC__CAPTURE", capture);
            }
        };
        Self {
            db,
            index,
            worker,
            capture,
            expected: parts.expected,
        }
    }

    /// Runs `sql`, one cycle, and compares the index with Postgres.
    pub async fn step(&self, what: &str, sql: &str) {
        if !sql.is_empty() {
            self.db.execute(sql).await;
        }
        self.worker.sync_once();
        self.compare(what).await;
    }

    /// Runs `sql`, one cycle (then, in polling mode, `verify --repair` for what polling cannot
    /// see: deletes and rows moved away), and compares the index with Postgres. A cursor of a
    /// composite key is never taken for a restore.
    pub async fn cycle(&self, what: &str, sql: &str, polling_sees_it: bool) {
        if !sql.is_empty() {
            self.db.execute(sql).await;
        }
        let (_, _, _, log) = self.worker.sync_once();
        assert!(
            !log.contains("restored from a backup"),
            "{} mode, after {what}: a composite cursor was taken for a restore: {log}",
            self.capture
        );
        if self.capture == "polling" && !polling_sees_it {
            let repair = self.worker.output(&["verify", "--repair"]);
            assert!(
                repair.status.success(),
                "verify --repair: {}",
                String::from_utf8_lossy(&repair.stderr)
            );
        }
        self.compare(what).await;
    }

    /// The index holds exactly the documents the expected SQL builds.
    pub async fn compare(&self, what: &str) {
        self.index.refresh().await;
        let expected = self.db.expected_by(self.expected).await;
        let actual = self.index.documents().await;
        assert_eq!(
            expected.len(),
            actual.len(),
            "{} mode, after {what}: document count",
            self.capture
        );
        assert_same_documents(&expected, &actual);
    }
}

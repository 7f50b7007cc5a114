//! A schema change under a running worker stops only the pipelines it breaks: a column only the
//! genres pipeline reads is dropped while the movies and genres pipelines run. Genres stops
//! with an error naming the pipeline, the declaration key, the line and the column, `/readyz`
//! answers 503 and `status` says why, while movies keeps indexing; once the column is back,
//! genres resumes from its position and both indexes equal Postgres, the change made while it
//! was stopped included. A column that no declaration reads, added first, changes nothing.

use std::time::Duration;

use serde_json::Value;

use crate::support::process::{http_get, Running};
use crate::support::{
    differences, index_config_path, unique_name, wait_until_or, SearchIndex, TestDb, Worker, REPO,
};

const DEADLINE: Duration = Duration::from_secs(120);
/// The genre renamed while its pipeline is stopped: it keeps no description when the column
/// comes back, so only the change recorded while stopped can bring the new name to its index.
const RENAMED: &str = "(SELECT id FROM content.genre ORDER BY id LIMIT 1)";

struct TwoPipelines {
    db: TestDb,
    worker: Worker,
    movies: SearchIndex,
    genres: SearchIndex,
    running: Running,
    address: String,
}

/// The movies and genres pipelines of the catalogue, run by one worker with `capture`.
async fn two_pipelines(test: &str, capture: fn(&mut Worker)) -> TwoPipelines {
    let name = unique_name(test);
    let db = TestDb::with_dataset(&name).await;
    let config = format!(
        "pipelines:
  movies: {{file: {REPO}/pipelines/movies.yaml, alias: {name}_movies, index_config: {}}}
  genres: {{file: {REPO}/pipelines/genres.yaml, alias: {name}_genres}}
",
        index_config_path().display()
    );
    let mut worker = Worker::with_pipelines(&db, &config);
    // A fixed port, so that `pg2es status` knows where to ask the worker.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap();
    worker.set("PG2ES__HTTP__ADDRESS", &format!("127.0.0.1:{port}"));
    capture(&mut worker);
    let (movies, genres) = (
        SearchIndex::new(&format!("{name}_movies")).await,
        SearchIndex::new(&format!("{name}_genres")).await,
    );
    let running = Running::start(&worker);
    let address = running
        .log_field("http listening", "address", DEADLINE)
        .await;
    TwoPipelines {
        db,
        worker,
        movies,
        genres,
        running,
        address,
    }
}

impl TwoPipelines {
    /// Waits until both indexes equal what Postgres says, failing with the worker's log.
    async fn wait_both_current(&self, what: &str) {
        wait_until_or(
            what,
            DEADLINE,
            || async {
                self.movies.refresh().await;
                self.genres.refresh().await;
                let movies = differences(
                    &self.db.expected_documents().await,
                    &self.movies.documents().await,
                );
                let genres = differences(
                    &self.db.expected_genres().await,
                    &self.genres.documents().await,
                );
                movies.is_empty() && genres.is_empty()
            },
            || self.running.log(),
        )
        .await;
    }

    async fn wait_movie_titled(&self, title: &str) {
        wait_until_or(
            &format!("a film titled {title:?} in the movies index"),
            DEADLINE,
            || async {
                self.movies.refresh().await;
                self.movies.matching_ids("title", title).await.len() == 1
            },
            || self.running.log(),
        )
        .await;
    }

    fn readyz(&self) -> (u16, String) {
        http_get(&self.address, "/readyz")
    }
}

async fn a_dropped_column_stops_only_the_pipeline_that_reads_it(
    test: &str,
    capture: fn(&mut Worker),
) {
    let mut run = two_pipelines(test, capture).await;
    let db = &run.db;
    wait_until_or(
        "the back-fills of both pipelines",
        DEADLINE,
        || {
            let done = |pipeline| {
                run.worker
                    .state_of(pipeline)
                    .is_some_and(|state| state["backfill"]["done"] == true)
            };
            std::future::ready(done("movies") && done("genres"))
        },
        || run.running.log(),
    )
    .await;
    run.wait_both_current("the back-fills of both pipelines")
        .await;

    // A column no declaration reads: nothing stops, changes go on reaching both indexes.
    db.execute("ALTER TABLE content.genre ADD COLUMN unread_note text")
        .await;
    db.execute(
        "UPDATE content.genre SET unread_note = 'x', name = name || ' Added', updated_at = now()
         WHERE id = (SELECT id FROM content.genre ORDER BY id DESC LIMIT 1)",
    )
    .await;
    run.wait_both_current("a change after an unread column was added")
        .await;
    assert_eq!(
        run.running.logged("no longer has what"),
        0,
        "{}",
        run.running.log()
    );

    // Dropped under the running worker, then a genre renamed: genres stops, loudly.
    db.execute("ALTER TABLE content.genre DROP COLUMN description")
        .await;
    db.execute(&format!(
        "UPDATE content.genre SET name = 'Renamed While Stopped', updated_at = now() WHERE id = {RENAMED}"
    ))
    .await;
    run.running
        .wait_for_log("postgres no longer has what the pipeline reads", DEADLINE)
        .await;
    let log = run.running.log();
    let line = log
        .lines()
        .find(|line| line.contains("no longer has what the pipeline reads"))
        .unwrap();
    for named in [
        "pipeline=\"genres\"",
        "genres.yaml",
        "document.description",
        "line 14",
        "content.genre has no column description",
    ] {
        assert!(line.contains(named), "{named:?} not in {line}");
    }
    let (status, body) = run.readyz();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("pipeline genres stopped"), "{body}");
    assert!(body.contains("document.description"), "{body}");
    let output = run.worker.output(&["status", "--json"]);
    let reports: Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let genres = reports
        .as_array()
        .and_then(|all| all.iter().find(|r| r["pipeline"] == "genres"))
        .unwrap_or_else(|| panic!("no genres report: {reports}"));
    let stopped = genres["stopped"].as_str().unwrap_or_default();
    assert!(
        stopped.contains("document.description, line 14"),
        "{genres}"
    );
    assert!(
        genres["worker_http"]["stopped"]["genres"].is_string(),
        "{genres}"
    );

    // The other pipeline goes on: a film retitled reaches its index, the process runs on.
    db.execute(
        "UPDATE content.film_work SET title = 'Indexed While Genres Stopped', updated_at = now()
         WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)",
    )
    .await;
    run.wait_movie_titled("Indexed While Genres Stopped").await;
    assert_eq!(run.running.try_wait(), None, "{}", run.running.log());

    // The column back, filled for every genre but the renamed one: genres resumes from where
    // it stopped, and the rename made meanwhile reaches its index.
    db.execute("ALTER TABLE content.genre ADD COLUMN description text")
        .await;
    db.execute(&format!(
        "UPDATE content.genre SET description = 'Restored ' || name WHERE id <> {RENAMED}"
    ))
    .await;
    run.wait_both_current("genres to resume and both indexes to equal Postgres")
        .await;
    run.running
        .wait_for_log("it resumes from its state file", DEADLINE)
        .await;
    let renamed = run
        .genres
        .matching_ids("name", "Renamed While Stopped")
        .await;
    assert_eq!(renamed.len(), 1, "{}", run.running.log());
    wait_until_or(
        "/readyz to answer 200 again",
        DEADLINE,
        || std::future::ready(run.readyz().0 == 200),
        || run.running.log(),
    )
    .await;
    run.running.kill();
}

#[tokio::test]
async fn triggers_a_dropped_column_stops_only_the_pipeline_that_reads_it() {
    a_dropped_column_stops_only_the_pipeline_that_reads_it("schema_triggers", |worker| {
        worker.capture_with_triggers()
    })
    .await;
}

#[tokio::test]
async fn logical_a_dropped_column_stops_only_the_pipeline_that_reads_it() {
    if crate::support::no_logical_capture(
        "logical_a_dropped_column_stops_only_the_pipeline_that_reads_it",
    ) {
        return;
    }
    a_dropped_column_stops_only_the_pipeline_that_reads_it("schema_logical", |worker| {
        worker.capture_logical()
    })
    .await;
}

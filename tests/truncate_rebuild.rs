//! `TRUNCATE` of a followed table while a rebuild behind the alias runs (a changed index
//! config, back-filled in pages of 10): the pages the rebuild wrote before the truncation
//! were built from rows that are gone. Once the alias moved, the index must equal Postgres all
//! the same: `triggers` mode repairs both indexes, `logical` mode starts the rebuild over. A
//! link made after the truncation must survive either, and search answers throughout.

use std::time::Duration;

use crate::reindex::folding_config;
use crate::support::process::Running;
use crate::support::{
    assert_index_equals_postgres, differences, no_logical_capture, unique_name, wait_until,
    wait_until_or, SearchIndex, SearchMonitor, TestDb, Worker,
};

/// Two hundred pages of 10 for the rebuild: the truncation lands in its middle (checked, not
/// assumed: the test fails when the back-fill had ended; with 1,000 films it once ended 20 ms
/// after the truncation was seen).
const FILMS: u64 = 2000;
const DEADLINE: Duration = Duration::from_secs(180);
const FIRST_FILM: &str = "(SELECT id FROM content.film_work ORDER BY id LIMIT 1)";
const SOME_GENRE: &str = "(SELECT id FROM content.genre ORDER BY id LIMIT 1)";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    Triggers,
    Logical,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncating_a_link_table_during_a_rebuild_repairs_both_indexes_in_triggers_mode() {
    truncate_during_a_rebuild("trunc_rebuild_triggers", Capture::Triggers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncating_a_link_table_during_a_rebuild_starts_the_rebuild_over_in_logical_mode() {
    if no_logical_capture(
        "truncating_a_link_table_during_a_rebuild_starts_the_rebuild_over_in_logical_mode",
    ) {
        return;
    }
    truncate_during_a_rebuild("trunc_rebuild_logical", Capture::Logical).await;
}

/// The scenario: a rebuild partly done, the truncation, a link made again, then the swap.
async fn truncate_during_a_rebuild(test: &str, capture: Capture) {
    let run = rebuild_under_way(test, capture).await;
    run.db.execute("TRUNCATE content.genre_film_work").await;
    // Its back-fill not done yet: changes are followed at least once more before the swap.
    let rebuild = run.worker.rebuild().unwrap_or_default();
    assert!(
        rebuild["index"] == run.building.as_str() && rebuild["backfill"]["done"] != true,
        "the rebuild's back-fill ended before the truncation: the test saw nothing"
    );
    // After the truncation, behind the rebuild's position: it must be in the end.
    run.db
        .execute(&format!(
            "INSERT INTO content.genre_film_work (film_work_id, genre_id) VALUES ({FIRST_FILM}, {SOME_GENRE})"
        ))
        .await;

    wait_until_swapped_and_current(&run).await;
    let Rebuilding {
        building,
        monitor,
        running,
        ..
    } = run;
    monitor.stop().await.assert_clean(20);
    let log = running.log();
    match capture {
        Capture::Triggers => assert!(log.contains("a followed table was truncated"), "{log}"),
        Capture::Logical => {
            assert!(log.contains("content.genre_film_work truncated"), "{log}");
            assert!(
                !SearchIndex::open(&building).exists().await,
                "the index the rebuild was filling at the truncation is given up"
            );
        }
    }
}

/// `FILMS` generated films indexed once, then a `pg2es run` under the folding config in pages
/// of 10, watched by a search monitor, once the rebuild has saved a position.
struct Rebuilding {
    db: TestDb,
    index: SearchIndex,
    worker: Worker,
    /// The index the alias pointed at before the rebuild.
    first: String,
    /// The index the rebuild fills.
    building: String,
    monitor: SearchMonitor,
    running: Running,
}

async fn rebuild_under_way(test: &str, capture: Capture) -> Rebuilding {
    let name = unique_name(test);
    let db = TestDb::with_generated(&name, FILMS as u32).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    match capture {
        Capture::Triggers => worker.capture_with_triggers(),
        Capture::Logical => worker.capture_logical(),
    }
    assert_eq!(worker.sync_once().0, FILMS);
    let first = index.alias_target().await;
    let folding = folding_config(&worker);
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &folding);
    worker.set("PG2ES__SYNC__BATCH_SIZE", "10");

    let monitor = SearchMonitor::start(&name, FILMS);
    let running = Running::start(&worker);
    wait_until_or(
        "the rebuild to save a position",
        DEADLINE,
        || async {
            worker
                .rebuild()
                .is_some_and(|rebuild| rebuild["backfill"]["after"].is_string())
        },
        || running.log(),
    )
    .await;
    let building = worker.rebuild().unwrap()["index"]
        .as_str()
        .unwrap()
        .to_owned();
    Rebuilding {
        db,
        index,
        worker,
        first,
        building,
        monitor,
        running,
    }
}

/// Waits for the alias to move off the first index with no rebuild left, then for the index
/// to equal Postgres; a time-out of the latter falls through to the assertion, which names the
/// documents that differ.
async fn wait_until_swapped_and_current(run: &Rebuilding) {
    let Rebuilding {
        db,
        index,
        worker,
        first,
        running,
        ..
    } = run;
    wait_until_or(
        "the alias to move to a rebuilt index and the rebuild to end",
        DEADLINE,
        || async { index.aliased().await != [first.clone()] && worker.rebuild().is_none() },
        || running.log(),
    )
    .await;
    let current = wait_until("the index to equal Postgres", DEADLINE, || {
        index_is_current(db, index)
    });
    if tokio::time::timeout(Duration::from_secs(60), current)
        .await
        .is_err()
    {
        eprintln!("worker log:\n{}", running.log());
    }
    assert_index_equals_postgres(db, index).await;
}

/// Whether the index equals the documents Postgres builds (no panic: for waits).
async fn index_is_current(db: &TestDb, index: &SearchIndex) -> bool {
    index.refresh().await;
    differences(&db.expected_documents().await, &index.documents().await).is_empty()
}

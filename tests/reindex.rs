//! Changing the index config without downtime: the alias stays on a complete index while a new
//! one is built next to it, changes reach both, and the alias moves once the new one is ready.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::worker::terminate;
use crate::support::{
    assert_index_equals_postgres, index_config_variant, unique_name, wait_until, SearchIndex,
    SearchMonitor, TestDb, Worker,
};

/// `ru_en` with ASCII folding, written into the worker's directory: "uberraschung" finds
/// "Überraschung" with it, and not without.
pub fn folding_config(worker: &Worker) -> String {
    index_config_variant(worker.dir.path(), "folding.json", |config| {
        let filters = config["settings"]["analysis"]["analyzer"]["ru_en"]["filter"]
            .as_array_mut()
            .unwrap();
        filters.insert(1, "asciifolding".into());
    })
}

/// Whether `index` holds a document with exactly this title.
async fn has_title(index: &SearchIndex, title: &str) -> bool {
    index.refresh().await;
    let body = index
        .search(json!({"query": {"term": {"title.raw": title}}}))
        .await;
    body["hits"]["total"]["value"].as_u64() == Some(1)
}

const FIRST_FILM: &str = "(SELECT id FROM content.film_work ORDER BY id LIMIT 1)";

/// Changes made while the rebuild runs, followed into the live index before it ends. The first
/// film is behind the rebuild's position: its change reaches the new index only if changes are
/// written to both indexes. The new film may fall on either side.
async fn change_during_the_rebuild(db: &TestDb, worker: &Worker, live: &SearchIndex) {
    db.execute(&format!(
        "UPDATE content.film_work SET title = 'Überraschung Remastered', updated_at = now()
             WHERE id = {FIRST_FILM};
         INSERT INTO content.film_work (title, type) VALUES ('Die Überraschung', 'movie');"
    ))
    .await;
    wait_until(
        "the changes to reach the live index",
        Duration::from_secs(60),
        || async {
            has_title(live, "Überraschung Remastered").await
                && has_title(live, "Die Überraschung").await
        },
    )
    .await;
    assert!(
        worker.rebuild().is_some(),
        "the rebuild ended before the changes were followed: nothing was written to both"
    );
}

/// A database of `films` generated films indexed once, then a `pg2es run` under the folding
/// config in pages of 10, watched by a search monitor, once the rebuild has saved a position.
struct Rebuilding {
    db: TestDb,
    index: SearchIndex,
    worker: Worker,
    /// The index the alias pointed at before the rebuild.
    first: String,
    monitor: SearchMonitor,
    child: std::process::Child,
}

async fn rebuilding(prefix: &str, films: u64) -> (String, Rebuilding) {
    let name = unique_name(prefix);
    let db = TestDb::with_generated(&name, films as u32).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.sync_once();
    let first = index.alias_target().await;
    assert_eq!(index.count().await, films);
    let folding = folding_config(&worker);
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &folding);
    worker.set("PG2ES__SYNC__BATCH_SIZE", "10");

    let monitor = SearchMonitor::start(&name, films);
    let (child, _log) = worker.spawn_run();
    wait_until(
        "the rebuild to save a position",
        Duration::from_secs(60),
        || async {
            worker
                .rebuild()
                .is_some_and(|rebuild| rebuild["backfill"]["after"].is_string())
        },
    )
    .await;
    let rebuilding = Rebuilding {
        db,
        index,
        worker,
        first,
        monitor,
        child,
    };
    (name, rebuilding)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_never_fail_or_lose_documents_while_a_changed_analyzer_is_rebuilt() {
    // 250 pages of 10: the changes are followed while the rebuild runs, which the test checks.
    const FILMS: u64 = 2500;
    let (name, run) = rebuilding("reindex_live", FILMS).await;
    let Rebuilding {
        db,
        index,
        worker,
        first,
        monitor,
        mut child,
    } = run;
    let old = SearchIndex::open(&first);
    change_during_the_rebuild(&db, &worker, &old).await;
    // Stopped only once the state file says so too: a stop between the swap and that save is
    // recovered at the next start, which this test does not make.
    wait_until(
        "the alias to move to the rebuilt index and the rebuild to end",
        Duration::from_secs(180),
        || async { index.aliased().await != [first.clone()] && worker.rebuild().is_none() },
    )
    .await;
    assert_eq!(terminate(&mut child).await, Some(0));

    monitor.stop().await.assert_clean(20);
    let second = index.alias_target().await;
    assert!(second.starts_with(&format!("{name}_")), "{second}");
    let new = SearchIndex::open(&second);
    assert_ne!(
        old.pg2es_meta().await["config_hash"],
        new.pg2es_meta().await["config_hash"],
        "each index records the config that built it"
    );
    assert_eq!(
        index.matching_ids("title", "uberraschung").await.len(),
        2,
        "the new analyzer answers"
    );
    assert!(old.matching_ids("title", "uberraschung").await.is_empty());
    assert_index_equals_postgres(&db, &index).await;
    assert_eq!(
        index.tuning().await.0.as_deref(),
        Some("1s"),
        "settings restored"
    );
    assert!(
        old.exists().await,
        "the previous index is kept for a rollback"
    );
    assert!(worker.rebuild().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_killed_midway_leaves_the_alias_on_a_complete_index_and_resumes() {
    const FILMS: u64 = 3000;
    let (_, run) = rebuilding("reindex_kill9", FILMS).await;
    let Rebuilding {
        db,
        index,
        mut worker,
        first,
        monitor,
        mut child,
    } = run;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let rebuild = worker
        .rebuild()
        .expect("a rebuild in the state file after kill -9");
    assert_eq!(
        rebuild["backfill"]["done"], false,
        "killed too late: {rebuild}"
    );
    let acknowledged = rebuild["backfill"]["indexed"].as_u64().unwrap();
    assert!(acknowledged > 0 && acknowledged < FILMS, "{rebuild}");
    let target = rebuild["index"].as_str().unwrap().to_owned();
    assert_eq!(
        index.alias_target().await,
        first,
        "the alias stays on the complete index"
    );
    assert_eq!(index.count().await, FILMS);
    let new = SearchIndex::open(&target);
    assert_eq!(
        new.tuning().await,
        (Some("-1".into()), Some("1".into())),
        "refreshes off, replicas as configured"
    );

    // The rest in pages of 500: the saved position is the last key, not a page number.
    worker.set("PG2ES__SYNC__BATCH_SIZE", "500");
    let (indexed, _, _, log) = worker.sync_once();

    assert!(log.contains("resuming rebuild"), "{log}");
    assert_eq!(
        indexed,
        FILMS - acknowledged,
        "the rebuild resumes after its position"
    );
    assert_eq!(index.alias_target().await, target);
    monitor.stop().await.assert_clean(20);
    assert_eq!(
        new.tuning().await.0.as_deref(),
        Some("1s"),
        "settings restored"
    );
    assert_eq!(worker.state().unwrap()["rebuild"], Value::Null);
    assert_index_equals_postgres(&db, &index).await;
}

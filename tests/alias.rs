//! The alias over time: an older indexer's concrete index migrated behind it, a rollback to the
//! previous index, and a rebuilt index that refused documents never getting it.

use std::process::Output;
use std::time::Duration;

use crate::dead_letter::refusing_config;
use crate::reindex::folding_config;
use crate::support::process::Running;
use crate::support::{
    assert_index_equals_postgres, index_config, unique_name, wait_until, SearchIndex, TestDb,
    Worker,
};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// A state file as pg2es wrote it before versioned indexes: back-fill done, cursors at `at`.
fn old_state(index: &str, at: &str) -> String {
    let mut yaml = format!(
        "version: 1\npipeline: movies\nindex: {index}\nbackfill:\n  done: true\n  after: null\n  indexed: 999\n  started_at: {at}\n  finished_at: {at}\ncursors:\n"
    );
    for table in [
        "film_work",
        "person",
        "genre",
        "person_film_work",
        "genre_film_work",
    ] {
        yaml.push_str(&format!(
            "  {table}:\n    at: {at}\n    id: 00000000-0000-0000-0000-000000000000\n"
        ));
    }
    yaml.push_str(&format!("last_sync_at: {at}\n"));
    yaml
}

/// A worker whose `state.path` holds an older pg2es's state, caught up until now, and one film
/// retitled after it.
async fn older_state_and_a_change(db: &TestDb, name: &str, title: &str) -> Worker {
    let worker = Worker::new(db, name);
    let now: String = sqlx::query_scalar(
        "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    std::fs::write(worker.state_setting(), old_state(name, &now)).unwrap();
    db.execute(&format!(
        "UPDATE content.film_work SET title = '{title}', updated_at = now()
             WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)"
    ))
    .await;
    worker
}

#[tokio::test]
async fn an_older_indexers_concrete_index_is_migrated_behind_the_alias() {
    let name = unique_name("alias_migrate");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    // What an older pg2es left: a complete concrete index named like the alias, its state file.
    index.create(&index_config()).await;
    index.put_all(&db.expected_documents().await).await;
    // At `state.path`, where a single-pipeline pg2es kept it: carried over to the movies one.
    let worker = older_state_and_a_change(&db, &name, "Migrated").await;

    let (_, _, _, log) = worker.sync_once();

    assert!(log.contains("Migration"), "{log}");
    let target = index.alias_target().await;
    assert!(target.starts_with(&format!("{name}_")), "{target}");
    assert_eq!(
        index.concrete_indexes().await,
        [target],
        "the concrete index is replaced by the alias"
    );
    assert_index_equals_postgres(&db, &index).await;
    let output = worker.output(&["reindex", "--rollback"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("nothing to roll back to"),
        "{}",
        text(&output.stderr)
    );
    let (indexed, _, _, _) = worker.sync_once();
    assert_eq!(indexed, 0, "nothing left to do");
}

#[tokio::test]
async fn rollback_brings_the_previous_index_up_to_date_and_puts_it_back() {
    let name = unique_name("alias_rollback");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.sync_once();
    let first = index.alias_target().await;
    let folding = folding_config(&worker);
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &folding);
    worker.sync_once();
    let second = index.alias_target().await;
    assert_ne!(second, first);
    // While the new index answers: a change written to it only, then a delete (which polling
    // does not see) and a new film nothing has read yet.
    db.execute(
        "UPDATE content.film_work SET title = 'Changed While Second', updated_at = now()
             WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)",
    )
    .await;
    worker.sync_once();
    db.execute(
        "DELETE FROM content.film_work WHERE id = (SELECT id FROM content.film_work ORDER BY id DESC LIMIT 1);
         INSERT INTO content.film_work (title, type) VALUES ('Die Überraschung', 'movie');",
    )
    .await;

    let output = worker.output(&["reindex", "--rollback"]);

    assert_success(&output);
    assert!(
        text(&output.stdout).contains(&format!("alias {name} → {first}")),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(index.alias_target().await, first);
    assert_index_equals_postgres(&db, &index).await;
    assert!(
        index.matching_ids("title", "uberraschung").await.is_empty(),
        "the old analyzer answers"
    );
    assert_eq!(index.matching_ids("title", "überraschung").await.len(), 1);
    // The config rolled back from is not rebuilt by the worker…
    let (_, _, _, log) = worker.sync_once();
    assert!(log.contains("not rebuilt"), "{log}");
    assert_eq!(index.alias_target().await, first);
    assert_eq!(worker.output(&["reindex"]).status.code(), Some(1));
    // …until asked to.
    let output = worker.output(&["reindex", "--force"]);
    assert_success(&output);
    let third = index.alias_target().await;
    assert!(third != first && third != second, "{third}");
    assert_eq!(index.matching_ids("title", "uberraschung").await.len(), 1);
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn a_rebuilt_index_that_refuses_documents_never_gets_the_alias() {
    let name = unique_name("alias_refused");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.sync_once();
    let first = index.alias_target().await;
    let refusing = refusing_config(&worker);
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &refusing);

    let output = worker.output(&["reindex"]);

    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("refused documents"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(index.alias_target().await, first);
    assert_eq!(
        index.concrete_indexes().await,
        [first],
        "the refusing index is dropped"
    );
    assert_eq!(index.count().await, 999);
    // The worker does not try that config again until it changes.
    let (_, _, dead_lettered, log) = worker.sync_once();
    assert_eq!(dead_lettered, 0);
    assert!(log.contains("not rebuilt"), "{log}");
}

/// The hash of `index_config.json` alone: what a pg2es from before declared pipelines recorded
/// in (and put in the name of) the index it built.
const UNDECLARED_HASH: &str = "fe32f4a23eab15b8";

#[tokio::test]
async fn a_single_pipeline_workers_index_and_state_are_carried_over_without_a_reindex() {
    let name = unique_name("alias_carry_over");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    // What a pg2es from before declared pipelines left: its versioned index behind the alias,
    // recording the hash of the index config alone, and its state file at `state.path`.
    let built = format!("{name}_{}", &UNDECLARED_HASH[..12]);
    let mut body = index_config();
    body["mappings"]["_meta"] = serde_json::json!({"pg2es": {
        "alias": name, "config_hash": UNDECLARED_HASH, "built_at": "2026-11-01T00:00:00Z"
    }});
    body["aliases"] = serde_json::json!({ name.clone(): {} });
    SearchIndex::open(&built).create(&body).await;
    index.put_all(&db.expected_documents().await).await;
    let worker = older_state_and_a_change(&db, &name, "Changed After The Upgrade").await;

    let (indexed, _, _, log) = worker.sync_once();

    assert_eq!(indexed, 1, "only the change: {log}");
    assert!(log.contains("carried over"), "{log}");
    assert_eq!(index.alias_target().await, built, "no rebuild");
    assert!(!worker.state_setting().exists());
    let state = worker.state().unwrap();
    assert!(state["cursors"]["content.film_work"].is_object(), "{state}");
    assert_index_equals_postgres(&db, &index).await;
    let (indexed, _, _, _) = worker.sync_once();
    assert_eq!(indexed, 0);
}

const DEADLINE: Duration = Duration::from_secs(120);

#[tokio::test]
async fn the_index_deleted_under_a_running_worker_is_rebuilt_behind_the_alias() {
    let name = unique_name("alias_deleted");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    let running = Running::start(&worker);
    worker.wait_backfilled(DEADLINE).await;
    let first = index.alias_target().await;

    // An operator deletes the index behind the alias; then a film changes.
    SearchIndex::open(&first).delete().await;
    db.execute(
        "UPDATE content.film_work SET title = 'After The Delete', updated_at = now()
             WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)",
    )
    .await;

    running
        .wait_for_log("the index behind the alias is gone", DEADLINE)
        .await;
    wait_until("search to be complete again", DEADLINE, || async {
        index.exists().await && index.count().await == 999
    })
    .await;
    // Nothing was written to an index auto-created under the alias's name: the alias points at a
    // versioned index pg2es built, and that is the only index of the name.
    let rebuilt = index.alias_target().await;
    assert!(rebuilt.starts_with(&format!("{name}_")), "{rebuilt}");
    assert_eq!(index.concrete_indexes().await, [rebuilt]);
    assert_index_equals_postgres(&db, &index).await;
    assert!(
        running.log().contains("back-filling again"),
        "{}",
        running.log()
    );
}

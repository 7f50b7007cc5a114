//! Exact change capture (`pg2es setup`, `sync.capture: triggers`): every operation reaches the
//! index, deletes and late commits included.

use std::time::Duration;

use crate::support::process::Running;
use crate::support::{
    assert_index_equals_postgres, unique_name, wait_until, SearchIndex, TestDb, Worker,
};

/// A back-filled index over the real dataset, followed with triggers.
pub(crate) async fn captured(test: &str) -> (TestDb, SearchIndex, Worker) {
    let name = unique_name(test);
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.capture_with_triggers();
    assert_eq!(worker.sync_once().0, 999);
    (db, index, worker)
}

/// `pg2es status --json`'s count of recorded changes not indexed yet.
fn pending_changes(worker: &Worker) -> i64 {
    let output = worker.output(&["status", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    status["pending_changes"]
        .as_i64()
        .unwrap_or_else(|| panic!("{status}"))
}

/// `consumers forget` on the consumer of a running worker is refused with how to stop the
/// worker (forgotten under it, the worker failed at every read of recorded changes while the
/// changes it had not read could be pruned); once the worker is gone it is forgotten.
#[tokio::test]
async fn forgetting_the_consumer_of_a_running_worker_is_refused_until_it_stops() {
    let (_db, _index, worker) = captured("capture_forget_running").await;
    let listed = worker.output(&["consumers", "list"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let consumer = listed
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("no consumer listed: {listed}"))
        .to_owned();
    let mut running = Running::start(&worker);
    running
        .wait_for_log("acquired the worker lock", Duration::from_secs(60))
        .await;

    let output = worker.output(&["consumers", "forget", &consumer]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "forgotten under its worker: {stderr}"
    );
    assert!(stderr.contains("stop that worker first"), "{stderr}");
    let listed = worker.output(&["consumers", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&consumer));

    running.kill();
    let forgotten = || async {
        let output = worker.output(&["consumers", "forget", &consumer]);
        output.status.success()
    };
    wait_until(
        "the consumer forgotten once its worker is gone",
        Duration::from_secs(60),
        forgotten,
    )
    .await;
}

const SOME_FILM: &str = "(SELECT id FROM content.film_work ORDER BY id LIMIT 1 OFFSET 7)";
const SOME_PERSON: &str = "(SELECT person_id FROM content.person_film_work GROUP BY person_id
                            ORDER BY count(*) DESC, person_id LIMIT 1)";
const SOME_GENRE: &str = "(SELECT id FROM content.genre ORDER BY id LIMIT 1 OFFSET 2)";

#[tokio::test]
async fn deleting_a_film_removes_its_document() {
    let (db, index, worker) = captured("capture_delete_film").await;
    db.execute(&format!(
        "DELETE FROM content.film_work WHERE id = {SOME_FILM}"
    ))
    .await;
    // The film and each of its cascaded link rows.
    assert!(pending_changes(&worker) > 1);
    let (_, deleted, _, _) = worker.sync_once();
    assert_eq!(deleted, 1);
    assert_eq!(pending_changes(&worker), 0);
    assert_eq!(index.count().await, 998);
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn deleting_a_person_or_a_genre_reindexes_their_films() {
    let (db, index, worker) = captured("capture_delete_person_genre").await;
    db.execute(&format!(
        "DELETE FROM content.person WHERE id = {SOME_PERSON}; DELETE FROM content.genre WHERE id = {SOME_GENRE};"
    ))
    .await;
    let (indexed, _, _, _) = worker.sync_once();
    assert!(indexed > 1, "indexed {indexed}");
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn link_rows_inserted_deleted_and_changed_reach_the_index() {
    let (db, index, worker) = captured("capture_links").await;
    db.execute(&format!(
        "DELETE FROM content.person_film_work WHERE id = (SELECT id FROM content.person_film_work ORDER BY id LIMIT 1);
         DELETE FROM content.genre_film_work WHERE id = (SELECT id FROM content.genre_film_work ORDER BY id LIMIT 1);
         UPDATE content.person_film_work SET role = 'writer'
             WHERE id = (SELECT id FROM content.person_film_work WHERE role = 'actor' ORDER BY id LIMIT 1);
         UPDATE content.genre_film_work SET film_work_id = {SOME_FILM}
             WHERE id = (SELECT id FROM content.genre_film_work gfw WHERE NOT EXISTS (
                 SELECT 1 FROM content.genre_film_work x WHERE x.film_work_id = {SOME_FILM} AND x.genre_id = gfw.genre_id)
                 ORDER BY id LIMIT 1);
         INSERT INTO content.person_film_work (film_work_id, person_id, role)
             SELECT {SOME_FILM}, p.id, 'director' FROM content.person p
             WHERE NOT EXISTS (SELECT 1 FROM content.person_film_work x WHERE x.film_work_id = {SOME_FILM}
                               AND x.person_id = p.id AND x.role = 'director')
             ORDER BY p.id LIMIT 1;"
    ))
    .await;
    worker.sync_once();
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn a_transaction_committing_after_a_worker_cycle_is_not_lost() {
    let (db, index, worker) = captured("capture_late_commit").await;
    let mut late = db.pool.begin().await.unwrap();
    // updated_at = now() is the transaction's start: older than anything indexed after it.
    sqlx::query(&format!(
        "UPDATE content.film_work SET title = 'Committed Late', updated_at = now() WHERE id = {SOME_FILM}"
    ))
    .execute(&mut *late)
    .await
    .unwrap();
    db.execute(
        "UPDATE content.film_work SET title = 'Committed First', updated_at = now()
         WHERE id = (SELECT id FROM content.film_work ORDER BY id DESC LIMIT 1)",
    )
    .await;
    assert_eq!(
        worker.sync_once().0,
        1,
        "only the committed change is visible"
    );
    late.commit().await.unwrap();

    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed, 1, "{log}");
    assert_eq!(
        index
            .matching_ids("title.raw", "Committed Late")
            .await
            .len(),
        1
    );
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn renaming_a_person_in_hundreds_of_films_and_shared_timestamps() {
    let (db, index, mut worker) = captured("capture_fan_out").await;
    worker.set("PG2ES__SYNC__BATCH_SIZE", "50");
    db.execute(
        "INSERT INTO content.person (id, full_name) VALUES ('70000000-0000-0000-0000-000000000001', 'Omnipresent Actor');
         INSERT INTO content.person_film_work (film_work_id, person_id, role)
             SELECT id, '70000000-0000-0000-0000-000000000001', 'actor' FROM content.film_work ORDER BY id LIMIT 400;",
    )
    .await;
    worker.sync_once();
    db.execute(
        "UPDATE content.person SET full_name = 'Everywhere Actor', updated_at = now()
             WHERE id = '70000000-0000-0000-0000-000000000001';
         UPDATE content.film_work SET rating = 5, updated_at = now() WHERE id IN (SELECT id FROM content.film_work ORDER BY id DESC LIMIT 300);",
    )
    .await;
    let (indexed, _, _, _) = worker.sync_once();
    assert!(indexed >= 700, "indexed {indexed}");
    assert_eq!(
        index.matching_ids("actors_names", "Everywhere").await.len(),
        400
    );
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn notify_wakes_the_worker_long_before_its_poll_interval() {
    let (db, index, mut worker) = captured("capture_notify").await;
    worker.set("PG2ES__SYNC__POLL_INTERVAL", "1h");
    let (mut child, _log) = worker.spawn_run();
    // The first cycle runs at start; wait until the worker is idle (nothing left recorded).
    db.execute(&format!("UPDATE content.film_work SET title = 'Woken Up', updated_at = now() WHERE id = {SOME_FILM}"))
        .await;
    wait_until(
        "the notified change to be searchable",
        Duration::from_secs(30),
        || async { index.matching_ids("title.raw", "Woken Up").await.len() == 1 },
    )
    .await;
    // A second change after the worker went back to waiting.
    db.execute(&format!("UPDATE content.film_work SET title = 'Woken Twice', updated_at = now() WHERE id = {SOME_FILM}"))
        .await;
    wait_until(
        "the second notified change",
        Duration::from_secs(30),
        || async { index.matching_ids("title.raw", "Woken Twice").await.len() == 1 },
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn setup_is_idempotent_and_teardown_is_noticed() {
    let (db, _index, worker) = captured("capture_setup_teardown").await;
    assert!(worker.output(&["setup"]).status.success(), "setup twice");
    let check = worker.output(&["check"]);
    assert!(String::from_utf8_lossy(&check.stdout).contains("✓ change capture"));

    assert!(worker.output(&["teardown"]).status.success());
    let triggers = db
        .scalar_i64("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pg2es%'")
        .await;
    assert_eq!(triggers, 0);
    let output = worker.output(&["sync", "--once"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg2es setup"));
}

#[tokio::test]
async fn a_backlog_of_many_writes_to_few_rows_builds_each_document_once() {
    let (db, index, worker) = captured("capture_backlog_collapses").await;
    // A worker down while every film was updated 30 times: ~30,000 recorded changes.
    for _ in 0..30 {
        db.execute("UPDATE content.film_work SET rating = coalesce(rating, 0), updated_at = now()")
            .await;
    }
    assert!(pending_changes(&worker) >= 29_970);
    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed, 999, "one build per film, not per write: {log}");
    assert_eq!(pending_changes(&worker), 0);
    assert_index_equals_postgres(&db, &index).await;
}

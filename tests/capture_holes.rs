//! Writes that row triggers do not see unless told: `TRUNCATE`, writes made with
//! `session_replication_role = replica`, triggers someone disabled.

use crate::capture::captured;
use crate::support::{assert_index_equals_postgres, unique_name, SearchIndex, TestDb, Worker};

/// How many films list at least one genre.
async fn films_with_genres(db: &TestDb) -> i64 {
    db.scalar_i64("SELECT count(DISTINCT film_work_id) FROM content.genre_film_work")
        .await
}

#[tokio::test]
async fn truncating_a_followed_table_repairs_every_document_in_triggers_mode() {
    let (db, index, worker) = captured("holes_truncate_triggers").await;
    let with_genres = films_with_genres(&db).await;
    assert!(with_genres > 900, "{with_genres} films with genres");
    db.execute("TRUNCATE content.genre_film_work").await;

    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed as i64, with_genres, "{log}");
    assert!(log.contains("a followed table was truncated"), "{log}");
    assert_index_equals_postgres(&db, &index).await;

    // The root truncated (the link tables with it): every document goes.
    db.execute("TRUNCATE content.film_work CASCADE").await;
    let (_, deleted, _, log) = worker.sync_once();
    assert_eq!(deleted, 999, "{log}");
    assert_eq!(index.count().await, 0);
    // Acknowledged: the next cycle has nothing left to do.
    assert_eq!(worker.sync_once().0, 0);
}

#[tokio::test]
async fn truncating_a_followed_table_in_polling_mode_is_seen_by_the_partition_watch() {
    let name = unique_name("holes_truncate_polling");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    assert_eq!(worker.sync_once().0, 999);
    let with_genres = films_with_genres(&db).await;
    db.execute("TRUNCATE content.genre_film_work").await;

    // No row change moved: the table's new file is what the watch sees.
    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed as i64, with_genres, "{log}");
    assert!(
        log.contains("content.genre_film_work rewritten (TRUNCATE"),
        "{log}"
    );
    assert_index_equals_postgres(&db, &index).await;
    let verify = worker.output(&["verify"]);
    assert!(verify.status.success(), "verify finds nothing left");
}

#[tokio::test]
async fn writes_with_session_replication_role_replica_are_captured() {
    let (db, index, worker) = captured("holes_replica_role").await;
    // What a logical replication subscriber (or a restore that sets it) writes with.
    db.execute(
        "BEGIN;
         SET LOCAL session_replication_role = replica;
         UPDATE content.film_work SET title = 'Replicated ' || id
             WHERE id IN (SELECT id FROM content.film_work ORDER BY id LIMIT 10);
         COMMIT;",
    )
    .await;
    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed, 10, "{log}");
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn a_disabled_capture_trigger_is_reported_by_check_and_refused_at_start() {
    let (db, _index, worker) = captured("holes_disabled_trigger").await;
    db.execute("ALTER TABLE content.person_film_work DISABLE TRIGGER pg2es_record")
        .await;

    let check = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("✗ change capture triggers fire for every write: pg2es_record on content.person_film_work: disabled"),
        "{stdout}"
    );
    let sync = worker.output(&["sync", "--once"]);
    assert_eq!(sync.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&sync.stderr);
    assert!(
        stderr.contains("pg2es_record on content.person_film_work: disabled"),
        "{stderr}"
    );

    // `ENABLE TRIGGER` (what a restore puts back) fires for origin writes only: still reported.
    db.execute("ALTER TABLE content.person_film_work ENABLE TRIGGER pg2es_record")
        .await;
    let stdout = String::from_utf8_lossy(&worker.output(&["check"]).stdout).into_owned();
    assert!(
        stdout.contains("pg2es_record on content.person_film_work: not fired when session_replication_role = replica"),
        "{stdout}"
    );

    assert!(worker.output(&["setup"]).status.success());
    let stdout = String::from_utf8_lossy(&worker.output(&["check"]).stdout).into_owned();
    assert!(
        stdout.contains("✓ change capture triggers fire for every write"),
        "{stdout}"
    );
}

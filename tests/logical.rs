//! Logical capture (`sync.capture: logical`, after `pg2es setup`): the slot's stream reaches
//! the index, deletes of link rows included; its position is confirmed as Elasticsearch
//! acknowledges and moves with keepalives while idle; a truncated table rebuilds the index
//! behind the alias; `teardown` leaves no slot behind. Faults: tests/logical_faults.rs.

use std::time::Duration;

use crate::support::process::{http_get, Running};
use crate::support::{
    assert_index_equals_postgres, differences, no_logical_capture, unique_name, wait_until,
    SearchIndex, TestDb, Worker,
};

pub(crate) const SOME_FILM: &str =
    "(SELECT id FROM content.film_work ORDER BY id LIMIT 1 OFFSET 7)";
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// A back-filled index over the real dataset, followed through a slot.
pub(crate) async fn streamed(test: &str) -> (TestDb, SearchIndex, Worker) {
    let name = unique_name(test);
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.capture_logical();
    assert_eq!(worker.sync_once().0, 999);
    (db, index, worker)
}

/// The slots of the test's database: `(name, confirmed_flush_lsn)`.
pub(crate) async fn slots(db: &TestDb) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT slot_name::text, confirmed_flush_lsn::text FROM pg_replication_slots
         WHERE database = current_database() ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

/// Whether the index equals the documents Postgres builds (no panic: for waits).
pub(crate) async fn index_is_current(db: &TestDb, index: &SearchIndex) -> bool {
    index.refresh().await;
    differences(&db.expected_documents().await, &index.documents().await).is_empty()
}

/// Waits for the index to equal Postgres; a time-out shows the worker's log.
pub(crate) async fn wait_until_current(
    db: &TestDb,
    index: &SearchIndex,
    what: &str,
    running: &Running,
) {
    let wait = wait_until(what, DEADLINE, || index_is_current(db, index));
    if tokio::time::timeout(DEADLINE - Duration::from_secs(5), wait)
        .await
        .is_err()
    {
        panic!(
            "timed out waiting for {what}; worker log:\n{}",
            running.log()
        );
    }
}

#[tokio::test]
async fn logical_setup_check_and_teardown_leave_no_slot() {
    if no_logical_capture("logical_setup_check_and_teardown_leave_no_slot") {
        return;
    }
    let (db, _index, worker) = streamed("logical_setup").await;
    assert_eq!(slots(&db).await.len(), 1, "one slot per pipeline");
    let identity: String = sqlx::query_scalar(
        "SELECT relreplident::text FROM pg_class WHERE oid = 'content.person_film_work'::regclass",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(identity, "i", "USING INDEX over the referencing columns");
    let check = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{stdout}");
    assert!(
        stdout.contains("✓ replication slot pg2es_movies_"),
        "{stdout}"
    );
    assert!(
        stdout.contains("max_slot_wal_keep_size is unlimited"),
        "{stdout}"
    );

    // A replica identity too short for deletes is a failed check, with the way out.
    db.execute("ALTER TABLE content.genre_film_work REPLICA IDENTITY DEFAULT")
        .await;
    let check = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "{stdout}");
    assert!(
        stdout.contains("content.genre_film_work lacks film_work_id"),
        "{stdout}"
    );
    assert!(stdout.contains("pg2es setup"), "{stdout}");

    let teardown = worker.output(&["teardown"]);
    let stdout = String::from_utf8_lossy(&teardown.stdout);
    assert!(
        teardown.status.success(),
        "{}",
        String::from_utf8_lossy(&teardown.stderr)
    );
    assert!(
        stdout.contains("replication slot pg2es_movies_"),
        "{stdout}"
    );
    assert!(slots(&db).await.is_empty(), "teardown leaves no slot");
    assert_eq!(
        db.scalar_i64("SELECT count(*) FROM pg_publication").await,
        0
    );
}

#[tokio::test]
async fn logical_deleted_link_row_reaches_the_index() {
    if no_logical_capture("logical_deleted_link_row_reaches_the_index") {
        return;
    }
    let (db, index, worker) = streamed("logical_link_delete").await;
    let (film, person): (String, String) = sqlx::query_as(
        "SELECT film_work_id::text, person_id::text FROM content.person_film_work
         WHERE role = 'actor' ORDER BY id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    db.execute(&format!(
        "DELETE FROM content.person_film_work WHERE film_work_id = '{film}' AND person_id = '{person}';
         UPDATE content.genre_film_work SET film_work_id = {SOME_FILM}
             WHERE id = (SELECT id FROM content.genre_film_work gfw WHERE NOT EXISTS (
                 SELECT 1 FROM content.genre_film_work x WHERE x.film_work_id = {SOME_FILM} AND x.genre_id = gfw.genre_id)
                 ORDER BY id LIMIT 1);"
    ))
    .await;
    let (indexed, _, _, log) = worker.sync_once();
    assert!(
        indexed >= 2,
        "the film that lost the person, both films of the moved link: {log}"
    );
    let document = &index.documents().await[&film];
    let actors = document["actors"].as_array().unwrap();
    assert!(
        actors.iter().all(|actor| actor["id"] != person.as_str()),
        "{document}"
    );
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn logical_person_renamed_in_400_films_is_searchable() {
    if no_logical_capture("logical_person_renamed_in_400_films_is_searchable") {
        return;
    }
    let (db, index, worker) = streamed("logical_rename").await;
    db.execute(
        "INSERT INTO content.person (id, full_name) VALUES ('60000000-0000-0000-0000-000000000001', 'Prolific Person');
         INSERT INTO content.person_film_work (film_work_id, person_id, role)
             SELECT id, '60000000-0000-0000-0000-000000000001', 'writer' FROM content.film_work ORDER BY id LIMIT 400;",
    )
    .await;
    let mut running = Running::start(&worker);
    wait_until("the 400 films to name the person", DEADLINE, || async {
        index.refresh().await;
        index.matching_ids("writers_names", "Prolific").await.len() == 400
    })
    .await;
    db.execute("UPDATE content.person SET full_name = 'Renamed Writer', updated_at = now() WHERE id = '60000000-0000-0000-0000-000000000001'")
        .await;
    wait_until("the rename to reach the 400 films", DEADLINE, || async {
        index.refresh().await;
        index
            .matching_ids("writers_names", "Renamed Writer")
            .await
            .len()
            == 400
    })
    .await;
    running.kill();
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn logical_change_committed_while_the_worker_is_down_is_indexed_after_restart() {
    if no_logical_capture(
        "logical_change_committed_while_the_worker_is_down_is_indexed_after_restart",
    ) {
        return;
    }
    let (db, index, worker) = streamed("logical_restart").await;
    let mut running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    running.kill();
    db.execute(&format!(
        "UPDATE content.film_work SET title = 'While Down', updated_at = now() WHERE id = {SOME_FILM};
         DELETE FROM content.genre_film_work WHERE id = (SELECT id FROM content.genre_film_work ORDER BY id LIMIT 1);"
    ))
    .await;
    let mut running = Running::start(&worker);
    wait_until_current(
        &db,
        &index,
        "the change made while down to be indexed",
        &running,
    )
    .await;
    running.kill();
}

#[tokio::test]
async fn logical_idle_keepalives_move_the_confirmed_position() {
    if no_logical_capture("logical_idle_keepalives_move_the_confirmed_position") {
        return;
    }
    let (db, _index, mut worker) = streamed("logical_keepalive").await;
    // No cycle (and no mark it writes in the log) runs unless a followed table changes:
    // only keepalives can move the position.
    worker.set("PG2ES__SYNC__POLL_INTERVAL", "1h");
    worker.set("PG2ES__HTTP__ADDRESS", "127.0.0.1:0");
    db.execute("CREATE TABLE public.unfollowed (n int)").await;
    let mut running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    let before = slots(&db).await[0].1.clone();
    // Only a table no pipeline follows changes.
    db.execute("INSERT INTO public.unfollowed SELECT generate_series(1, 1000)")
        .await;
    let written: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    wait_until("the confirmed position to pass the unfollowed writes", DEADLINE, || async {
        db.execute("INSERT INTO public.unfollowed VALUES (0)").await;
        let moved: bool = sqlx::query_scalar(
            "SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE database = current_database()",
        )
        .bind(&written)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        moved
    })
    .await;
    assert_ne!(slots(&db).await[0].1, before);
    let address = running
        .log_field("http listening", "address", DEADLINE)
        .await;
    let exposition = http_get(&address, "/metrics").1;
    assert!(
        exposition.contains("pg2es_slot_retained_bytes{pipeline=\"movies\"}"),
        "{exposition}"
    );
    running.kill();
}

#[tokio::test]
async fn logical_status_gives_the_lag_once_the_back_fill_is_done() {
    if no_logical_capture("logical_status_gives_the_lag_once_the_back_fill_is_done") {
        return;
    }
    let (_db, _index, mut worker) = streamed("logical_status").await;
    let status = |args: &[&str]| String::from_utf8_lossy(&worker.output(args).stdout).into_owned();
    // No worker to ask: back-filled, and the lag line says where the lag is measured.
    let text = status(&["status"]);
    assert!(text.contains("back-fill:  done"), "{text}");
    assert!(
        text.contains("lag:        measured by the worker as it streams"),
        "{text}"
    );

    // A worker on a fixed port: `status` gives the lag it measured, 0 once it read the stream.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap();
    worker.set("PG2ES__HTTP__ADDRESS", &format!("127.0.0.1:{port}"));
    let status = |args: &[&str]| String::from_utf8_lossy(&worker.output(args).stdout).into_owned();
    let running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    let lag = || {
        let report: serde_json::Value =
            serde_json::from_str(&status(&["status", "--json"])).unwrap_or_default();
        report["lag_seconds"].as_f64()
    };
    wait_until("status to give the worker's lag", DEADLINE, || {
        std::future::ready(lag() == Some(0.0))
    })
    .await;
    let text = status(&["status"]);
    assert!(text.contains("lag:        0"), "{text}");
    drop(running);
}

#[tokio::test]
async fn logical_truncate_rebuilds_the_index_behind_the_alias() {
    if no_logical_capture("logical_truncate_rebuilds_the_index_behind_the_alias") {
        return;
    }
    let (db, index, worker) = streamed("logical_truncate").await;
    let before = index.alias_target().await;
    let mut running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    db.execute("TRUNCATE content.genre_film_work").await;
    wait_until_current(&db, &index, "every film to lose its genres", &running).await;
    running.wait_for_log("alias moved", DEADLINE).await;
    // Named for the truncation, not as a forced rebuild.
    assert!(
        running.log().contains("reason=Truncated"),
        "{}",
        running.log()
    );
    assert_ne!(
        index.alias_target().await,
        before,
        "rebuilt behind the alias"
    );
    running.kill();
}

#[tokio::test]
async fn logical_mode_without_the_replication_privilege_says_which() {
    let name = unique_name("logical_role");
    let db = TestDb::with_generated(&name, 5).await;
    let _index = SearchIndex::new(&name).await;
    // Roles belong to the cluster: this one is the test's own, dropped at the end.
    db.execute(&format!(
        "CREATE ROLE {name} LOGIN; GRANT USAGE ON SCHEMA content TO {name};
         GRANT SELECT ON ALL TABLES IN SCHEMA content TO {name};"
    ))
    .await;
    let mut worker = Worker::new(&db, &name);
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_username(&name).unwrap();
    worker.set("PG2ES__POSTGRES__URL", url.as_str());
    worker.set("PG2ES__SYNC__CAPTURE", "logical");
    let check = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout).into_owned();
    let sync = worker.output(&["sync", "--once"]);
    let stderr = String::from_utf8_lossy(&sync.stderr).into_owned();
    db.execute(&format!("DROP OWNED BY {name}; DROP ROLE {name}"))
        .await;
    assert!(!check.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("ALTER ROLE {name} REPLICATION")),
        "{stdout}"
    );
    assert!(!sync.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("ALTER ROLE {name} REPLICATION")),
        "{stderr}"
    );
}

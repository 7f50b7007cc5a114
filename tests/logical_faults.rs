//! Logical capture under faults: the slot dropped, Postgres restarted, the replication
//! connection cut, a server with another system identifier. Each ends with the index equal
//! to Postgres, rebuilt behind the alias where changes may have been missed.

use crate::logical::{slots, streamed, wait_until_current, DEADLINE, SOME_FILM};
use crate::support::pg_cluster::PgCluster;
use crate::support::process::Running;
use crate::support::{no_logical_capture, unique_name, SearchIndex, SearchMonitor, TestDb, Worker};

#[tokio::test]
async fn logical_slot_dropped_under_a_running_worker_is_made_again_and_the_index_rebuilt() {
    if no_logical_capture(
        "logical_slot_dropped_under_a_running_worker_is_made_again_and_the_index_rebuilt",
    ) {
        return;
    }
    let (db, index, worker) = streamed("logical_slot_lost").await;
    let before = index.alias_target().await;
    let mut running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    let monitor = SearchMonitor::start(&index.name, 999);
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    db.execute(&crate::support::drop_slots_sql(&name)).await;
    db.execute(&format!(
        "UPDATE content.film_work SET title = 'After The Slot', updated_at = now() WHERE id = {SOME_FILM}"
    ))
    .await;
    running.wait_for_log("alias moved", DEADLINE).await;
    wait_until_current(&db, &index, "the index to equal Postgres again", &running).await;
    assert_ne!(
        index.alias_target().await,
        before,
        "rebuilt behind the alias"
    );
    assert_eq!(slots(&db).await.len(), 1, "a new slot");
    monitor.stop().await.assert_clean(1);
    running.kill();
}

/// The publication dropped under the worker stops the pipeline naming it: Postgres before 18
/// refuses to decode with it (a stream error another attempt meets again, which stops the
/// pipeline instead of reconnecting at once for ever), Postgres 18 streams on without its
/// tables' changes, which each cycle's look at the publication catches. After `setup`, the
/// next start rebuilds.
#[tokio::test]
async fn logical_publication_dropped_under_a_running_worker_stops_it_with_the_reason() {
    if no_logical_capture(
        "logical_publication_dropped_under_a_running_worker_stops_it_with_the_reason",
    ) {
        return;
    }
    let (db, index, worker) = streamed("logical_pub_dropped").await;
    let mut running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    let publication: String = sqlx::query_scalar("SELECT pubname::text FROM pg_publication")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    db.execute(&format!("DROP PUBLICATION \"{publication}\""))
        .await;
    db.execute(&format!(
        "UPDATE content.film_work SET title = 'After The Publication', updated_at = now() WHERE id = {SOME_FILM}"
    ))
    .await;
    let code = running.wait_for_exit(DEADLINE).await;
    let log = running.log();
    assert_ne!(code, Some(0), "{log}");
    assert!(
        log.contains(&publication),
        "the reason names the publication: {log}"
    );
    assert!(
        running.logged("replication stream lost") <= 1,
        "reconnected again and again: {log}"
    );
    // `setup` makes the publication again; nothing was decoded while it was gone (Postgres 18
    // skips those changes, earlier releases stop at them), so the next start makes a new slot
    // and rebuilds: the film changed meanwhile is indexed.
    let setup = worker.output(&["setup"]);
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let restarted = Running::start(&worker);
    restarted
        .wait_for_log("was dropped and made again", DEADLINE)
        .await;
    wait_until_current(&db, &index, "the index to equal Postgres again", &restarted).await;
}

#[tokio::test]
async fn logical_postgres_restarted_mid_stream_loses_nothing() {
    if no_logical_capture("logical_postgres_restarted_mid_stream_loses_nothing") {
        return;
    }
    let cluster = PgCluster::start();
    let name = unique_name("logical_pg_restart");
    let db = TestDb::generated_on(&cluster.admin_url(), &name, 50).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.capture_logical();
    assert_eq!(worker.sync_once().0, 50);
    let mut running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    db.execute(
        "UPDATE content.film_work SET title = 'Before The Restart', updated_at = now()
         WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)",
    )
    .await;
    cluster.stop();
    // The worker lock's session ends with the server: the worker stops writing and stands by.
    running.wait_for_log("standing by", DEADLINE).await;
    cluster.resume();
    db.execute(
        "DELETE FROM content.person_film_work WHERE id = (SELECT id FROM content.person_film_work ORDER BY id LIMIT 1);
         UPDATE content.film_work SET title = 'After The Restart', updated_at = now()
         WHERE id = (SELECT id FROM content.film_work ORDER BY id DESC LIMIT 1)",
    )
    .await;
    wait_until_current(
        &db,
        &index,
        "the changes around the restart to be indexed",
        &running,
    )
    .await;
    assert!(running.try_wait().is_none(), "{}", running.log());
    running.kill();
}

#[tokio::test]
async fn logical_replication_connection_cut_reconnects_from_the_confirmed_position() {
    if no_logical_capture(
        "logical_replication_connection_cut_reconnects_from_the_confirmed_position",
    ) {
        return;
    }
    let (db, index, worker) = streamed("logical_cut").await;
    let mut running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    // Only the walsender goes: the worker lock's session stays.
    db.execute(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
         WHERE database = current_database() AND active_pid IS NOT NULL",
    )
    .await;
    db.execute(&format!(
        "UPDATE content.film_work SET title = 'After The Cut', updated_at = now() WHERE id = {SOME_FILM}"
    ))
    .await;
    wait_until_current(
        &db,
        &index,
        "the change after the cut to be indexed",
        &running,
    )
    .await;
    let log = running.log();
    assert!(log.contains("replication stream lost"), "{log}");
    assert!(!log.contains("rebuilding"), "the slot is kept: {log}");
    running.kill();
}

#[tokio::test]
async fn logical_server_with_another_system_identifier_gets_a_new_slot_and_a_rebuild() {
    if no_logical_capture(
        "logical_server_with_another_system_identifier_gets_a_new_slot_and_a_rebuild",
    ) {
        return;
    }
    let (db, index, worker) = streamed("logical_sysid").await;
    let before = index.alias_target().await;
    // As after a restore onto another server: the state file knows another server.
    let path = worker.state_path();
    let state = std::fs::read_to_string(&path).unwrap();
    let known = state
        .lines()
        .find_map(|line| line.strip_prefix("slot_server: "))
        .unwrap_or_else(|| panic!("no slot_server in {state}"))
        .to_owned();
    std::fs::write(&path, state.replace(&known, "'1234/1'")).unwrap();
    db.execute(&format!(
        "UPDATE content.film_work SET title = 'On Another Server', updated_at = now() WHERE id = {SOME_FILM}"
    ))
    .await;
    let mut running = Running::start(&worker);
    running.wait_for_log("alias moved", DEADLINE).await;
    wait_until_current(&db, &index, "the index to equal Postgres", &running).await;
    assert!(
        running.log().contains("the Postgres server changed"),
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

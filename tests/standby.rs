use std::time::Duration;

use crate::support::process::Running;
use crate::support::{no_logical_capture, unique_name, wait_until, SearchIndex, TestDb, Worker};

const FILMS: u32 = 50;
const NEW_FILM: &str = "70000000-0000-0000-0000-000000000001";

#[tokio::test]
async fn a_second_worker_stands_by_and_takes_over_when_the_first_is_killed() {
    takes_over("standby", false).await;
}

/// A slot has one reader: the standby takes it over once the killed worker's walsender let go,
/// from the confirmed position (a change made meanwhile is streamed, not back-filled).
#[tokio::test]
async fn a_second_worker_stands_by_and_takes_over_the_slot_when_the_first_is_killed() {
    if no_logical_capture(
        "a_second_worker_stands_by_and_takes_over_the_slot_when_the_first_is_killed",
    ) {
        return;
    }
    takes_over("standby_slot", true).await;
}

async fn takes_over(test: &str, logical: bool) {
    let name = unique_name(test);
    let db = TestDb::with_generated(&name, FILMS).await;
    let index = SearchIndex::new(&name).await;
    let mut first = Worker::new(&db, &name);
    // The second worker shares the first one's state file, as replicas on a shared volume do.
    let mut second = Worker::new(&db, &name);
    let state = first.state_setting().display().to_string();
    second.set("PG2ES__STATE__PATH", &state);
    if logical {
        first.capture_logical();
        second.set("PG2ES__SYNC__CAPTURE", "logical");
    }

    let mut active = Running::start(&first);
    active
        .wait_for_log("acquired the worker lock", Duration::from_secs(30))
        .await;
    first.wait_backfilled(Duration::from_secs(60)).await;

    // `sync --once` does not run beside an active worker.
    let output = second.output(&["sync", "--once"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another pg2es worker is active"),
        "{stderr}"
    );

    let standby = Running::start(&second);
    standby
        .wait_for_log("standing by", Duration::from_secs(30))
        .await;
    let log = standby.log();
    assert!(
        !log.contains("pg2es starting") && !log.contains("acquired"),
        "a standby reads and writes nothing: {log}"
    );

    active.kill();
    db.execute(&format!(
        "INSERT INTO content.film_work (id, title, type) VALUES ('{NEW_FILM}', 'After Takeover', 'movie')"
    ))
    .await;
    standby
        .wait_for_log("acquired the worker lock", Duration::from_secs(15))
        .await;
    wait_until(
        "the change to reach the index",
        Duration::from_secs(30),
        || async { index.count().await == u64::from(FILMS) + 1 },
    )
    .await;
    assert!(standby.log().contains("pg2es starting"));
    assert!(
        !standby.log().contains("back-fill starting"),
        "the standby carries on from the shared state file: {}",
        standby.log()
    );
}

#[tokio::test]
async fn a_worker_whose_lock_connection_is_cut_stops_writing_and_takes_the_lock_again() {
    let name = unique_name("lock_lost");
    let db = TestDb::with_generated(&name, 10).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    let mut active = Running::start(&worker);
    active
        .wait_for_log("acquired the worker lock", Duration::from_secs(30))
        .await;

    // As a Postgres restart or a network cut would: the session holding the lock goes away.
    assert_eq!(
        db.end_lock_sessions().await,
        1,
        "one session holds the lock"
    );

    active
        .wait_for_log("lost the worker lock", Duration::from_secs(30))
        .await;
    wait_until("the lock taken again", Duration::from_secs(30), || {
        std::future::ready(active.log().matches("acquired the worker lock").count() >= 2)
    })
    .await;
    assert_eq!(active.try_wait(), None, "{}", active.log());
    // And it works again.
    db.execute("INSERT INTO content.film_work (title, type) VALUES ('Lockstep', 'movie')")
        .await;
    wait_until(
        "the new film in the index",
        Duration::from_secs(30),
        || async { !index.matching_ids("title", "lockstep").await.is_empty() },
    )
    .await;
}

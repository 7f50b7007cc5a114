//! A failover under logical capture: a private primary with a hot standby, the worker
//! streaming from the primary's slot, the primary stopped, the standby promoted and the worker
//! started again with postgres.url pointing at it. On Postgres 17+ the standby synchronized
//! the failover slot and has every change the worker got (synchronized_standby_slots): the
//! worker reads on from the slot, without a rebuild. Before 17 no slot outlives a promotion:
//! a new slot and a rebuild behind the alias. Either way the index ends equal to Postgres.

use crate::logical::{wait_until_current, DEADLINE, SOME_FILM};
use crate::support::pg_cluster::PgCluster;
use crate::support::process::Running;
use crate::support::proxy::{Fault, Proxy};
use crate::support::{
    no_logical_capture, server_version_num, unique_name, wait_until, SearchIndex, TestDb, Worker,
};

const FILMS: u32 = 200;

/// `server_version_num` of the test's own cluster (`PG2ES_TEST_PG_BIN`, which may be another
/// version than the shared stack's).
async fn version_of(db: &TestDb) -> i32 {
    sqlx::query_scalar::<_, String>("SHOW server_version_num")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .parse()
        .unwrap()
}

/// The standby's copy of the worker's slot is persistent, synchronized from the primary, and
/// has replayed everything the primary wrote so far.
async fn standby_caught_up(primary: &TestDb, standby: &TestDb) -> bool {
    let Ok(written) = sqlx::query_scalar::<_, String>("SELECT pg_current_wal_lsn()::text")
        .fetch_one(&primary.pool)
        .await
    else {
        return false;
    };
    sqlx::query_scalar::<_, bool>(
        "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AND EXISTS (
             SELECT 1 FROM pg_replication_slots
             WHERE slot_name LIKE 'pg2es%' AND synced AND NOT temporary)",
    )
    .bind(written)
    .fetch_one(&standby.pool)
    .await
    .unwrap_or(false)
}

/// `check` fails while synchronized_standby_slots names a slot no standby reads (the stream
/// would wait for it), then passes again once it names only the standby's.
async fn standby_slots_checked(db: &TestDb, worker: &Worker) {
    let set = |slots: &'static str| async move {
        db.execute(&format!(
            "ALTER SYSTEM SET synchronized_standby_slots = '{slots}'"
        ))
        .await;
        db.execute("SELECT pg_reload_conf()").await;
    };
    let check_says = |text: &'static str| {
        let check = worker.output(&["check"]);
        std::future::ready(String::from_utf8_lossy(&check.stdout).contains(text))
    };
    set("pg2es_test_standby, pg2es_test_gone").await;
    wait_until(
        "check to fail on the standby slot no standby reads",
        DEADLINE,
        || check_says("names pg2es_test_gone, which no standby reads now"),
    )
    .await;
    set(PgCluster::STANDBY_SLOT).await;
    wait_until(
        "check to pass again with the standby's slot only",
        DEADLINE,
        || check_says("kept across a failover: a failover slot"),
    )
    .await;
}

async fn rename(db: &TestDb, title: &str) {
    db.execute(&format!(
        "UPDATE content.film_work SET title = '{title}', updated_at = now() WHERE id = {SOME_FILM}"
    ))
    .await;
}

#[tokio::test]
async fn logical_failover_keeps_the_slot_on_postgres_17_and_rebuilds_before() {
    let primary = PgCluster::start();
    let name = unique_name("failover");
    let db = TestDb::generated_on(&primary.admin_url(), &name, FILMS).await;
    let version = version_of(&db).await;
    if version < 140_000 {
        eprintln!("logical_failover_keeps_the_slot_on_postgres_17_and_rebuilds_before: skipped: logical capture needs PostgreSQL 14, this cluster is {version}");
        return;
    }
    let keeps = version >= 170_000;
    let standby = match keeps {
        true => primary.synced_standby(),
        false => primary.standby(),
    };
    let on_standby = db.on_server(&standby.admin_url());
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.capture_logical();
    assert_eq!(worker.sync_once().0, u64::from(FILMS));
    let check = worker.output(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout);
    match keeps {
        true => assert!(
            said.contains("kept across a failover: a failover slot; the primary waits for the standby of pg2es_test_standby"),
            "{said}"
        ),
        false => assert!(
            said.contains("kept across a failover: no: PostgreSQL before 17"),
            "{said}"
        ),
    }

    if keeps {
        standby_slots_checked(&db, &worker).await;
    }

    let mut running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    for round in 0..5 {
        rename(&db, &format!("Before The Failover {round}")).await;
    }
    wait_until_current(
        &db,
        &index,
        "the changes on the primary to be indexed",
        &running,
    )
    .await;
    if keeps {
        wait_until(
            "the standby to have synchronized the slot and replayed every change",
            DEADLINE,
            || standby_caught_up(&db, &on_standby),
        )
        .await;
    }
    running.kill();
    let live = index.alias_target().await;

    primary.stop();
    standby.promote();
    // The promotion's checkpoint done: what reads the timeline from the last checkpoint sees
    // the new one (without it, a start in the moment after the promotion could see the old).
    on_standby.execute("CHECKPOINT").await;
    rename(&on_standby, "After The Failover").await;
    worker.set("PG2ES__POSTGRES__URL", &on_standby.url);
    let restarted = Running::start(&worker);
    restarted.wait_for_log("streaming changes", DEADLINE).await;
    wait_until_current(
        &on_standby,
        &index,
        "the index to equal the promoted server",
        &restarted,
    )
    .await;
    let log = restarted.log();
    match keeps {
        true => {
            assert_eq!(index.alias_target().await, live, "no rebuild: {log}");
            assert!(!log.contains("rebuilding"), "no rebuild: {log}");
            assert!(log.contains("promoted standby that kept the slot"), "{log}");
        }
        false => {
            assert_ne!(index.alias_target().await, live, "rebuilt: {log}");
            assert!(log.contains("Postgres before 17 keeps no slot"), "{log}");
        }
    }
    let state = worker.state().expect("a state file");
    if keeps {
        assert!(state["rebuild"].is_null(), "no rebuild under way: {state}");
    }
    let server = state["slot_server"].as_str().unwrap_or_default();
    assert!(server.ends_with("/2"), "the new timeline: {state}");
}

/// A slot made before failover slots existed (by Postgres 16, or an earlier release) gets
/// failover turned on by `setup` on Postgres 17+, and `check` then says no standby keeps it
/// yet (the stack's server has none). Before 17, `setup` says no slot outlives a failover.
#[tokio::test]
async fn logical_setup_turns_failover_on_for_a_slot_made_before() {
    if no_logical_capture("logical_setup_turns_failover_on_for_a_slot_made_before") {
        return;
    }
    let name = unique_name("failover_setup");
    let db = TestDb::with_generated(&name, 20).await;
    let _index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    let slot = format!("pg2es_movies_{name}");
    db.execute(&format!(
        "SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')"
    ))
    .await;
    worker.set("PG2ES__SYNC__CAPTURE", "logical");
    let setup = worker.output(&["setup"]);
    let said = String::from_utf8_lossy(&setup.stdout);
    assert!(
        setup.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    if server_version_num() < 170_000 {
        assert!(
            said.contains("PostgreSQL before 17 keeps no slot across a failover"),
            "{said}"
        );
        return;
    }
    assert!(
        said.contains(&format!("replication slot {slot}: failover turned on")),
        "{said}"
    );
    let failover: bool =
        sqlx::query_scalar("SELECT failover FROM pg_replication_slots WHERE slot_name = $1")
            .bind(&slot)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(failover, "{said}");
    let check = worker.output(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains("kept across a failover: a failover slot, but synchronized_standby_slots names no standby"),
        "{said}"
    );
}

/// The other side on Postgres 17+: the primary stops waiting for the standby
/// (synchronized_standby_slots emptied) and the standby is stopped, so the worker indexes a
/// rename the standby never gets. After the promotion the slot is there, but the index holds a
/// change past the fork: a new slot and a rebuild behind the alias, and the index ends equal
/// to the promoted server, without the lost rename.
#[tokio::test]
async fn logical_failover_to_a_standby_without_every_indexed_change_rebuilds() {
    let primary = PgCluster::start();
    let name = unique_name("failover_behind");
    let db = TestDb::generated_on(&primary.admin_url(), &name, FILMS).await;
    let version = version_of(&db).await;
    if version < 170_000 {
        eprintln!("logical_failover_to_a_standby_without_every_indexed_change_rebuilds: skipped: failover slots need PostgreSQL 17, this cluster is {version} (logical_failover_keeps_the_slot_on_postgres_17_and_rebuilds_before checks the rebuild there)");
        return;
    }
    let standby = primary.synced_standby();
    let on_standby = db.on_server(&standby.admin_url());
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.capture_logical();
    assert_eq!(worker.sync_once().0, u64::from(FILMS));
    let mut running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    rename(&db, "Before The Standby Stopped").await;
    wait_until_current(&db, &index, "the first rename to be indexed", &running).await;
    wait_until(
        "the standby to have synchronized the slot and replayed every change",
        DEADLINE,
        || standby_caught_up(&db, &on_standby),
    )
    .await;

    db.execute("ALTER SYSTEM SET synchronized_standby_slots = ''")
        .await;
    db.execute("SELECT pg_reload_conf()").await;
    standby.stop();
    rename(&db, "Only On The Old Primary").await;
    wait_until_current(
        &db,
        &index,
        "the rename the standby never got to be indexed",
        &running,
    )
    .await;
    running.kill();
    let live = index.alias_target().await;

    primary.stop();
    standby.resume();
    standby.promote();
    worker.set("PG2ES__POSTGRES__URL", &on_standby.url);
    let restarted = Running::start(&worker);
    restarted.wait_for_log("alias moved", DEADLINE).await;
    wait_until_current(
        &on_standby,
        &index,
        "the index to equal the promoted server, without the lost rename",
        &restarted,
    )
    .await;
    let log = restarted.log();
    assert!(log.contains("which the promoted server never had"), "{log}");
    assert_ne!(index.alias_target().await, live, "rebuilt: {log}");
}

/// The same failover under a worker that keeps running, with postgres.url naming one address
/// that the failover moves to the promoted server (a proxy here; a DNS name or a virtual IP in
/// production): the worker stands by while the address answers nothing, takes its lock again
/// on the promoted server and reads on from the slot it kept, without a rebuild.
// Two runtime threads: the proxy forwards while the test waits for a pg2es command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logical_failover_under_a_running_worker_behind_one_address_keeps_the_slot() {
    let primary = PgCluster::start();
    let name = unique_name("failover_running");
    let db = TestDb::generated_on(&primary.admin_url(), &name, FILMS).await;
    let version = version_of(&db).await;
    if version < 170_000 {
        eprintln!("logical_failover_under_a_running_worker_behind_one_address_keeps_the_slot: skipped: failover slots need PostgreSQL 17, this cluster is {version}");
        return;
    }
    let standby = primary.synced_standby();
    let on_standby = db.on_server(&standby.admin_url());
    let address = Proxy::start(&format!("127.0.0.1:{}", primary.port)).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set(
        "PG2ES__POSTGRES__URL",
        &db.url.replace(
            &format!(":{}/", primary.port),
            &format!(":{}/", address.port),
        ),
    );
    worker.capture_logical();
    assert_eq!(worker.sync_once().0, u64::from(FILMS));
    let mut running = Running::start(&worker);
    running.wait_for_log("streaming changes", DEADLINE).await;
    rename(&db, "Before The Failover").await;
    wait_until_current(
        &db,
        &index,
        "the rename on the primary to be indexed",
        &running,
    )
    .await;
    wait_until(
        "the standby to have synchronized the slot and replayed every change",
        DEADLINE,
        || standby_caught_up(&db, &on_standby),
    )
    .await;
    let live = index.alias_target().await;

    primary.stop();
    address.set(Fault::Refuse);
    running.wait_for_log("standing by", DEADLINE).await;
    standby.promote();
    address.redirect(&format!("127.0.0.1:{}", standby.port));
    address.set(Fault::None);
    rename(&on_standby, "After The Failover").await;
    wait_until_current(
        &on_standby,
        &index,
        "the index to equal the promoted server",
        &running,
    )
    .await;
    let log = running.log();
    assert_eq!(index.alias_target().await, live, "no rebuild: {log}");
    assert!(!log.contains("rebuilding"), "no rebuild: {log}");
    assert!(log.contains("promoted standby that kept the slot"), "{log}");
    let state = worker.state().expect("a state file");
    assert!(state["rebuild"].is_null(), "no rebuild under way: {state}");
    running.kill();
}

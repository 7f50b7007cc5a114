//! Logical capture reading a slot on a hot standby (Postgres 16+): `setup` makes the
//! publication and replica identities on the primary (`postgres.primary_url`) and the slot on
//! the standby; the worker then reads the standby alone, through random writes on the primary
//! and kill -9 of the worker, and the index ends equal to the primary's rows. No pg2es session
//! is open on the primary while it runs. Moved to the primary, whose slot is another, the
//! worker says so and rebuilds.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::randomized::{random_write, seeds};
use crate::support::pg_cluster::PgCluster;
use crate::support::process::Running;
use crate::support::{
    assert_index_equals_postgres, unique_name, wait_until, wait_until_or, SearchIndex, TestDb,
    Worker,
};

const FILMS: u32 = 200;
const ROUNDS: usize = 4;

#[tokio::test]
async fn logical_capture_reads_a_standbys_slot_through_kills_and_the_index_equals_postgres() {
    let primary = PgCluster::start();
    let name = unique_name("standby_capture");
    let db = TestDb::generated_on(&primary.admin_url(), &name, FILMS).await;
    let version = db
        .scalar_i64("SELECT current_setting('server_version_num')::int8")
        .await;
    if version < 160_000 {
        eprintln!(
            "standby_capture: skipped: a slot on a standby needs PostgreSQL 16, this is {version}"
        );
        return;
    }
    let seed = seeds()[0];
    eprintln!("standby_capture: seed {seed} (replay: PG2ES_TEST_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let standby = primary.standby();
    let on_standby = db.url.replace(
        &format!(":{}/", primary.port),
        &format!(":{}/", standby.port),
    );
    let replica = sqlx::PgPool::connect_lazy(&on_standby).unwrap();
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__POSTGRES__URL", &on_standby);
    worker.set("PG2ES__SYNC__CAPTURE", "logical");
    worker.set(
        "PG2ES__SYNC__BATCH_SIZE",
        &rng.random_range(5..50).to_string(),
    );
    replayed(&db, &replica).await;

    // `setup` cannot write the publication on the standby: it asks for the primary.
    let refused = worker.output(&["setup"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("set postgres.primary_url"), "{stderr}");
    worker.set("PG2ES__POSTGRES__PRIMARY_URL", &db.url);
    let setup = worker.output(&["setup"]);
    let stdout = String::from_utf8_lossy(&setup.stdout);
    assert!(
        setup.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    assert!(stdout.contains("created on the hot standby"), "{stdout}");

    // From here on the worker knows only the standby.
    worker.unset("PG2ES__POSTGRES__PRIMARY_URL");
    assert_eq!(worker.sync_once().0, u64::from(FILMS));
    let check = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "✓ postgres is the primary: a hot standby: logical capture reads its own slot there"
        ) && stdout.contains("✓ hot_standby_feedback"),
        "{stdout}"
    );

    for round in 0..ROUNDS {
        for _ in 0..rng.random_range(1..12) {
            db.execute(&random_write(&mut rng)).await;
        }
        let target = db.scalar_text("SELECT pg_current_wal_lsn()::text").await;
        let mut running = Running::start(&worker);
        let early = rng.random_bool(0.3);
        wait_until_or(
            &format!("round {round}: the standby's slot confirmed past {target}"),
            Duration::from_secs(60),
            || async { early || confirmed_past(&replica, &target).await },
            || running.log(),
        )
        .await;
        if round == 0 && !early {
            let sessions = db
                .scalar_i64(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pg2es%'",
                )
                .await;
            assert_eq!(sessions, 0, "no pg2es session on the primary");
        }
        running.kill();
    }

    // Writes while no worker runs: `sync --once` on the standby reads up to what the
    // standby had replayed when it started (its fence), so it indexes every one of them.
    for _ in 0..rng.random_range(5..12) {
        db.execute(&random_write(&mut rng)).await;
    }
    replayed(&db, &replica).await;
    worker.sync_once();
    assert_index_equals_postgres(&db, &index).await;

    // The same worker moved to the primary: the primary's slot is another one, whose position
    // says nothing of what the index holds. Said, and rebuilt from it.
    worker.set("PG2ES__POSTGRES__URL", &db.url);
    assert!(worker.output(&["setup"]).status.success());
    db.execute(&random_write(&mut rng)).await;
    let (_, _, _, stderr) = worker.sync_once();
    assert!(
        stderr.contains("the Postgres server changed") && stderr.contains("standby"),
        "{stderr}"
    );
    assert_index_equals_postgres(&db, &index).await;
}

/// Waits until the standby has replayed everything the primary wrote so far.
async fn replayed(db: &TestDb, replica: &sqlx::PgPool) {
    let target = db.scalar_text("SELECT pg_current_wal_lsn()::text").await;
    wait_until(
        &format!("the standby to replay up to {target}"),
        Duration::from_secs(60),
        || async {
            sqlx::query_scalar::<_, bool>("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
                .bind(&target)
                .fetch_one(replica)
                .await
                .unwrap_or(false)
        },
    )
    .await;
}

async fn confirmed_past(replica: &sqlx::PgPool, target: &str) -> bool {
    sqlx::query_scalar::<_, bool>(
        "SELECT coalesce(bool_and(confirmed_flush_lsn >= $1::pg_lsn), false)
         FROM pg_replication_slots WHERE slot_type = 'logical'",
    )
    .bind(target)
    .fetch_one(replica)
    .await
    .unwrap_or(false)
}

/// The standby whose own slot the worker reads is promoted (the primary lost): its slot is
/// still there, and the index holds only what that server had replayed, so the worker reads on
/// from it on the promoted server, without a rebuild (16+, no failover slot needed).
#[tokio::test]
async fn the_standby_read_is_promoted_and_its_slot_is_read_on_without_a_rebuild() {
    let primary = PgCluster::start();
    let name = unique_name("standby_promoted");
    let db = TestDb::generated_on(&primary.admin_url(), &name, 50).await;
    let version = db
        .scalar_i64("SELECT current_setting('server_version_num')::int8")
        .await;
    if version < 160_000 {
        eprintln!(
            "standby_promoted: skipped: a slot on a standby needs PostgreSQL 16, this is {version}"
        );
        return;
    }
    let standby = primary.standby();
    let promoted = db.on_server(&standby.admin_url());
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__POSTGRES__URL", &promoted.url);
    worker.set("PG2ES__POSTGRES__PRIMARY_URL", &db.url);
    worker.set("PG2ES__SYNC__CAPTURE", "logical");
    replayed(&db, &promoted.pool).await;
    assert!(worker.output(&["setup"]).status.success());
    worker.unset("PG2ES__POSTGRES__PRIMARY_URL");
    assert_eq!(worker.sync_once().0, 50);
    db.execute("UPDATE content.film_work SET title = title || ' (before)' WHERE rating > 5")
        .await;
    replayed(&db, &promoted.pool).await;
    worker.sync_once();
    assert_index_equals_postgres(&db, &index).await;
    let live = index.alias_target().await;

    primary.stop();
    standby.promote();
    promoted.execute("CHECKPOINT").await;
    promoted
        .execute("UPDATE content.film_work SET title = title || ' (after)' WHERE rating <= 5")
        .await;
    let (_, _, _, stderr) = worker.sync_once();
    assert!(
        stderr.contains("the hot standby whose slot was read, promoted")
            && !stderr.contains("server changed"),
        "{stderr}"
    );
    assert_eq!(index.alias_target().await, live, "no rebuild: {stderr}");
    assert_index_equals_postgres(&promoted, &index).await;
    let state = worker.state().expect("a state file");
    let server = state["slot_server"].as_str().unwrap_or_default();
    assert!(
        server.ends_with("/2"),
        "the promoted server's timeline: {state}"
    );
}

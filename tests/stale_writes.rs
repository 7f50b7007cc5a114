//! No stale write lands: every write carries the version of the snapshot its document was
//! built from (`version_type=external_gte`), so the index itself refuses a batch built before
//! a handover and delivered after it, and pg2es counts it.

use std::time::Duration;

use crate::support::pg_cluster::PgCluster;
use crate::support::process::Running;
use crate::support::proxy::{Fault, Proxy};
use crate::support::{
    assert_index_equals_postgres, search_url, unique_name, wait_until, wait_until_or, SearchIndex,
    TestDb, Worker,
};

const FILMS: u32 = 10;
const DEADLINE: Duration = Duration::from_secs(60);

/// The worker's log line that counts what the index refused as stale.
const STALE: &str = "writes refused by the index as stale";

/// A worker is cut off from Postgres while its bulk request (two films as they were) is held
/// back on the way to the index; the standby worker takes the lock over and writes what
/// Postgres holds now (one film renamed again, the other deleted); then the held request
/// arrives. The index refuses both of its writes, the old worker counts them, and the index
/// still equals Postgres.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_back_batch_of_a_worker_cut_off_is_refused_after_the_standby_took_over() {
    let name = unique_name("stale_held");
    let db = TestDb::with_generated(&name, FILMS).await;
    let index = SearchIndex::new(&name).await;
    let pg_port = db
        .url
        .rsplit_once(':')
        .unwrap()
        .1
        .split('/')
        .next()
        .unwrap();
    let to_postgres = Proxy::start(&format!("127.0.0.1:{pg_port}")).await;
    let search = search_url();
    let to_search = Proxy::start(search.trim_start_matches("http://")).await;

    let mut first = Worker::new(&db, &name);
    first
        .set(
            "PG2ES__POSTGRES__URL",
            &db.url
                .replace(&format!(":{pg_port}/"), &format!(":{}/", to_postgres.port)),
        )
        .set("PG2ES__ELASTICSEARCH__URL", &to_search.url())
        // The held request must not time out and be sent again while the test holds it.
        .set("PG2ES__ELASTICSEARCH__TIMEOUT", "300s");
    first.capture_with_triggers();
    let mut second = Worker::new(&db, &name);
    let state = first.state_setting().display().to_string();
    second
        .set("PG2ES__STATE__PATH", &state)
        .set("PG2ES__SYNC__CAPTURE", "triggers");

    let old = Running::start(&first);
    old.wait_for_log("acquired the worker lock", DEADLINE).await;
    first.wait_backfilled(DEADLINE).await;
    let standby = Running::start(&second);
    standby.wait_for_log("standing by", DEADLINE).await;

    let film = |offset: u32| {
        let db = &db;
        async move {
            db.scalar_text(&format!(
                "SELECT id::text FROM content.film_work ORDER BY id OFFSET {offset} LIMIT 1"
            ))
            .await
        }
    };
    let (renamed, deleted) = (film(0).await, film(1).await);

    // The old worker's batch with both films as they are now is held on its way.
    to_search.set(Fault::HoldFrom("Held Back"));
    db.execute(&format!(
        "UPDATE content.film_work SET title = 'Held Back', updated_at = now()
         WHERE id IN ('{renamed}', '{deleted}')"
    ))
    .await;
    wait_until_or(
        "the old worker's bulk request with both films to be held",
        DEADLINE,
        || std::future::ready(to_search.held("Held Back") >= 2),
        || old.log(),
    )
    .await;

    // Cut off: it stands still, and its lock's session ends on the server while the network
    // keeps the old worker from noticing (it would stop writing, and not see its answer).
    old.pause();
    to_postgres.set(Fault::Stall);
    let ended = db.end_lock_sessions().await;
    assert_eq!(ended, 1, "one session holds the worker lock");

    db.execute(&format!(
        "UPDATE content.film_work SET title = 'Written Since', updated_at = now()
         WHERE id = '{renamed}';
         DELETE FROM content.film_work WHERE id = '{deleted}'"
    ))
    .await;
    standby
        .wait_for_log("acquired the worker lock", DEADLINE)
        .await;
    wait_until_or(
        "the standby worker to write what Postgres holds now",
        DEADLINE,
        || async {
            let documents = index.documents().await;
            let title = documents
                .get(&renamed)
                .and_then(|source| source["title"].as_str().map(str::to_owned));
            title.as_deref() == Some("Written Since") && !documents.contains_key(&deleted)
        },
        || standby.log(),
    )
    .await;

    // The held request arrives at the index, and its answer at the old worker.
    to_search.set(Fault::None);
    old.resume();
    wait_until_or(
        "the old worker to count its writes refused as stale",
        DEADLINE,
        || std::future::ready(old.logged(STALE) > 0),
        || old.log(),
    )
    .await;
    let log = old.log();
    let line = log.lines().find(|line| line.contains(STALE)).unwrap();
    assert!(line.contains("stale=2"), "{line}");
    assert_index_equals_postgres(&db, &index).await;
    drop(standby);
    drop(old);
    to_postgres.set(Fault::None);
}

/// A document someone else wrote into the index raised its version by one, and Postgres has
/// run no transaction since: `verify --repair` still writes it back, because the repair first
/// commits a transaction of its own, so its snapshot outranks every earlier one. On a server
/// of the test's own, where nothing else commits meanwhile.
#[tokio::test]
async fn verify_repairs_what_someone_else_wrote_on_a_server_where_nothing_commits() {
    let cluster = PgCluster::start();
    let name = unique_name("stale_repair");
    let db = TestDb::generated_on(&cluster.admin_url(), &name, FILMS).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    assert_eq!(worker.sync_once().0, u64::from(FILMS));
    let id = db
        .scalar_text("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")
        .await;
    let mut changed = index.documents().await.remove(&id).unwrap();
    changed["title"] = "Written By Someone Else".into();
    index.put(&id, &changed).await;

    let repair = worker.output(&["verify", "--repair"]);
    let printed = String::from_utf8_lossy(&repair.stdout).into_owned();
    assert!(printed.contains("1 stale"), "{printed}");
    assert!(
        printed.contains("repaired: every difference was written again"),
        "{printed}\n{}",
        String::from_utf8_lossy(&repair.stderr)
    );
    let again = worker.output(&["verify"]);
    let printed = String::from_utf8_lossy(&again.stdout).into_owned();
    assert!(printed.contains("the index equals Postgres"), "{printed}");
    wait_until("the repair to be searchable", DEADLINE, || async {
        index.documents().await[&id]["title"] != "Written By Someone Else"
    })
    .await;
    assert_index_equals_postgres(&db, &index).await;
}

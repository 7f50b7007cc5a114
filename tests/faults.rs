//! Faults of the servers and the network during real work. After each, the index must equal
//! Postgres, and the worker must have ridden the fault out without exiting.

use std::time::Duration;

use crate::support::pg_cluster::PgCluster;
use crate::support::process::Running;
use crate::support::proxy::{Fault, Proxy};
use crate::support::{
    assert_index_equals_postgres, search_url, unique_name, wait_until, wait_until_or, SearchIndex,
    TestDb, Worker,
};

const FILMS: u32 = 2000;
const DEADLINE: Duration = Duration::from_secs(120);

/// Waits until the worker logged more retries than `before`, and checks it is still running.
async fn wait_for_retries(running: &mut Running, before: usize, what: &str) {
    wait_until_or(
        what,
        DEADLINE,
        || std::future::ready(running.logged("retrying") > before + 1),
        || format!("the worker's log:\n{}", running.log()),
    )
    .await;
    assert!(
        running.try_wait().is_none(),
        "the worker exited on a transient fault:\n{}",
        running.log()
    );
}

async fn wait_for_title(index: &SearchIndex, title: &str) {
    wait_until("the change to reach the index", DEADLINE, || async {
        !index.matching_ids("title", title).await.is_empty()
    })
    .await;
}

#[tokio::test]
async fn postgres_restarted_during_back_fill_and_during_incremental_sync() {
    let cluster = PgCluster::start();
    let name = unique_name("fault_pg_restart");
    let db = TestDb::generated_on(&cluster.admin_url(), &name, FILMS).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__BATCH_SIZE", "20");
    let mut running = Running::start(&worker);

    worker.wait_partly_backfilled(DEADLINE).await;
    cluster.stop();
    wait_for_retries(&mut running, 0, "retries while Postgres is down").await;
    cluster.resume();
    worker.wait_backfilled(DEADLINE).await;

    db.execute(
        "UPDATE content.film_work SET title = 'Zanzibar restart', updated_at = now()
         WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)",
    )
    .await;
    let before = running.logged("retrying");
    cluster.stop();
    wait_for_retries(&mut running, before, "retries of the incremental sync").await;
    cluster.resume();
    wait_for_title(&index, "zanzibar").await;

    assert!(running.try_wait().is_none(), "{}", running.log());
    drop(running);
    assert_index_equals_postgres(&db, &index).await;
}

/// The search server behind a proxy that cuts requests in the middle, then stops answering.
#[tokio::test]
async fn network_cut_and_stalled_in_the_middle_of_bulk_requests() {
    let name = unique_name("fault_network");
    // Enough films that the back-fill is still running when the faults are switched on, also
    // on a busy machine (it is only checked to be unfinished before the first one).
    let db = TestDb::with_generated(&name, 4 * FILMS).await;
    let index = SearchIndex::new(&name).await;
    let upstream = url::Url::parse(&search_url()).unwrap();
    let proxy = Proxy::start(&format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap()
    ))
    .await;
    let mut worker = Worker::new(&db, &name);
    worker
        .set("PG2ES__ELASTICSEARCH__URL", &proxy.url())
        .set("PG2ES__ELASTICSEARCH__TIMEOUT", "2s")
        .set("PG2ES__SYNC__BATCH_SIZE", "50");
    let mut running = Running::start(&worker);

    worker.wait_partly_backfilled(DEADLINE).await;
    // A bulk of 50 documents is about 60 kB: cut each after 20 kB.
    proxy.set(Fault::CutAfter(20_000));
    wait_for_retries(&mut running, 0, "retries of cut bulk requests").await;
    assert!(proxy.cuts() >= 2, "the proxy cut {} requests", proxy.cuts());
    let before = running.logged("retrying");
    proxy.set(Fault::Stall);
    wait_for_retries(&mut running, before, "retries of stalled requests").await;
    let before = running.logged("retrying");
    proxy.set(Fault::Refuse);
    wait_for_retries(&mut running, before, "retries of refused connections").await;
    proxy.set(Fault::None);
    worker.wait_backfilled(DEADLINE).await;

    assert!(running.try_wait().is_none(), "{}", running.log());
    drop(running);
    assert_index_equals_postgres(&db, &index).await;
}

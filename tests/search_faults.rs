//! Faults of the search server itself, on nodes of the test's own: stopped and restarted,
//! overloaded into answering 429.

use std::time::{Duration, Instant};

use crate::support::process::Running;
use crate::support::search_node::SearchNode;
use crate::support::{
    assert_index_equals_postgres, index_config_variant, unique_name, wait_until, SearchIndex,
    TestDb, Worker,
};

const DEADLINE: Duration = Duration::from_secs(180);
const OUTAGE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn search_server_stopped_for_30_s_and_restarted_during_a_back_fill() {
    if crate::support::search_faults_ran_already(
        "search_server_stopped_for_30_s_and_restarted_during_a_back_fill",
    ) {
        return;
    }
    let name = unique_name("fault_es_restart");
    let mut node = SearchNode::start(&name, "discovery.type: single-node");
    let db = TestDb::with_generated(&name, 2000).await;
    node.wait_ready(1).await;
    let index = SearchIndex::on(&node.url(), &name).await;
    let mut worker = Worker::new(&db, &name);
    worker
        .set("PG2ES__ELASTICSEARCH__URL", &node.url())
        .set("PG2ES__SYNC__BATCH_SIZE", "20");
    let mut running = Running::start(&worker);
    worker.wait_partly_backfilled(DEADLINE).await;

    node.kill();
    let stopped = Instant::now();
    wait_until("30 s of outage, the worker retrying", DEADLINE, || {
        std::future::ready(stopped.elapsed() >= OUTAGE && running.logged("retrying") >= 3)
    })
    .await;
    assert!(running.try_wait().is_none(), "{}", running.log());
    node.restart(&name);
    node.wait_ready(1).await;
    worker.wait_backfilled(DEADLINE).await;

    assert!(running.try_wait().is_none(), "{}", running.log());
    drop(running);
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn overloaded_search_server_answering_429_is_backed_off_without_dropping_an_item() {
    if crate::support::search_faults_ran_already(
        "overloaded_search_server_answering_429_is_backed_off_without_dropping_an_item",
    ) {
        return;
    }
    let name = unique_name("fault_429");
    // One write thread and a queue of one: concurrent bulks are refused with 429.
    let node = SearchNode::start(
        &name,
        "discovery.type: single-node\nthread_pool.write.size: 1\nthread_pool.write.queue_size: 1",
    );
    let db = TestDb::with_generated(&name, 3000).await;
    node.wait_ready(1).await;
    let index = SearchIndex::on(&node.url(), &name).await;
    let mut worker = Worker::new(&db, &name);
    let config = index_config_variant(worker.dir.path(), "shards.json", |config| {
        config["settings"]["number_of_shards"] = 4.into();
    });
    worker
        .set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &config)
        .set("PG2ES__ELASTICSEARCH__URL", &node.url())
        .set("PG2ES__SYNC__BATCH_SIZE", "100")
        .set("PG2ES__SYNC__BULK_CONCURRENCY", "8");

    let (indexed, _, dead_lettered, log) = worker.sync_once();

    assert!(
        log.contains("rejected_execution_exception"),
        "the server never pushed back, the test proves nothing:\n{log}"
    );
    assert_eq!((indexed, dead_lettered), (3000, 0));
    assert!(!worker.dead_letter_path().exists());
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn a_node_of_a_three_node_cluster_killed_mid_back_fill_and_pg2es_fails_over() {
    if crate::support::search_faults_ran_already(
        "a_node_of_a_three_node_cluster_killed_mid_back_fill_and_pg2es_fails_over",
    ) {
        return;
    }
    let name = unique_name("fault_node_loss");
    let mut nodes = SearchNode::start_cluster(&name, 3);
    let db = TestDb::with_generated(&name, 3000).await;
    nodes[0].wait_ready(3).await;
    let index = SearchIndex::on(&nodes[0].url(), &name).await;
    let mut worker = Worker::new(&db, &name);
    let config = index_config_variant(worker.dir.path(), "replicated.json", |config| {
        config["settings"]["number_of_shards"] = 3.into();
        config["settings"]["number_of_replicas"] = 1.into();
    });
    // pg2es talks to the node that is going to die first.
    let urls = format!("{},{},{}", nodes[1].url(), nodes[2].url(), nodes[0].url());
    worker
        .set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &config)
        .set("PG2ES__ELASTICSEARCH__URL", &urls)
        .set("PG2ES__ELASTICSEARCH__TIMEOUT", "10s")
        .set("PG2ES__SYNC__BATCH_SIZE", "20");
    let mut running = Running::start(&worker);
    worker.wait_partly_backfilled(DEADLINE).await;
    nodes[0].wait_green().await;

    nodes[1].kill();
    wait_until(
        "the back-fill to finish on the other nodes",
        DEADLINE,
        || {
            std::future::ready(
                worker
                    .backfill()
                    .is_some_and(|backfill| backfill["done"] == true),
            )
        },
    )
    .await;

    assert!(running.try_wait().is_none(), "{}", running.log());
    assert!(
        running.log().contains("retrying"),
        "the node loss went unnoticed, the test proves nothing:\n{}",
        running.log()
    );
    drop(running);
    assert_index_equals_postgres(&db, &index).await;
}

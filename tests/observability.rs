use std::time::Duration;

use crate::support::process::{http_get, metric, Running};
use crate::support::{
    assert_index_equals_postgres, unique_name, wait_until, SearchIndex, TestDb, Worker,
};

const FILMS: u32 = 300;

#[tokio::test]
async fn metrics_and_health_endpoints_report_the_work_done() {
    let name = unique_name("observability");
    let db = TestDb::with_generated(&name, FILMS).await;
    let _index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__HTTP__ADDRESS", "127.0.0.1:0");
    worker.set("PG2ES__SYNC__BATCH_SIZE", "100");
    let mut running = Running::start(&worker);

    let address = running
        .log_field("http listening", "address", Duration::from_secs(30))
        .await;
    assert_eq!(http_get(&address, "/healthz"), (200, "ok\n".into()));
    wait_until("/readyz to answer 200", Duration::from_secs(60), || {
        std::future::ready(http_get(&address, "/readyz").0 == 200)
    })
    .await;

    wait_until("a first cycle to finish", Duration::from_secs(60), || {
        let exposition = http_get(&address, "/metrics").1;
        std::future::ready(
            metric(
                &exposition,
                r#"pg2es_last_cycle_timestamp_seconds{pipeline="movies"}"#,
            ) > 1.6e9,
        )
    })
    .await;
    let (status, exposition) = http_get(&address, "/metrics");
    assert_eq!(status, 200);
    let films = f64::from(FILMS);
    assert_eq!(
        metric(
            &exposition,
            r#"pg2es_documents_indexed_total{pipeline="movies"}"#
        ),
        films
    );
    assert_eq!(
        metric(
            &exposition,
            r#"pg2es_documents_dead_lettered_total{pipeline="movies"}"#
        ),
        0.0
    );
    assert_eq!(
        metric(
            &exposition,
            r#"pg2es_backfill_done_documents{pipeline="movies"}"#
        ),
        films
    );
    assert_eq!(
        metric(
            &exposition,
            r#"pg2es_backfill_total_documents{pipeline="movies"}"#
        ),
        films
    );
    assert_eq!(metric(&exposition, "pg2es_postgres_up"), 1.0);
    assert_eq!(metric(&exposition, "pg2es_elasticsearch_up"), 1.0);
    assert_eq!(
        metric(&exposition, r#"pg2es_active{pipeline="movies"}"#),
        1.0
    );
    assert!(metric(&exposition, "pg2es_bulk_request_duration_seconds_count") >= 3.0);
    assert_eq!(
        metric(&exposition, "pg2es_bulk_request_documents_sum"),
        films
    );
    assert!(metric(&exposition, "pg2es_bulk_request_size_bytes_sum") > films * 100.0);

    // A change is counted too, and the lag comes back to 0 once it is indexed.
    db.execute(
        "UPDATE content.film_work SET title = 'Renamed', updated_at = now()
         WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)",
    )
    .await;
    wait_until("the change to be counted", Duration::from_secs(30), || {
        let exposition = http_get(&address, "/metrics").1;
        std::future::ready(
            metric(
                &exposition,
                r#"pg2es_documents_indexed_total{pipeline="movies"}"#,
            ) == films + 1.0,
        )
    })
    .await;
    wait_until(
        "the lag to be measured as 0",
        Duration::from_secs(30),
        || {
            let exposition = http_get(&address, "/metrics").1;
            std::future::ready(
                metric(&exposition, r#"pg2es_lag_seconds{pipeline="movies"}"#) == 0.0,
            )
        },
    )
    .await;
    assert_eq!(http_get(&address, "/nope").0, 404);
    running.kill();
}

#[tokio::test]
async fn status_shows_lag_last_cycle_dead_letters_and_the_active_worker() {
    let name = unique_name("progress");
    let db = TestDb::with_generated(&name, FILMS).await;
    let _index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);

    let (indexed, _, _, log) = worker.sync_once();

    assert_eq!(indexed, u64::from(FILMS));
    // Without a terminal: log lines, no progress bar and no colour codes.
    assert!(
        !log.contains('\u{1b}'),
        "no terminal codes in a piped log: {log}"
    );
    let output = worker.output(&["status", "--json"]);
    assert!(output.status.success());
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["lag_seconds"], 0.0, "{status}");
    assert_eq!(status["dead_letters"], 0, "{status}");
    assert!(status["active_worker"].is_null(), "{status}");
    assert!(status["last_sync_at"].is_string(), "{status}");
    let output = worker.output(&["status"]);
    let text = String::from_utf8_lossy(&output.stdout);
    for line in [
        "lag:        0",
        "dead letters: 0",
        "last cycle: 20",
        "worker:     none",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
}

#[tokio::test]
async fn a_write_block_longer_than_the_bound_shows_in_lag_and_readiness_and_nothing_is_lost() {
    let name = unique_name("stall");
    let db = TestDb::with_generated(&name, FILMS).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    // A fixed port, so that `pg2es status` knows where to ask the worker.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap();
    worker.set("PG2ES__HTTP__ADDRESS", &format!("127.0.0.1:{port}"));
    worker.set("PG2ES__HTTP__UNWRITABLE_AFTER", "2s");
    let running = Running::start(&worker);
    let address = running
        .log_field("http listening", "address", Duration::from_secs(30))
        .await;
    // Caught up: a cycle that started after the back-fill has measured the lag.
    worker.wait_backfilled(Duration::from_secs(60)).await;
    let last_cycle = || {
        let (_, exposition) = http_get(&address, "/metrics");
        metric(
            &exposition,
            r#"pg2es_last_cycle_timestamp_seconds{pipeline="movies"}"#,
        )
    };
    let after_backfill = last_cycle();
    wait_until(
        "a cycle after the back-fill",
        Duration::from_secs(60),
        || std::future::ready(last_cycle() > after_backfill),
    )
    .await;

    // The flood-stage disk block on the index behind the alias, then a change.
    let blocked = SearchIndex::open(&index.alias_target().await);
    blocked
        .put_settings(serde_json::json!({"index.blocks.read_only_allow_delete": true}))
        .await;
    db.execute(
        "UPDATE content.film_work SET title = 'Written After The Block', updated_at = now()
             WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)",
    )
    .await;
    // Past the bound: not ready, saying why, and the lag has grown past it.
    wait_until(
        "/readyz to say writes fail",
        Duration::from_secs(60),
        || {
            let (status, body) = http_get(&address, "/readyz");
            std::future::ready(status == 503 && body.contains("unable to write"))
        },
    )
    .await;
    // `status` says what the worker is retrying, since when, and the last error.
    let status = worker.output(&["status"]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("retrying since"), "{status}");
    assert!(status.contains("bulk request"), "{status}");
    assert!(status.contains("flood-stage"), "{status}");
    // The lag keeps growing while the change waits (updated at every retry).
    wait_until("the lag to pass the bound", Duration::from_secs(60), || {
        let (_, exposition) = http_get(&address, "/metrics");
        let lag = metric(&exposition, r#"pg2es_lag_seconds{pipeline="movies"}"#);
        std::future::ready(lag >= 2.0)
    })
    .await;

    blocked
        .put_settings(serde_json::json!({"index.blocks.read_only_allow_delete": null}))
        .await;
    wait_until(
        "/readyz to answer 200 again",
        Duration::from_secs(60),
        || std::future::ready(http_get(&address, "/readyz").0 == 200),
    )
    .await;
    index.refresh().await;
    assert_index_equals_postgres(&db, &index).await;
}

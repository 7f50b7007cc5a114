//! `pg2es verify [--repair]` finds missing, stale and extra documents and fixes them; a repair
//! beside a running worker is not taken for a write by someone else.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::process::Running;
use crate::support::{
    assert_index_equals_postgres, unique_name, wait_until, SearchIndex, TestDb, Worker,
};

const DEADLINE: Duration = Duration::from_secs(120);

fn verify(worker: &Worker, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["verify", "--json"];
    all.extend_from_slice(args);
    let output = worker.output(&all);
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code(), report)
}

#[tokio::test]
async fn verify_reports_and_repair_fixes_every_kind_of_difference() {
    let name = unique_name("verify_repair");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    worker.sync_once();
    let (code, report) = verify(&worker, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["checked"], 999);

    let documents = index.documents().await;
    let mut ids = documents.keys();
    let (stale_id, missing_id) = (ids.next().unwrap().clone(), ids.next().unwrap().clone());
    let mut stale = documents[&stale_id].clone();
    stale["title"] = Value::from("Edited Behind pg2es's Back");
    index.put(&stale_id, &stale).await;
    index.remove(&missing_id).await;
    let stranger = "99999999-9999-4999-8999-999999999999";
    let mut extra = documents[&stale_id].clone();
    extra["id"] = Value::from(stranger);
    index.put(stranger, &extra).await;
    // Polling cannot see a delete: only verify finds this one.
    let deleted = ids.next().unwrap().clone();
    db.execute(&format!(
        "DELETE FROM content.film_work WHERE id = '{deleted}'"
    ))
    .await;
    index.refresh().await;

    let (code, report) = verify(&worker, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["missing"]["ids"], serde_json::json!([missing_id]));
    assert_eq!(report["stale"]["ids"], serde_json::json!([stale_id]));
    let mut extra_ids: Vec<String> =
        serde_json::from_value(report["extra"]["ids"].clone()).unwrap();
    extra_ids.sort();
    let mut expected_extra = vec![stranger.to_owned(), deleted];
    expected_extra.sort();
    assert_eq!(extra_ids, expected_extra);

    let (code, _) = verify(&worker, &["--repair"]);
    assert_eq!(code, Some(0));
    index.refresh().await;
    let (code, report) = verify(&worker, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_index_equals_postgres(&db, &index).await;
}

/// A sweep of the index's ids that fails (Postgres refuses an id the root's key type seemed
/// to accept: `urn:uuid:…` parses as a uuid in Rust, not in Postgres) still clears its
/// scroll, which would otherwise hold a search context on the server.
#[tokio::test]
async fn verify_failing_mid_scroll_still_clears_its_scroll() {
    let name = unique_name("verify_scroll");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    worker.sync_once();
    let documents = index.documents().await;
    let odd = "urn:uuid:99999999-9999-4999-8999-999999999999";
    index.put(odd, documents.values().next().unwrap()).await;
    index.refresh().await;
    assert_eq!(index.open_contexts().await, 0);

    let output = worker.output_within(&["verify"], DEADLINE).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "verify passed: {stderr}");
    assert!(stderr.contains("uuid"), "not the refused id: {stderr}");
    assert_eq!(
        index.open_contexts().await,
        0,
        "a scroll left open: {stderr}"
    );
}

/// What polling cannot see, written under a running worker: rows deleted, and titles set
/// without moving `updated_at`. Only `verify --repair` writes these into the index.
const UNSEEN: &[&str] = &[
    "DELETE FROM content.film_work WHERE id IN (SELECT id FROM content.film_work ORDER BY id LIMIT 3)",
    "UPDATE content.film_work SET title = 'Qzunseen' WHERE id IN (SELECT id FROM content.film_work ORDER BY id LIMIT 5 OFFSET 3)",
];

#[tokio::test]
async fn a_repair_beside_a_running_worker_counts_as_pg2es_writes_and_others_still_do_not() {
    let name = unique_name("verify_beside");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    let running = Running::start(&worker);
    worker.wait_backfilled(DEADLINE).await;
    // The worker has looked at the index's operations at least once before the repair.
    wait_for_cycles(&worker, 1).await;

    for sql in UNSEEN {
        db.execute(sql).await;
    }
    let (code, report) = verify(&worker, &["--repair"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        (
            report["stale"]["count"].as_u64(),
            report["extra"]["count"].as_u64()
        ),
        (Some(5), Some(3)),
        "{report}"
    );
    // The second cycle ending after the repair started after it: its look spans the repair.
    wait_for_cycles(&worker, 2).await;

    let log = running.log();
    assert!(!log.contains("did not send"), "{log}");
    let state = worker.state().unwrap();
    assert!(state["foreign_writes"].is_null(), "{state}");
    index.refresh().await;
    assert_index_equals_postgres(&db, &index).await;

    // A write by someone else is still one.
    let live = SearchIndex::open(&index.alias_target().await);
    let stray = "00000000-0000-4000-8000-00000000beef";
    live.put(stray, &json!({"id": stray, "title": "Stray"}))
        .await;
    running
        .wait_for_log("the index applied writes pg2es did not send", DEADLINE)
        .await;
    let operations = running
        .log_field("did not send", "operations", DEADLINE)
        .await;
    assert_eq!(operations, "1", "{}", running.log());
}

#[tokio::test]
async fn a_repair_stopped_between_a_write_and_its_entry_holds_off_the_look_then_reads_as_foreign() {
    let name = unique_name("verify_stopped");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    let running = Running::start(&worker);
    worker.wait_backfilled(DEADLINE).await;
    wait_for_cycles(&worker, 1).await;
    for sql in UNSEEN {
        db.execute(sql).await;
    }

    // The repair stops after its first write (the 5 stale films), before the ledger counts it.
    worker.set("PG2ES_FAILPOINT", "repair-before-ledger-entry:pause");
    let mut repair = Running::command(&worker, &["verify", "--repair"]);
    worker.unset("PG2ES_FAILPOINT");
    repair.wait_for_log("failpoint reached", DEADLINE).await;
    // It holds the repair lock: the worker does not look meanwhile, so it sees no write
    // pg2es did not send, however many cycles it makes.
    wait_for_cycles(&worker, 3).await;
    assert!(!running.log().contains("did not send"), "{}", running.log());

    // Killed there, its write is in no ledger: the worker takes it for someone else's (the
    // safe side), and its comparison finds the rest.
    repair.kill();
    let operations = running
        .log_field("did not send", "operations", DEADLINE)
        .await;
    assert_eq!(operations, "5", "{}", running.log());
    let expected = db.expected_documents().await;
    wait_until("the index to equal Postgres again", DEADLINE, || async {
        index.refresh().await;
        crate::support::differences(&expected, &index.documents().await).is_empty()
    })
    .await;
}

/// Waits for `cycles` more cycles of a running worker to end (its state file's `last_sync_at`
/// moving on that many times).
async fn wait_for_cycles(worker: &Worker, cycles: usize) {
    let last_cycle = || {
        worker
            .state()
            .map(|state| state["last_sync_at"].to_string())
    };
    for _ in 0..cycles {
        let before = last_cycle();
        wait_until("a cycle of the worker to end", DEADLINE, || {
            std::future::ready(last_cycle() != before)
        })
        .await;
    }
}

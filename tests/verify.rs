//! `pg2es verify [--repair]` finds missing, stale and extra documents and fixes them.

use serde_json::Value;

use crate::support::{assert_index_equals_postgres, unique_name, SearchIndex, TestDb, Worker};

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

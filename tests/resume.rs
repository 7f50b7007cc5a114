use std::time::Duration;

use serde_json::Value;

use crate::support::{assert_same_documents, unique_name, wait_until, SearchIndex, TestDb, Worker};

const FILMS: u64 = 5000;

fn backfill_state(worker: &Worker) -> Option<Value> {
    let text = std::fs::read_to_string(worker.state_path()).ok()?;
    let state: Value = serde_saphyr::from_str(&text).ok()?;
    Some(state["backfill"].clone())
}

#[tokio::test]
async fn killed_back_fill_resumes_from_its_cursor() {
    let name = unique_name("resume_kill9");
    let db = TestDb::with_generated(&name, FILMS as u32).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__BATCH_SIZE", "10");

    let mut child = worker.spawn_run();
    wait_until(
        "the back-fill to save a position",
        Duration::from_secs(60),
        || async { backfill_state(&worker).is_some_and(|backfill| backfill["after"].is_string()) },
    )
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let backfill = backfill_state(&worker).expect("a readable state file after kill -9");
    assert_eq!(
        backfill["done"],
        Value::Bool(false),
        "killed too late: {backfill}"
    );
    let acknowledged = backfill["indexed"].as_u64().unwrap();
    assert!(acknowledged > 0 && acknowledged < FILMS, "{backfill}");

    let (indexed, _, _, log) = worker.sync_once();

    assert!(log.contains("resuming back-fill"), "{log}");
    assert_eq!(
        indexed,
        FILMS - acknowledged,
        "the second run must start after the cursor"
    );
    assert_eq!(index.count().await, FILMS);
    assert_same_documents(&db.expected_documents().await, &index.documents().await);
    index.delete().await;
}

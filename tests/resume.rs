use std::time::Duration;

use serde_json::Value;

use crate::support::{
    assert_index_equals_postgres, index_config_variant, unique_name, wait_until, SearchIndex,
    TestDb, Worker,
};

const FILMS: u64 = 5000;

#[tokio::test]
async fn killed_back_fill_resumes_from_its_cursor() {
    let name = unique_name("resume_kill9");
    let db = TestDb::with_generated(&name, FILMS as u32).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    // Settings of the user's own, which the back-fill must switch off and then put back.
    let config = index_config_variant(worker.dir.path(), "tuned.json", |config| {
        config["settings"]["refresh_interval"] = "2s".into();
        config["settings"]["number_of_replicas"] = 2.into();
    });
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &config);
    worker.set("PG2ES__SYNC__BATCH_SIZE", "10");

    let (mut child, _log) = worker.spawn_run();
    wait_until(
        "the back-fill to save a position",
        Duration::from_secs(60),
        || async {
            worker
                .backfill()
                .is_some_and(|backfill| backfill["after"].is_string())
        },
    )
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let backfill = worker
        .backfill()
        .expect("a readable state file after kill -9");
    assert_eq!(
        backfill["done"],
        Value::Bool(false),
        "killed too late: {backfill}"
    );
    let acknowledged = backfill["indexed"].as_u64().unwrap();
    assert!(acknowledged > 0 && acknowledged < FILMS, "{backfill}");
    assert_eq!(
        index.tuning().await,
        (Some("-1".into()), Some("2".into())),
        "refreshes are off during the back-fill, replicas as they were"
    );
    assert_eq!(backfill["restore_settings"]["refresh_interval"], "2s");

    // The rest in pages of 500: the saved position is the last key, not a page number, and
    // pages of 10 were only there to be killed between two of them.
    worker.set("PG2ES__SYNC__BATCH_SIZE", "500");
    let (indexed, _, _, log) = worker.sync_once();

    assert!(log.contains("resuming back-fill"), "{log}");
    assert_eq!(
        index.tuning().await,
        (Some("2s".into()), Some("2".into())),
        "the crashed back-fill's settings are put back when it ends"
    );
    assert!(worker.backfill().unwrap()["restore_settings"].is_null());
    assert_eq!(
        indexed,
        FILMS - acknowledged,
        "the second run must start after the cursor"
    );
    assert_eq!(index.count().await, FILMS);
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn sigterm_stops_the_worker_cleanly_with_its_state_saved() {
    let name = unique_name("resume_sigterm");
    let db = TestDb::with_dataset(&name).await;
    let _index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    let (mut child, _log) = worker.spawn_run();
    wait_until(
        "the back-fill to finish",
        Duration::from_secs(60),
        || async {
            worker
                .backfill()
                .is_some_and(|backfill| backfill["done"] == Value::Bool(true))
        },
    )
    .await;

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exit = None;
    wait_until(
        "the worker to exit after SIGTERM",
        Duration::from_secs(30),
        || {
            exit = exit.or_else(|| child.try_wait().unwrap());
            std::future::ready(exit.is_some())
        },
    )
    .await;

    assert_eq!(exit.unwrap().code(), Some(0));
    assert_eq!(worker.backfill().unwrap()["indexed"], 999);
    // Restarted, it has nothing left to do.
    let (indexed, _, _, _) = worker.sync_once();
    assert_eq!(indexed, 0);
}

//! The state file under faults: kill -9 while it is written, and a full disk.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::support::disk::SmallDisk;
use crate::support::process::Running;
use crate::support::{
    assert_index_equals_postgres, unique_name, wait_until, SearchIndex, TestDb, Worker,
};

const DEADLINE: Duration = Duration::from_secs(120);

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
}

/// pg2es itself must accept the state file (`status` refuses a corrupt one).
fn assert_state_readable(worker: &Worker, when: &str) {
    let output = worker.output(&["status", "--json"]);
    assert!(
        output.status.success(),
        "{when}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn kill_9_while_the_state_file_is_written_never_leaves_it_corrupt() {
    let name = unique_name("fault_kill_state");
    let db = TestDb::with_generated(&name, 3000).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__BATCH_SIZE", "5");
    for round in 0..8 {
        let before = modified(&worker.state_path());
        let mut running = Running::start(&worker);
        wait_until("the state file to be written again", DEADLINE, || {
            std::future::ready(modified(&worker.state_path()) != before)
        })
        .await;
        running.kill(); // SIGKILL, right after a write
        assert_state_readable(&worker, &format!("after kill -9 number {round}"));
    }
    let (_, _, _, log) = worker.sync_once();
    assert!(log.contains("resuming back-fill"), "{log}");
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn disk_full_while_saving_state_stops_with_a_clear_error_and_the_next_start_resumes() {
    let name = unique_name("fault_disk_full");
    let db = TestDb::with_generated(&name, 3000).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__BATCH_SIZE", "10");
    let disk = SmallDisk::mount(worker.dir.path(), 256);
    let mut running = Running::start(&worker);
    wait_until("a saved back-fill position", DEADLINE, || {
        std::future::ready(
            worker
                .backfill()
                .is_some_and(|backfill| backfill["after"].is_string()),
        )
    })
    .await;

    disk.fill();
    let mut exit = None;
    wait_until("the worker to stop on the full disk", DEADLINE, || {
        exit = exit.or_else(|| running.try_wait());
        std::future::ready(exit.is_some())
    })
    .await;
    // The last lines may still be on their way through the pipe.
    running
        .wait_for_log("No space left on device", Duration::from_secs(10))
        .await;
    let log = running.log();
    assert_eq!(exit.unwrap(), Some(1), "{log}");
    assert!(log.contains("cannot write state file"), "{log}");
    assert_state_readable(&worker, "after the disk filled up");

    disk.free();
    let (_, _, _, log) = worker.sync_once();
    assert!(log.contains("resuming back-fill"), "{log}");
    assert_index_equals_postgres(&db, &index).await;
    drop(disk);
}

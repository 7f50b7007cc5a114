//! The state file under faults: kill -9 while it is written, and a full disk.

use std::time::Duration;

use crate::support::disk::SmallDisk;
use crate::support::process::Running;
use crate::support::{
    assert_index_equals_postgres, unique_name, wait_until, SearchIndex, TestDb, Worker,
};

const DEADLINE: Duration = Duration::from_secs(120);

/// Arms a fault-injection point in the worker's `state::save` (src/state/failpoint.rs; debug
/// builds only, which is what `cargo test` builds).
const FAILPOINT: &str = "PG2ES_FAILPOINT";
/// Half of the new state written to the temporary file; then after its fsync, before the rename.
const INSIDE_THE_WRITE: [&str; 2] = ["state-save-mid-write", "state-save-before-rename"];

/// pg2es itself must accept the state file (`status` refuses a corrupt one).
fn assert_state_readable(worker: &Worker, when: &str) {
    let output = worker.output(&["status", "--json"]);
    assert!(
        output.status.success(),
        "{when}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Kills the worker inside `state::save`, at its failpoints in turn: half-way through the write,
/// and between the fsync and the rename. Shown once to fail against a writer that truncates
/// and rewrites the file in place: `status` refused the half-written state.yaml in round 0.
#[tokio::test]
// The binary under test is built with this test's profile; release builds have no failpoints.
#[cfg_attr(
    not(debug_assertions),
    ignore = "the failpoints exist only in debug builds"
)]
async fn kill_9_while_the_state_file_is_written_never_leaves_it_corrupt() {
    let name = unique_name("fault_kill_state");
    let db = TestDb::with_generated(&name, 3000).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__BATCH_SIZE", "5");
    for round in 0..8 {
        let point = INSIDE_THE_WRITE[round % 2];
        // A start saves what it has not saved yet (a new state, the change cursors, the
        // settings to restore), then the back-fill position every second. The first start dies
        // in its 2nd save, the next in its 3rd, every later one in its 1st: the first position,
        // so the back-fill is still to finish in the last run, however fast the machine.
        let nth = if round < 2 { round + 2 } else { 1 };
        worker.set(FAILPOINT, &format!("{point}:pause:{nth}"));
        let mut running = Running::start(&worker);
        running.wait_for_log("failpoint reached", DEADLINE).await;
        running.kill(); // SIGKILL, inside the write
        worker.unset(FAILPOINT);
        assert_state_readable(&worker, &format!("after kill -9 at {point}, round {round}"));
    }
    // The rest in pages of 500: the saved position is the last key, not a page number.
    worker.set("PG2ES__SYNC__BATCH_SIZE", "500");
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
    // The rest in pages of 500: the saved position is the last key, not a page number.
    worker.set("PG2ES__SYNC__BATCH_SIZE", "500");
    let (_, _, _, log) = worker.sync_once();
    assert!(log.contains("resuming back-fill"), "{log}");
    assert_index_equals_postgres(&db, &index).await;
    drop(disk);
}

//! Partitioned tables in every capture mode: rows written straight into a partition,
//! partitions created, attached (already holding rows), detached, truncated one by one and
//! dropped. After each step the index must equal documents built independently in SQL
//! (`tests/library/expected.sql`).

use std::time::Duration;

use crate::support::fixture::{Fixture, Parts};
use crate::support::no_logical_capture;
use crate::support::process::Running;

async fn library(test: &str, capture: &'static str) -> Fixture {
    let parts = Parts {
        schema: "tests/library/schema.sql",
        pipeline: "books",
        declaration: "tests/library/books.yaml",
        expected: include_str!("library/expected.sql"),
        batch_size: 9,
    };
    Fixture::new(test, capture, parts).await
}

/// The steps of partition maintenance, each compared with Postgres.
async fn partition_maintenance(library: &Fixture) {
    library.step("the back-fill", "").await;
    library
        .step(
            "a copy written straight into a partition",
            "INSERT INTO lib.copy_1 (id, book_id, branch) VALUES (1500, 3, 'straight')",
        )
        .await;
    library
        .step(
            "a copy updated through the parent",
            "UPDATE lib.copy SET branch = 'moved', updated_at = now() WHERE id = 8",
        )
        .await;
    if library.capture != "polling" {
        // Polling cannot see the book a row moved away from (documented).
        library
            .step(
                "a copy moved to another book, in its partition",
                "UPDATE lib.copy_0 SET book_id = 40, updated_at = now() WHERE id = 15",
            )
            .await;
    }
    library
        .step(
            "a loaded table attached as a partition (its rows' updated_at far back)",
            "CREATE TABLE lib.copy_2 (LIKE lib.copy INCLUDING DEFAULTS);
         INSERT INTO lib.copy_2 (id, book_id, branch, updated_at)
             SELECT g, 1 + g % 40, 'attached', '2001-01-01' FROM generate_series(2000, 2300, 3) g;
         ALTER TABLE lib.copy ATTACH PARTITION lib.copy_2 FOR VALUES FROM (2000) TO (3000)",
        )
        .await;
    library
        .step(
            "a partition detached",
            "ALTER TABLE lib.copy DETACH PARTITION lib.copy_0",
        )
        .await;
    library
        .step("one partition truncated", "TRUNCATE lib.copy_1")
        .await;
    library
        .step(
            "a partition created and written through the parent",
            "CREATE TABLE lib.copy_3 PARTITION OF lib.copy FOR VALUES FROM (3000) TO (4000);
         INSERT INTO lib.copy (id, book_id, branch) VALUES (3001, 5, 'new'), (3002, 6, 'new')",
        )
        .await;
    library
        .step("an attached partition dropped", "DROP TABLE lib.copy_2")
        .await;
    library.step(
        "a new partition truncated",
        "TRUNCATE lib.copy_3; INSERT INTO lib.copy (id, book_id, branch) VALUES (1001, 7, 'again')",
    )
    .await;
}

#[tokio::test]
async fn partition_maintenance_reaches_the_index_in_triggers_mode() {
    partition_maintenance(&library("partitions_triggers", "triggers").await).await;
}

#[tokio::test]
async fn partition_maintenance_reaches_the_index_in_logical_mode() {
    if no_logical_capture("partition_maintenance_reaches_the_index_in_logical_mode") {
        return;
    }
    partition_maintenance(&library("partitions_logical", "logical").await).await;
}

#[tokio::test]
async fn partition_maintenance_reaches_the_index_in_polling_mode() {
    partition_maintenance(&library("partitions_polling", "polling").await).await;
}

#[tokio::test]
async fn check_names_a_partition_that_capture_cannot_see() {
    let library = library("partitions_check", "triggers").await;
    library
        .db
        .execute("CREATE TABLE lib.copy_9 PARTITION OF lib.copy FOR VALUES FROM (9000) TO (10000)")
        .await;
    let check = library.worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "check passed: {stdout}");
    assert!(
        stdout.contains("lib.copy_9 (partition of lib.copy)") && stdout.contains("pg2es setup"),
        "{stdout}"
    );
    let setup = library.worker.output(&["setup"]);
    assert!(setup.status.success());
    let check = library.worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(!stdout.contains("lib.copy_9"), "{stdout}");
}

/// A partition created while another transaction writes into it: the worker's capture
/// triggers wait for that transaction's locks. They used to wait silently, holding up every
/// later query of the table in the lock queue; now each attempt gives up after a short lock
/// timeout and is logged as a transient failure, tried again until the transaction ends.
#[tokio::test]
async fn a_new_partition_locked_by_an_open_transaction_gets_capture_once_it_ends() {
    let library = library("partitions_locked", "triggers").await;
    library.step("the back-fill", "").await;
    library
        .db
        .execute("CREATE TABLE lib.copy_3 PARTITION OF lib.copy FOR VALUES FROM (3000) TO (4000)")
        .await;
    let mut held = library.db.pool.begin().await.unwrap();
    sqlx::raw_sql("INSERT INTO lib.copy (id, book_id, branch) VALUES (3001, 5, 'held')")
        .execute(&mut *held)
        .await
        .unwrap();
    let running = Running::start(&library.worker);
    running
        .wait_for_log(
            "operation=\"install change capture on a new partition\"",
            Duration::from_secs(60),
        )
        .await;
    held.commit().await.unwrap();
    running
        .wait_for_log(
            "capture triggers put on a new partition",
            Duration::from_secs(60),
        )
        .await;
    drop(running);
    library
        .step("the held transaction's row, after its commit", "")
        .await;
    let check = library.worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(!stdout.contains("lib.copy_3"), "{stdout}");
}

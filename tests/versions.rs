//! Postgres versions (`make test` runs the suite on 13 and 18, `make test-all` on 13 to 18):
//! `check` names the server's version; on 13, which has no `pgoutput` `messages` option,
//! logical capture is refused at start-up, by `setup` and by `check`, naming the version needed
//! (the other modes run there). A server older than 13 is refused by a unit test of the
//! decision (src/extract/version.rs).

use crate::support::{server_version_num, unique_name, SearchIndex, TestDb, Worker};

#[tokio::test]
async fn check_names_the_postgres_version() {
    let name = unique_name("version_check");
    let db = TestDb::with_generated(&name, 3).await;
    let _index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    let check = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout).into_owned();
    let major = server_version_num() / 10_000;
    assert!(
        stdout.contains(&format!(", PostgreSQL {major}.")),
        "{stdout}"
    );
}

#[tokio::test]
async fn logical_capture_on_postgres_13_is_refused_at_start_up_and_by_check() {
    if server_version_num() >= 140_000 {
        eprintln!("only on PostgreSQL 13: this is {}", server_version_num());
        return;
    }
    let name = unique_name("version_logical_13");
    let db = TestDb::with_generated(&name, 3).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__CAPTURE", "logical");
    let needed = "logical capture needs PostgreSQL 14 or newer (server_version_num 140000)";
    for args in [&["setup"][..], &["sync", "--once"]] {
        let output = worker.output(args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains("PostgreSQL 13."), "{args:?}: {stderr}");
        assert!(stderr.contains(needed), "{args:?}: {stderr}");
    }
    assert!(
        !index.exists().await,
        "nothing is written before the refusal"
    );
    let slots = db
        .scalar_i64("SELECT count(*) FROM pg_replication_slots WHERE database = current_database()")
        .await;
    assert_eq!(slots, 0, "no slot is made");
    let check = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(!check.status.success(), "{stdout}");
    assert!(stdout.contains(needed), "{stdout}");
}

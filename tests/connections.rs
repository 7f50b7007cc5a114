use std::process::Output;

use crate::support::{
    assert_index_equals_postgres, search_url, unique_name, SearchIndex, TestDb, Worker,
};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn all_output(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    )
}

#[tokio::test]
async fn a_dead_first_node_fails_over_to_the_next() {
    let name = unique_name("failover");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    // Nothing listens on port 1: every request to it fails to connect.
    let urls = format!("http://127.0.0.1:1,{}", search_url());
    worker.set("PG2ES__ELASTICSEARCH__URL", &urls);

    let (indexed, _, dead_lettered, log) = worker.sync_once();

    assert_eq!((indexed, dead_lettered), (999, 0));
    assert!(log.contains("moving to the next"), "{log}");
    assert_index_equals_postgres(&db, &index).await;
}

#[tokio::test]
async fn unreadable_or_invalid_ca_files_stop_at_start_naming_the_key() {
    let name = unique_name("bad_ca");
    let db = TestDb::create(&name).await;
    let index = SearchIndex::new(&name).await;
    for (key, field) in [
        ("PG2ES__ELASTICSEARCH__CA_CERT", "elasticsearch.ca_cert"),
        ("PG2ES__POSTGRES__CA_CERT", "postgres.ca_cert"),
    ] {
        let mut worker = Worker::new(&db, &name);
        worker.set(key, "/nonexistent/ca.pem");
        let output = worker.output(&["sync", "--once"]);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(stderr(&output).contains(field), "{}", stderr(&output));
    }
    let mut worker = Worker::new(&db, &name);
    let garbage = worker.dir.path().join("ca.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    worker.set(
        "PG2ES__ELASTICSEARCH__CA_CERT",
        &garbage.display().to_string(),
    );
    let output = worker.output(&["sync", "--once"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("elasticsearch.ca_cert"),
        "{}",
        stderr(&output)
    );
    assert!(!index.exists().await);
}

#[tokio::test]
async fn secrets_from_files_work_and_are_never_printed() {
    let name = unique_name("secret_files");
    let db = TestDb::with_dataset(&name).await;
    let _index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    // The test servers trust every client: the passwords are sent and ignored.
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_password(Some("pg-s3cr3t")).unwrap();
    let url_file = worker.dir.path().join("postgres_url");
    std::fs::write(&url_file, format!("{url}\n")).unwrap();
    let password_file = worker.dir.path().join("es_password");
    std::fs::write(&password_file, "es-s3cr3t\n").unwrap();
    worker.set("PG2ES__POSTGRES__URL", "postgres://wrong@127.0.0.1:1/none");
    worker.set("PG2ES__POSTGRES__URL_FILE", &url_file.display().to_string());
    worker.set("PG2ES__ELASTICSEARCH__USERNAME", "elastic");
    worker.set(
        "PG2ES__ELASTICSEARCH__PASSWORD_FILE",
        &password_file.display().to_string(),
    );
    worker.set("PG2ES__ELASTICSEARCH__INSECURE_SKIP_VERIFY", "true");

    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed, 999);
    assert!(log.contains("insecure_skip_verify is on"), "{log}");
    for args in [&["check"][..], &["status"], &["status", "--json"]] {
        let output = worker.output(args);
        let printed = all_output(&output);
        assert!(output.status.success(), "{args:?}: {printed}");
        assert!(
            !printed.contains("pg-s3cr3t") && !printed.contains("es-s3cr3t"),
            "{args:?} printed a secret: {printed}"
        );
    }
    let check = String::from_utf8_lossy(&worker.output(&["check"]).stdout).into_owned();
    assert!(check.contains("✓ postgres privileges"), "{check}");
    assert!(check.contains("✓ elasticsearch privileges"), "{check}");
    assert!(
        !log.contains("pg-s3cr3t") && !log.contains("es-s3cr3t"),
        "{log}"
    );
}

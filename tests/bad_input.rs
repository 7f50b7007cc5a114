use std::process::Output;

use crate::support::{unique_name, SearchIndex, TestDb, Worker};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn small_db(name: &str) -> TestDb {
    let db = TestDb::create(name).await;
    db.execute(
        "INSERT INTO content.film_work (title, type) VALUES ('One', 'movie'), ('Two', 'tv_show')",
    )
    .await;
    db
}

#[tokio::test]
async fn bad_config_stops_at_start_naming_the_field_and_writes_nothing() {
    let name = unique_name("bad_config");
    let db = small_db(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    let config = worker.config_path();
    for (yaml, expected) in [
        ("sync:\n  batch_size: 0\n", "sync.batch_size"),
        (
            "sync:\n  poll_interval: 5s\n  batch_sise: 10\n",
            "batch_sise",
        ),
        (
            "postgres:\n  max_connections: 1000\n",
            "postgres.max_connections",
        ),
        ("log:\n  format: xml\n", "xml"),
        ("sync:\n  poll_interval: [1]\n", "line 2"),
        ("sync:\n  retry:\n    max_attempts: -1\n", "line 3"),
    ] {
        std::fs::write(&config, yaml).unwrap();
        let output = worker.output(&["sync", "--once"]);
        assert_eq!(output.status.code(), Some(2), "{yaml}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(expected),
            "{yaml}: {}",
            stderr(&output)
        );
    }
    // The same through the environment, which the test worker uses for the servers.
    std::fs::remove_file(&config).unwrap();
    for (var, value, expected) in [
        (
            "PG2ES__ELASTICSEARCH__URL",
            "ftp://search",
            "elasticsearch.url",
        ),
        ("PG2ES__POSTGRES__URL", "", "postgres.url"),
        (
            "PG2ES__PIPELINES__MOVIES__ALIAS",
            "Movies Index",
            "pipelines.movies.alias",
        ),
        ("PG2ES__SYNC__BATCH_SIZE", "many", "PG2ES__SYNC__BATCH_SIZE"),
    ] {
        let mut broken = Worker::new(&db, &name);
        broken.set(var, value);
        let output = broken.output(&["sync", "--once"]);
        assert_eq!(output.status.code(), Some(2), "{var}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(expected),
            "{var}: {}",
            stderr(&output)
        );
        assert!(!broken.state_path().exists());
    }
    assert!(!worker.state_path().exists());
    assert!(
        !index.exists().await,
        "nothing may be written on a bad config"
    );
}

#[tokio::test]
async fn corrupt_state_file_is_refused_until_reset_deliberately() {
    let name = unique_name("bad_state");
    let db = small_db(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    for garbage in [
        "",
        "version: 1\npipeline: mov",
        "{{{ not yaml",
        "version: 7\n",
    ] {
        std::fs::write(worker.state_path(), garbage).unwrap();
        let output = worker.output(&["sync", "--once"]);
        assert_eq!(output.status.code(), Some(1), "{garbage:?}");
        let message = stderr(&output);
        assert!(
            message.contains("state.movies.yaml") && message.contains("--reset-state"),
            "{message}"
        );
        assert_eq!(
            std::fs::read_to_string(worker.state_path()).unwrap(),
            garbage,
            "state file must be left as it was"
        );
    }
    assert!(
        !index.exists().await,
        "nothing may be indexed from a refused state"
    );

    let output = worker.output(&["sync", "--once", "--reset-state"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(index.count().await, 2);
}

#[tokio::test]
async fn unreachable_servers_fail_with_a_clear_error_and_no_state() {
    let name = unique_name("unreachable");
    let db = small_db(&name).await;
    let index = SearchIndex::new(&name).await;

    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__RETRY__MAX_ATTEMPTS", "2");
    // A refused connection is retried by the pool until this passes (10 s by default), then
    // reported with its cause: 1 s per attempt says the same.
    worker.set("PG2ES__POSTGRES__CONNECT_TIMEOUT", "1s");
    worker.set(
        "PG2ES__POSTGRES__URL",
        "postgres://postgres@127.0.0.1:1/nothing",
    );
    let output = worker.output(&["sync", "--once"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("postgres"), "{}", stderr(&output));
    let retrying = stderr(&output)
        .lines()
        .find(|line| line.contains("retrying"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("transient errors are retried first: {}", stderr(&output)));
    // The retry line says why: where, and the cause (not only "ping failed").
    assert!(retrying.contains("127.0.0.1:1/nothing"), "{retrying}");
    assert!(
        retrying.to_lowercase().contains("connection refused"),
        "{retrying}"
    );

    // `check` is a diagnostic: one attempt, no retries, and the cause.
    let output = worker.output(&["check"]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout).to_lowercase();
    assert!(text.contains("✗ postgres reachable"), "{text}");
    assert!(text.contains("connection refused"), "{text}");
    assert!(!stderr(&output).contains("retrying"), "{}", stderr(&output));

    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__RETRY__MAX_ATTEMPTS", "2");
    worker.set("PG2ES__ELASTICSEARCH__URL", "http://127.0.0.1:1");
    let output = worker.output(&["sync", "--once"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("elasticsearch"),
        "{}",
        stderr(&output)
    );
    assert!(
        !worker.state_path().exists(),
        "no cursor may be saved without an index"
    );
    assert!(!index.exists().await);
}

#[tokio::test]
async fn invalid_index_config_is_refused_before_any_document() {
    let name = unique_name("bad_index_config");
    let db = small_db(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    let broken = worker.dir.path().join("broken.json");
    std::fs::write(&broken, "{ \"settings\": ").unwrap();
    worker.set(
        "PG2ES__PIPELINES__MOVIES__INDEX_CONFIG",
        &broken.display().to_string(),
    );
    let output = worker.output(&["sync", "--once"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("broken.json"),
        "{}",
        stderr(&output)
    );
    assert!(!index.exists().await);

    // Valid JSON the server refuses (an unknown analyzer) also stops before indexing.
    std::fs::write(
        &broken,
        r#"{"mappings": {"properties": {"title": {"type": "text", "analyzer": "nope"}}}}"#,
    )
    .unwrap();
    let output = worker.output(&["sync", "--once"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("400"), "{}", stderr(&output));
    assert!(!index.exists().await);
}

#[tokio::test]
async fn missing_table_or_column_is_named_at_start_up_before_anything_is_written() {
    for (broken, expected) in [
        (
            "ALTER TABLE content.genre DROP COLUMN updated_at",
            ["content.genre", "updated_at"],
        ),
        (
            "DROP TABLE content.genre_film_work",
            ["content.genre_film_work", "genre_film_work"],
        ),
        (
            "ALTER TABLE content.film_work DROP COLUMN description",
            [
                "document.description",
                "content.film_work has no column description",
            ],
        ),
    ] {
        let name = unique_name("bad_schema");
        let db = small_db(&name).await;
        db.execute(broken).await;
        let index = SearchIndex::new(&name).await;
        let worker = Worker::new(&db, &name);
        let output = worker.output(&["sync", "--once"]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{broken}: {}",
            stderr(&output)
        );
        for text in expected {
            assert!(
                stderr(&output).contains(text),
                "{broken}: {}",
                stderr(&output)
            );
        }
        assert!(!index.exists().await, "{broken}: the index was created");
        assert!(!worker.state_path().exists(), "{broken}: state was written");
    }
}

#[tokio::test]
async fn a_column_of_a_type_the_declaration_cannot_hold_is_named_and_nothing_is_indexed() {
    let name = unique_name("bad_type");
    let db = small_db(&name).await;
    // Column types are read from the catalogue (a numeric rating is written as a number), but a
    // cursor column must be a time or a version number.
    db.execute("ALTER TABLE content.person ALTER COLUMN updated_at TYPE text")
        .await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    let output = worker.output(&["sync", "--once"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("tables.content.person.changed_by"), "{text}");
    assert!(text.contains("content.person.updated_at is text"), "{text}");
    if index.exists().await {
        index.refresh().await;
        assert_eq!(index.count().await, 0, "documents were indexed");
    }
}

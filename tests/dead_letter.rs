use serde_json::Value;

use crate::support::{
    index_config_path, index_config_variant, unique_name, SearchIndex, TestDb, Worker,
};

/// The index config with `description` mapped as an integer, written into the worker's
/// directory: every film with a description is refused by the server.
pub fn refusing_config(worker: &Worker) -> String {
    index_config_variant(worker.dir.path(), "refusing.json", |config| {
        config["mappings"]["properties"]["description"] = serde_json::json!({"type": "integer"});
    })
}

#[tokio::test]
async fn refused_documents_go_to_the_dead_letter_file_and_the_rest_carry_on() {
    let name = unique_name("dead_letter");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    let refusing = refusing_config(&worker);
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &refusing);
    let with_description = db
        .scalar_i64("SELECT count(*) FROM content.film_work WHERE description IS NOT NULL")
        .await as u64;
    let without = db
        .scalar_i64("SELECT count(*) FROM content.film_work WHERE description IS NULL")
        .await as u64;

    let (indexed, _, dead_lettered, _) = worker.sync_once();

    assert_eq!((indexed, dead_lettered), (without, with_description));
    assert_eq!(index.count().await, without);
    let text = std::fs::read_to_string(worker.dead_letter_path()).unwrap();
    let letters: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(letters.len() as u64, with_description);
    for letter in &letters {
        assert_eq!(letter["status"], 400, "{letter}");
        assert!(
            letter["reason"].as_str().unwrap().contains("description"),
            "{letter}"
        );
        assert_eq!(letter["document"]["id"], letter["id"], "{letter}");
    }
    // The cursor moved on: the next run does not send them again.
    let (indexed, _, dead_lettered, _) = worker.sync_once();
    assert_eq!((indexed, dead_lettered), (0, 0));

    // `check` sees the mapping differs from index_config.json.
    worker.set(
        "PG2ES__PIPELINES__MOVIES__INDEX_CONFIG",
        &index_config_path().display().to_string(),
    );
    let output = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("✗ index mapping") && stdout.contains("description"),
        "{stdout}"
    );
}

#[tokio::test]
async fn check_and_status_report_a_healthy_index() {
    let name = unique_name("check_status");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    worker.sync_once();

    let output = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(!stdout.contains('✗'), "{stdout}");
    assert!(stdout.contains("✓ index mapping matches"), "{stdout}");

    index.refresh().await;
    let output = worker.output(&["status", "--json"]);
    assert!(output.status.success());
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["documents_in_index"], 999);
    assert_eq!(status["rows_in_postgres"], 999);
    assert_eq!(status["backfill"]["done"], true);
    assert!(
        status["cursors"]["content.person"]["at"].is_string(),
        "{status}"
    );
}

#[tokio::test]
async fn replay_sends_dead_letters_again_built_from_postgres_as_it_is_now() {
    let name = unique_name("dead_letter_replay");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    let refusing = refusing_config(&worker);
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &refusing);
    let without = db
        .scalar_i64("SELECT count(*) FROM content.film_work WHERE description IS NULL")
        .await as u64;
    let (_, _, refused, _) = worker.sync_once();
    assert!(refused > 20, "{refused}");

    // Fixed in Postgres without touching updated_at: ten descriptions removed, one film gone.
    let letters = std::fs::read_to_string(worker.dead_letter_path()).unwrap();
    let ids: Vec<String> = letters
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let fixed = ids[..10]
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    db.execute(&format!(
        "UPDATE content.film_work SET description = NULL WHERE id IN ({fixed})"
    ))
    .await;
    db.execute(&format!(
        "DELETE FROM content.person_film_work WHERE film_work_id = '{gone}';
         DELETE FROM content.genre_film_work WHERE film_work_id = '{gone}';
         DELETE FROM content.film_work WHERE id = '{gone}'",
        gone = ids[10]
    ))
    .await;

    let output = worker.output(&["dead-letter", "replay"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.trim(),
        format!(
            "letters={refused} indexed=10 deleted=1 dead_lettered={}",
            refused - 11
        )
    );
    assert_eq!(output.status.code(), Some(1), "some were refused again");
    let left = std::fs::read_to_string(worker.dead_letter_path()).unwrap();
    assert_eq!(left.lines().count() as u64, refused - 11);
    assert!(!left.contains(&ids[0]) && !left.contains(&ids[10]));
    assert_eq!(index.count().await, without + 10);
}

#[tokio::test]
async fn a_film_with_more_nested_people_than_the_index_allows_is_dead_lettered_naming_the_limit() {
    let name = unique_name("dead_letter_limit");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    // A small limit stands in for a film with 20,000 people and the default of 10,000.
    let limited = index_config_variant(worker.dir.path(), "limited.json", |config| {
        config["settings"]["index.mapping.nested_objects.limit"] = serde_json::json!(12);
    });
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &limited);
    // Nested objects of a film: its genres and its people.
    let over = db
        .scalar_i64(
            "SELECT count(*) FROM content.film_work f
             WHERE (SELECT count(*) FROM content.person_film_work p WHERE p.film_work_id = f.id)
                 + (SELECT count(*) FROM content.genre_film_work g WHERE g.film_work_id = f.id) > 12",
        )
        .await as u64;
    assert!(over > 0, "the dataset has films over the limit");

    let (indexed, _, dead_lettered, _) = worker.sync_once();

    assert_eq!(dead_lettered, over);
    assert_eq!(indexed, 999 - over);
    assert_eq!(index.count().await, 999 - over);
    let text = std::fs::read_to_string(worker.dead_letter_path()).unwrap();
    for line in text.lines() {
        let letter: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            letter["limit"], "index.mapping.nested_objects.limit",
            "{letter}"
        );
    }
    let output = worker.output(&["check"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "✗ dead letters of movies: {over} documents refused"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("broke index.mapping.nested_objects.limit: raise it under settings"),
        "{stdout}"
    );
}

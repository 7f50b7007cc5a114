//! The escape hatch: a pipeline whose documents come from its own SQL (an aggregate here), with
//! a `touches` query per followed table. Changes, link deletes included, reach the index.

use crate::support::{assert_same_documents, unique_name, SearchIndex, TestDb, Worker, REPO};

async fn genre_counts(test: &str, capture: &str) -> (TestDb, SearchIndex, Worker) {
    let name = unique_name(test);
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::with_pipelines(
        &db,
        &format!(
            "pipelines:\n  genre_counts: {{file: {REPO}/tests/escape/genre_counts.yaml, alias: {name}}}\n"
        ),
    );
    match capture {
        "triggers" => worker.capture_with_triggers(),
        _ => {
            worker.set("PG2ES__SYNC__CAPTURE", capture);
        }
    };
    assert_eq!(worker.sync_once().0, 26);
    (db, index, worker)
}

async fn assert_equal(db: &TestDb, index: &SearchIndex) {
    let expected = db.expected_by(include_str!("escape/expected.sql")).await;
    assert_same_documents(&expected, &index.documents().await);
}

const SOME_GENRE: &str = "(SELECT id FROM content.genre ORDER BY id LIMIT 1 OFFSET 3)";

#[tokio::test]
async fn an_sql_pipeline_follows_link_inserts_and_film_changes_by_polling() {
    let (db, index, worker) = genre_counts("escape_polling", "polling").await;
    assert_equal(&db, &index).await;
    db.execute(&format!(
        "INSERT INTO content.genre_film_work (film_work_id, genre_id, created_at)
         SELECT f.id, {SOME_GENRE}, now() FROM content.film_work f
         WHERE NOT EXISTS (SELECT 1 FROM content.genre_film_work x
                           WHERE x.film_work_id = f.id AND x.genre_id = {SOME_GENRE})
         ORDER BY f.id LIMIT 5;
         UPDATE content.film_work SET rating = 10, updated_at = now()
         WHERE id = (SELECT film_work_id FROM content.genre_film_work ORDER BY id LIMIT 1);"
    ))
    .await;
    let (indexed, _, _, _) = worker.sync_once();
    assert!(indexed >= 1);
    assert_equal(&db, &index).await;
}

#[tokio::test]
async fn an_sql_pipeline_follows_link_deletes_in_triggers_mode() {
    let (db, index, worker) = genre_counts("escape_triggers", "triggers").await;
    db.execute(&format!(
        "DELETE FROM content.genre_film_work WHERE genre_id = {SOME_GENRE}
           AND id IN (SELECT id FROM content.genre_film_work WHERE genre_id = {SOME_GENRE} ORDER BY id LIMIT 3);
         UPDATE content.genre SET name = 'Renamed Genre', updated_at = now() WHERE id = {SOME_GENRE};"
    ))
    .await;
    let (indexed, _, _, _) = worker.sync_once();
    assert_eq!(indexed, 1, "the one genre whose links and name changed");
    assert_equal(&db, &index).await;
    db.execute("DELETE FROM content.film_work WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)")
        .await;
    worker.sync_once();
    assert_equal(&db, &index).await;
}

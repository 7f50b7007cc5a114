//! The escape hatch: a pipeline whose documents come from its own SQL (an aggregate here), with
//! a `touches` query per followed table. Changes, link deletes included, reach the index; a
//! table the SQL reads without a `touches` query stops start-up and `check`.

use crate::support::refusal::refused;
use crate::support::{assert_same_documents, unique_name, SearchIndex, TestDb, Worker, REPO};

const GENRE_COUNTS: &str = include_str!("escape/genre_counts.yaml");

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

#[tokio::test]
async fn a_table_the_sql_reads_without_touches_stops_start_up_and_check_with_file_key_and_line() {
    let name = unique_name("escape_untouched");
    let db = TestDb::with_dataset(&name).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("genre_counts.yaml");
    let worker = Worker::with_pipelines(
        &db,
        &format!(
            "pipelines:\n  genre_counts: {{file: {}, alias: {name}, index_config: {REPO}/tests/escape/genre_counts_index.json}}\n",
            file.display()
        ),
    );
    // Read through a view, in a subquery the planner drops when it is given `$1 = '{}'`.
    db.execute("CREATE VIEW content.cast_member AS SELECT * FROM content.person_film_work")
        .await;
    let reads_cast = GENRE_COUNTS.replace(
        "'id', g.id, 'name', g.name,",
        "'id', g.id, 'name', g.name,
             'cast', (SELECT count(*) FROM content.cast_member c
                      WHERE cardinality($1::text[]) > 0
                        AND c.film_work_id IN (SELECT film_work_id FROM content.genre_film_work
                                               WHERE genre_id = g.id)),",
    );
    let says = [
        "query.sql reads content.person_film_work, which is not declared",
        "touches: {content.person_film_work: SELECT <content.genre.id> FROM",
    ];
    let touches = "content.genre_film_work: SELECT genre_id";
    refused(&worker, &file, &reads_cast, "query.touches", touches, &says);
    assert!(
        !SearchIndex::open(&name).exists().await,
        "nothing may be written"
    );
    std::fs::write(&file, GENRE_COUNTS).unwrap();
    let check = worker.output(&["check"]);
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(report.contains("✓ pipeline genre_counts"), "{report}");
    assert_eq!(worker.sync_once().0, 26);
}

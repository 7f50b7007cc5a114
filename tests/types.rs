//! The README's table "What a document holds", row by row: each Postgres type as the document
//! must hold it, compared as the text the index keeps (so that a digit lost to a float, or a
//! timestamp written in another zone, fails). The rows are in `tests/types/schema.sql`; the
//! documents below are written by hand from that table.

use crate::support::{unique_name, SearchIndex, TestDb, Worker, REPO};

/// Written by hand from the README's table; field order is the declaration's.
const EXPECTED: &[(&str, &str)] = &[
    (
        "digits",
        concat!(
            r#"{"id":"digits","price":123456789012345678.25,"amount":0.100000000000000000001,"#,
            r#""ratio":0.1,"score":1e+300,"weight":7.3,"cash":1234567.89,"small":-32768,"#,
            r#""big":9223372036854775807,"flag":true,"at":"2021-06-16T20:14:09.310000Z","#,
            r#""local_at":"2021-06-16T20:14:09.000001","day":"2021-06-16","span":"P1Y2M3DT4H5M6.5S","#,
            r#""amounts":[1.10, -0.000000000000000000001, null],"ratios":[0.5, null, null],"#,
            r#""tags":["a b", null, "é"],"moments":["2021-06-16T20:14:09+00:00"],"#,
            r#""extra":{"f": 0.00000015, "n": 12345678901234567890123, "s": "x"},"mood":"happy","#,
            r#""uid":"00000000-0000-0000-0000-000000000001","address":"10.0.0.1","blob":"AP8Q","#,
            r#""doubled":246913578024691356.50}"#,
        ),
    ),
    (
        "not numbers",
        concat!(
            r#"{"id":"not numbers","price":null,"amount":null,"ratio":0,"score":null,"weight":null,"#,
            r#""cash":null,"small":null,"big":null,"flag":false,"at":null,"local_at":null,"#,
            r#""day":"-0043-03-15","span":"P-1D","amounts":[],"ratios":[],"tags":[],"moments":[],"#,
            r#""extra":[],"mood":"sad","uid":null,"address":"::1","blob":"","doubled":null}"#,
        ),
    ),
    (
        "a/b?c%d#e é",
        concat!(
            r#"{"id":"a/b?c%d#e é","price":null,"amount":null,"ratio":0,"score":null,"weight":null,"#,
            r#""cash":null,"small":null,"big":null,"flag":null,"at":null,"local_at":null,"#,
            r#""day":null,"span":null,"amounts":null,"ratios":null,"tags":null,"moments":null,"#,
            r#""extra":null,"mood":null,"uid":null,"address":null,"blob":null,"doubled":null}"#,
        ),
    ),
];

#[tokio::test]
async fn every_type_of_the_readme_table_reaches_the_document_as_the_table_says() {
    let name = unique_name("types_table");
    let db = TestDb::empty(&name).await;
    db.psql_file(
        &std::path::Path::new(REPO).join("tests/types/schema.sql"),
        &[],
    );
    // A server whose sessions default to another zone and interval style must not change
    // what a document holds.
    db.execute(&format!(
        "ALTER DATABASE \"{name}\" SET TimeZone = 'Asia/Kolkata'; ALTER DATABASE \"{name}\" SET IntervalStyle = 'sql_standard'"
    ))
    .await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::with_pipelines(
        &db,
        &format!("pipelines:\n  values: {{file: {REPO}/tests/types/values.yaml, alias: {name}}}\n"),
    );
    worker.sync_once();
    assert!(
        !worker.dead_letter_path().exists(),
        "refused: {}",
        std::fs::read_to_string(worker.dead_letter_path()).unwrap_or_default()
    );
    let actual = index.source_texts().await;
    for (id, expected) in EXPECTED {
        assert_eq!(
            actual.get(*id).map(String::as_str),
            Some(*expected),
            "document {id}"
        );
    }
    assert_eq!(actual.len(), EXPECTED.len());
}

#[tokio::test]
async fn verify_sees_a_number_that_lost_digits_in_the_index() {
    let name = unique_name("types_verify");
    let db = TestDb::empty(&name).await;
    db.psql_file(
        &std::path::Path::new(REPO).join("tests/types/schema.sql"),
        &[],
    );
    let index = SearchIndex::new(&name).await;
    let worker = Worker::with_pipelines(
        &db,
        &format!("pipelines:\n  values: {{file: {REPO}/tests/types/values.yaml, alias: {name}}}\n"),
    );
    worker.sync_once();
    // What a writer through `f64` leaves: 123456789012345678.25 as 1.2345678901234568e17.
    let lossy: serde_json::Value = serde_json::from_str(EXPECTED[0].1).unwrap();
    index.put("digits", &lossy).await;
    index.refresh().await;
    let output = worker.output(&["verify", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(
        report["stale"]["ids"],
        serde_json::json!(["digits"]),
        "{report}"
    );
    assert_ne!(output.status.code(), Some(0));
}

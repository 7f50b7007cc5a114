//! Lists sort as the database sorts (`tests/sorting/`): names in the column's ICU collation,
//! a declared collation, descending keys, an enum's own order, numbers by value, and collected
//! arrays. The document is written by hand from what `ORDER BY` gives on these rows; a sort by
//! the bytes of the text (what pg2es did before) puts `Zola` before `de la Cruz` and `antique`
//! before `new`.

use crate::support::{unique_name, SearchIndex, TestDb, Worker, REPO};

const EXPECTED: &str = concat!(
    r#"{"id":"b1","#,
    r#""authors":[{"id":6,"name":null},{"id":3,"name":"de la Cruz"},{"id":3,"name":"de la Cruz"},"#,
    r#"{"id":3,"name":"de la Cruz"},{"id":1,"name":"Dumas"},{"id":5,"name":"émile"},"#,
    r#"{"id":4,"name":"Émile"},{"id":2,"name":"Zola"}],"#,
    r#""authors_desc":[{"id":2,"name":"Zola"},{"id":4,"name":"Émile"},{"id":5,"name":"émile"},"#,
    r#"{"id":1,"name":"Dumas"},{"id":3,"name":"de la Cruz"},{"id":3,"name":"de la Cruz"},"#,
    r#"{"id":3,"name":"de la Cruz"},{"id":6,"name":null}],"#,
    r#""authors_bytes":[{"id":6,"name":null},{"id":1,"name":"Dumas"},{"id":2,"name":"Zola"},"#,
    r#"{"id":3,"name":"de la Cruz"},{"id":3,"name":"de la Cruz"},{"id":3,"name":"de la Cruz"},"#,
    r#"{"id":4,"name":"Émile"},{"id":5,"name":"émile"}],"#,
    r#""credits":[{"author":6,"roles":["writer"]},{"author":5,"roles":["writer"]},"#,
    r#"{"author":4,"roles":["writer"]},{"author":3,"roles":["author","éditeur","Editor"]},"#,
    r#"{"author":2,"roles":["writer"]},{"author":1,"roles":["writer"]}],"#,
    r#""copies":[{"id":5,"wear":null,"price":1},{"id":2,"wear":"new","price":10},"#,
    r#"{"id":4,"wear":"new","price":9.75},{"id":3,"wear":"worn","price":100.25},"#,
    r#"{"id":1,"wear":"antique","price":9.5}]}"#,
);

/// The one document `declaration` (a file of `tests/sorting/`) builds from the shelf schema,
/// as the text the index keeps.
async fn the_document(test: &str, declaration: &str) -> Option<String> {
    let name = unique_name(test);
    let db = TestDb::empty(&name).await;
    db.psql_file(
        &std::path::Path::new(REPO).join("tests/sorting/schema.sql"),
        &[],
    );
    let index = SearchIndex::new(&name).await;
    let worker = Worker::with_pipelines(
        &db,
        &format!(
            "pipelines:\n  shelf: {{file: {REPO}/tests/sorting/{declaration}, alias: {name}}}\n"
        ),
    );
    worker.sync_once();
    index.source_texts().await.remove("b1")
}

#[tokio::test]
async fn lists_sort_as_the_database_sorts_in_collation_enum_and_number_order() {
    let document = the_document("sorting", "shelf.yaml").await;
    assert_eq!(document.as_deref(), Some(EXPECTED));
}

#[tokio::test]
async fn a_declared_collation_the_database_does_not_have_stops_start_up_with_its_line() {
    let name = unique_name("sorting_collation");
    let db = TestDb::empty(&name).await;
    db.psql_file(
        &std::path::Path::new(REPO).join("tests/sorting/schema.sql"),
        &[],
    );
    let text = std::fs::read_to_string(format!("{REPO}/tests/sorting/shelf.yaml"))
        .unwrap()
        .replace("collate: C}", "collate: no-such-x-icu}")
        .replace(
            "config: shelf_index.json",
            &format!("config: {REPO}/tests/sorting/shelf_index.json"),
        );
    let line = text.lines().position(|l| l.contains("no-such")).unwrap() + 1;
    let worker = Worker::with_pipelines(&db, "pipelines: {}\n");
    let declaration = worker.dir.path().join("shelf.yaml");
    std::fs::write(&declaration, &text).unwrap();
    std::fs::write(
        worker.config_path(),
        format!(
            "pipelines:\n  shelf: {{file: {}, alias: {name}}}\n",
            declaration.display()
        ),
    )
    .unwrap();
    for command in [&["check"][..], &["sync", "--once"][..]] {
        let output = worker.output(command);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "{command:?} succeeded: {stderr}");
        for wanted in [
            format!("line {line}"),
            "document.authors_bytes.sort".to_owned(),
            "collation \"no-such-x-icu\" does not exist".to_owned(),
        ] {
            assert!(
                stderr.contains(&wanted),
                "{command:?}: no {wanted:?} in {stderr}"
            );
        }
    }
}

/// Written by hand from `tests/sorting/schema.sql`: copies 1 antique 9.5, 2 new 10, 3 worn
/// 100.25, 4 new 9.75, 5 NULL 1; credits 3, 7 are Editor and éditeur of author 3; the
/// writers' positions are 1 Dumas, 2 Zola, 3 Émile, 4 émile, 5 the author without a name.
const FILTERED: &str = concat!(
    r#"{"id":"b1","editors":[{"id":3},{"id":3}],"cheap":[{"id":1},{"id":4},{"id":5}],"#,
    r#""worn_or_older":[{"id":1},{"id":3}],"unknown_wear":[{"id":5}],"#,
    r#""known_and_dear":[{"id":3},{"id":2}],"not_new":[{"id":1},{"id":3}],"#,
    r#""credited":[{"name":null,"role":"writer","position":5},{"name":"émile","role":"writer","position":4},"#,
    r#"{"name":"Émile","role":"writer","position":3},{"name":"Zola","role":"writer","position":2},"#,
    r#"{"name":"Dumas","role":"writer","position":1}],"#,
    r#""wears":[{"book":"b1","wear":[null,"new","worn","antique"]}]}"#,
);

#[tokio::test]
async fn list_filters_compare_as_the_columns_type_and_link_columns_are_fields_and_sort_keys() {
    let document = the_document("filters", "filters.yaml").await;
    assert_eq!(document.as_deref(), Some(FILTERED));
}

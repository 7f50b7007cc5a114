//! Keys are what the database says they are: a declared key that may repeat or be NULL stops
//! start-up and `check`, naming the declaration file, the key and its line, with the statement
//! that would make it a key; a key some unique index makes unique runs.

use std::path::{Path, PathBuf};

use crate::support::refusal::refused;
use crate::support::{assert_same_documents, unique_name, SearchIndex, TestDb, Worker, REPO};

const BOOKS: &str = include_str!("library/books.yaml");

/// The library (books, and their copies in a partitioned table) and a worker whose books
/// declaration is the file it returns, in `dir`.
async fn library(name: &str, dir: &Path) -> (TestDb, Worker, PathBuf) {
    let db = TestDb::empty(name).await;
    db.psql_file(&Path::new(REPO).join("tests/library/schema.sql"), &[]);
    let file = dir.join("books.yaml");
    let worker = Worker::with_pipelines(
        &db,
        &format!(
            "pipelines:\n  books: {{file: {}, alias: {name}, index_config: {REPO}/tests/library/books_index.json}}\n",
            file.display()
        ),
    );
    (db, worker, file)
}

#[tokio::test]
async fn a_key_that_may_repeat_or_be_null_stops_start_up_and_check_with_its_file_key_and_line() {
    let name = unique_name("keys_refused");
    let dir = tempfile::tempdir().unwrap();
    let (db, worker, file) = library(&name, dir.path()).await;
    // The copies' book_id repeats; the partitioned index on (book_id, id) holds id too.
    db.execute("CREATE UNIQUE INDEX copy_book_id ON lib.copy (book_id, id)")
        .await;
    let text = BOOKS.replace("lib.copy: {key: id,", "lib.copy: {key: book_id,");
    refused(
        &worker,
        &file,
        &text,
        "tables.lib.copy.key",
        "lib.copy: {key: book_id",
        &[
            "lib.copy.book_id is not unique",
            "lib.copy_book_id also holds id",
            "CREATE UNIQUE INDEX ON lib.copy (book_id)",
        ],
    );
    // A book code unique only where it is positive, then unique but nullable.
    db.execute(
        "ALTER TABLE lib.book ADD COLUMN code bigint;
         CREATE UNIQUE INDEX book_code_positive ON lib.book (code) WHERE code > 0",
    )
    .await;
    let text = BOOKS.replace("lib.book: {key: id,", "lib.book: {key: code,");
    let declares = "lib.book: {key: code";
    let says = ["lib.book_code_positive is partial", "CREATE UNIQUE INDEX"];
    refused(
        &worker,
        &file,
        &text,
        "tables.lib.book.key",
        declares,
        &says,
    );
    db.execute("CREATE UNIQUE INDEX book_code ON lib.book (code)")
        .await;
    let says = [
        "lib.book.code may be NULL",
        "ALTER TABLE lib.book ALTER COLUMN code SET NOT NULL",
    ];
    refused(
        &worker,
        &file,
        &text,
        "tables.lib.book.key",
        declares,
        &says,
    );
    assert!(
        !SearchIndex::open(&name).exists().await,
        "nothing may be written"
    );
}

#[tokio::test]
async fn a_key_unique_by_an_index_other_than_the_primary_key_runs() {
    let name = unique_name("keys_unique");
    let dir = tempfile::tempdir().unwrap();
    let (db, worker, file) = library(&name, dir.path()).await;
    db.execute(
        "ALTER TABLE lib.book ADD COLUMN code bigint;
         UPDATE lib.book SET code = id;
         ALTER TABLE lib.book ALTER COLUMN code SET NOT NULL;
         CREATE UNIQUE INDEX book_code ON lib.book (code)",
    )
    .await;
    // The books by their code (equal to their id, so the documents are the same); the copies
    // by their id, which the partitioned table's primary key makes unique.
    let text = BOOKS.replace("lib.book: {key: id,", "lib.book: {key: code,");
    std::fs::write(&file, &text).unwrap();
    let index = SearchIndex::new(&name).await;
    worker.sync_once();
    index.refresh().await;
    let expected = db.expected_by(include_str!("library/expected.sql")).await;
    assert_eq!(expected.len(), 40);
    assert_same_documents(&expected, &index.documents().await);
    // Once the index is there, `check` passes as a whole.
    let check = worker.output(&["check"]);
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(check.status.success(), "check failed: {report}");
}

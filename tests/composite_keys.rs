//! A link table whose key is the pair `(book_isbn, author_id)`, with no id column, in every
//! capture mode: credits inserted, a role changed, a credit deleted and one moved to another
//! book reach the index, compared with documents built independently in SQL
//! (`tests/composite_keys/expected.sql`). Some isbns hold `/` and `%`, the characters a
//! composite key's text encodes. In polling mode each run starts from the state file, whose
//! credit cursor is a composite key: its "went back" test must not be fooled by the other
//! credits of the same book.

use std::path::Path;

use crate::support::fixture::{Fixture, Parts};
use crate::support::refusal::{line_of, refused};
use crate::support::{unique_name, TestDb, Worker, REPO};

const BOOKS: &str = include_str!("composite_keys/books.yaml");

async fn bib(test: &str, capture: &'static str) -> Fixture {
    let parts = Parts {
        schema: "tests/composite_keys/schema.sql",
        pipeline: "bib",
        declaration: "tests/composite_keys/books.yaml",
        expected: include_str!("composite_keys/expected.sql"),
        // Pages smaller than a book's credits: the keyset must page inside rows of one book.
        batch_size: 2,
    };
    Fixture::new(test, capture, parts).await
}

async fn link_rows_change(bib: &Fixture) {
    bib.cycle("the back-fill", "", true).await;
    bib.cycle(
        "credits inserted, two of them for one book in one statement",
        "INSERT INTO bib.author (id, name) VALUES (9, 'Author 9'), (10, 'Author 10');
             INSERT INTO bib.credit (book_isbn, author_id, role, position)
             VALUES ('978/7', 9, 'translator', 4), ('978/7', 10, 'editor', 5),
                    ('978%2F8', 9, 'editor', 4)",
        true,
    )
    .await;
    bib.cycle(
        "a credit's role updated",
        "UPDATE bib.credit SET role = 'illustrator', updated_at = now()
             WHERE book_isbn = '978/4' AND position = 2",
        true,
    )
    .await;
    bib.cycle(
        "a credit deleted",
        "DELETE FROM bib.credit WHERE book_isbn = '978%2F5' AND position = 3",
        false,
    )
    .await;
    bib.cycle(
        "a credit moved to another book",
        "UPDATE bib.credit SET book_isbn = '978%2F2', position = 7, updated_at = now()
             WHERE book_isbn = '978/7' AND author_id = 9",
        false,
    )
    .await;
    bib.cycle("a restart with nothing new", "", true).await;
}

#[tokio::test]
async fn composite_key_link_rows_reach_the_index_in_polling_mode() {
    let bib = bib("composite_polling", "polling").await;
    link_rows_change(&bib).await;
    // The cursor stands on the moved credit: its parts encoded (`%` as `%25`), joined by `/`.
    let state = bib.worker.state_of("bib").expect("a state file");
    assert_eq!(
        state["cursors"]["bib.credit"]["id"], "978%252F2/9",
        "{state}"
    );
}

#[tokio::test]
async fn composite_key_link_rows_reach_the_index_in_triggers_mode() {
    link_rows_change(&bib("composite_triggers", "triggers").await).await;
}

#[tokio::test]
async fn composite_key_link_rows_reach_the_index_in_logical_mode() {
    if crate::support::no_logical_capture("composite_key_link_rows_reach_the_index_in_logical_mode")
    {
        return;
    }
    link_rows_change(&bib("composite_logical", "logical").await).await;
}

#[tokio::test]
async fn a_composite_key_that_is_not_unique_or_a_ref_short_of_one_stops_start_up_with_its_line() {
    let name = unique_name("composite_refused");
    let db = TestDb::empty(&name).await;
    db.psql_file(
        &Path::new(REPO).join("tests/composite_keys/schema.sql"),
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("books.yaml");
    let worker = Worker::with_pipelines(
        &db,
        &format!(
            "pipelines:\n  bib: {{file: {}, alias: {name}, index_config: {REPO}/tests/composite_keys/books_index.json}}\n",
            file.display()
        ),
    );
    // The primary key (book_isbn, author_id) also holds author_id: (book_isbn, role) may repeat.
    let text = BOOKS.replace("key: [book_isbn, author_id]", "key: [book_isbn, role]");
    refused(
        &worker,
        &file,
        &text,
        "tables.bib.credit.key",
        "key: [book_isbn, role]",
        &[
            "bib.credit (book_isbn, role) is not unique",
            "CREATE UNIQUE INDEX ON bib.credit (book_isbn, role)",
        ],
    );
    // A composite root key: a ref to it must name as many columns.
    db.execute("ALTER TABLE bib.book ADD COLUMN edition integer NOT NULL DEFAULT 1")
        .await;
    let text = BOOKS.replace("bib.book: {key: isbn,", "bib.book: {key: [isbn, edition],");
    // A mistake in the declaration itself: exit 2, as for every declaration error.
    std::fs::write(&file, &text).unwrap();
    let sync = worker.output(&["sync", "--once"]);
    let message = String::from_utf8_lossy(&sync.stderr);
    assert_eq!(sync.status.code(), Some(2), "{message}");
    let line = format!("line {}", line_of(&text, "refs: {book_isbn: bib.book"));
    for expected in [
        &file.display().to_string(),
        "tables.bib.credit.refs.book_isbn",
        &line,
        "bib.book has a key of 2 column(s) (isbn, edition)",
    ] {
        assert!(message.contains(expected), "no {expected:?} in {message}");
    }
    // The same columns in another order are the primary key's: it runs.
    let text = BOOKS.replace("key: [book_isbn, author_id]", "key: [author_id, book_isbn]");
    std::fs::write(&file, text).unwrap();
    let (_, _, _, log) = worker.sync_once();
    assert!(log.contains("indexed="), "{log}");
}

//! The declared movies pipeline writes exactly what the compiled one wrote: `pg2es export
//! --dir` on the real dataset gives the bulk bodies in `tests/fixtures/movies_export`, made
//! once by the compiled pipeline before it was replaced: the same bodies, each with the same
//! documents byte for byte. (The order of the documents inside one body is the order Postgres
//! returned the batch's rows in, a plan's choice for both pipelines, and means nothing to a
//! bulk request.) The action lines now also carry each document's version (see
//! `tests/stale_writes.rs`), which the compiled pipeline did not write: it is compared apart.

use std::path::Path;

use crate::support::{unique_name, TestDb, Worker, REPO};

#[tokio::test]
async fn the_declared_movies_pipeline_writes_the_compiled_pipelines_bytes() {
    let name = unique_name("golden");
    let db = TestDb::with_dataset(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set("PG2ES__SYNC__BATCH_SIZE", "500");
    let out = worker.dir.path().join("export");
    let output = worker.output(&["export", "--dir", out.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let fixtures = Path::new(REPO).join("tests/fixtures/movies_export");
    let mut expected: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|file| file.to_string_lossy().ends_with(".ndjson"))
        .collect();
    expected.sort();
    let mut written: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    written.sort();
    assert_eq!(written, expected, "the same bulk bodies");
    for file in expected {
        let (want, got) = (
            std::fs::read_to_string(fixtures.join(&file)).unwrap(),
            std::fs::read_to_string(out.join(&file)).unwrap(),
        );
        let versioned = got.lines().step_by(2).all(|line| {
            line.contains(r#","version":"#) && line.ends_with(r#","version_type":"external_gte"}}"#)
        });
        assert!(versioned, "{file:?}: every action line carries a version");
        let got = without_versions(&got);
        let (want, got) = (items(&want), items(&got));
        assert_eq!(got.len(), want.len(), "{file:?}: documents in the body");
        for (want, got) in want.iter().zip(&got) {
            assert!(
                want == got,
                "{file:?}: a document differs from the compiled pipeline's:\n  compiled: {}\n  declared: {}",
                want.1,
                got.1
            );
        }
    }
}

/// A bulk body with the version fields taken out of its action lines.
fn without_versions(body: &str) -> String {
    let mut out = String::new();
    for (at, line) in body.lines().enumerate() {
        let line = match (at % 2, line.find(r#","version":"#)) {
            (0, Some(start)) => format!("{}}}}}", &line[..start]),
            _ => line.to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The (action line, document line) pairs of a bulk body, sorted.
fn items(body: &str) -> Vec<(&str, &str)> {
    let lines: Vec<&str> = body.lines().collect();
    let mut pairs: Vec<(&str, &str)> = lines.chunks(2).map(|pair| (pair[0], pair[1])).collect();
    pairs.sort_unstable();
    pairs
}

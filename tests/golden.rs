//! The declared movies pipeline writes exactly what the compiled one wrote: `pg2es export
//! --dir` on the real dataset gives the bulk bodies in `tests/fixtures/movies_export`, made
//! once by the compiled pipeline before it was replaced.

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
        let want = std::fs::read(fixtures.join(&file)).unwrap();
        let got = std::fs::read(out.join(&file)).unwrap();
        if want != got {
            let line = want
                .split(|b| *b == b'\n')
                .zip(got.split(|b| *b == b'\n'))
                .position(|(a, b)| a != b);
            panic!(
                "{} differs from the compiled pipeline's body (first differing line: {line:?})",
                file.to_string_lossy()
            );
        }
    }
}

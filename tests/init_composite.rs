//! `pg2es init --root route.line --depth 2` on `tests/composite_root/` (a root keyed by
//! `(operator, code)`, every relation a foreign key of several columns but the drivers'): the
//! draft declares the composite keys and refs, passes `check` and back-fills as it is, and its
//! documents, `_id` included, equal ones built by hand in SQL for the drafted shape
//! (`tests/init/lines_expected.sql`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::{unique_name, SearchIndex, TestDb, Worker, REPO};

/// A document without its `updated_at` columns (the root's, its lists' and their links'), which
/// only say when the rows were written.
fn without_timestamps(value: &Value) -> Value {
    match value {
        Value::Object(fields) => fields
            .iter()
            .filter(|(name, _)| !name.ends_with("updated_at"))
            .map(|(name, value)| (name.clone(), without_timestamps(value)))
            .collect(),
        Value::Array(items) => items.iter().map(without_timestamps).collect(),
        other => other.clone(),
    }
}

#[tokio::test]
async fn init_drafts_a_composite_root_with_composite_refs_that_checks_and_back_fills() {
    let name = unique_name("init_lines");
    let db = TestDb::empty(&name).await;
    db.psql_file(
        &Path::new(REPO).join("tests/composite_root/schema.sql"),
        &[],
    );
    let index = SearchIndex::new(&name).await;
    let drafting = Worker::new(&db, &name);
    let args = [
        "init",
        "--root",
        "route.line",
        "--depth",
        "2",
        "--name",
        &name,
    ];
    let out = drafting.output(&args);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = drafting
        .config_path()
        .with_file_name("pipelines")
        .join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&file).unwrap();
    for line in [
        r#"route.line: {key: [operator, code], changed_by: updated_at, refs: {"depot_region, depot_num": route.depot}}"#,
        r#"refs: {"line_operator, line_code": route.line, "station_city, station_name": route.station}"#,
        "through: route.shift\n",
        "station: {list: route.station, one: true",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(!text.contains("not followed"), "{text}");
    assert!(
        said.contains("CREATE INDEX ON route.shift (driver_id, line_operator, line_code)"),
        "{said}"
    );

    let worker = Worker::with_pipelines(
        &db,
        &format!("pipelines:\n  {name}: {{file: {}}}\n", file.display()),
    );
    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed, 9, "{log}");
    let check = worker.output(&["check"]);
    let checked = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{checked}");

    assert_documents(&db, &index, "after the back-fill").await;

    // Changes reached through each composite ref: a depot, a station (the second hop), a
    // shift added to a line, a call moved to another line.
    db.execute(
        "UPDATE route.depot SET name = 'Nord eins', updated_at = now() WHERE region = 'nord' AND num = 1;
         UPDATE route.station SET zone = 7, updated_at = now() WHERE city = 'Paris' AND name = 'Gare/Nord';
         INSERT INTO route.shift (line_operator, line_code, driver_id, since)
         VALUES ('RATP', 'N 7', 6, '2026-12-01');
         UPDATE route.call SET line_code = '1', seq = 9, updated_at = now()
             WHERE line_operator = 'Üstra 50%' AND line_code = '%2F' AND seq = 3",
    )
    .await;
    worker.sync_once();
    assert_documents(&db, &index, "after changes through every relation").await;
}

/// The index's documents, without timestamps, equal the ones `lines_expected.sql` builds.
async fn assert_documents(db: &TestDb, index: &SearchIndex, when: &str) {
    index.refresh().await;
    let expected = db
        .expected_by(include_str!("init/lines_expected.sql"))
        .await;
    let actual: BTreeMap<String, Value> = index
        .documents()
        .await
        .iter()
        .map(|(id, doc)| (id.clone(), without_timestamps(doc)))
        .collect();
    assert_eq!(actual, expected, "{when}");
}

//! `pg2es init --root content.film_work` on the movies schema: the drafted declaration passes
//! `check` and back-fills as it is, genres and people as `through` lists.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::support::{unique_name, SearchIndex, TestDb, Worker};

/// What the test compares of a document: the title, the genre ids and the (person, role)
/// pairs, sorted (people may share a key across roles).
fn projection(document: &Value) -> Value {
    let ids = |list: &str, link: Option<&str>| {
        let mut items: Vec<Value> = document[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list} is a list: {document}"))
            .iter()
            .map(|item| match link {
                Some(link) => json!([item["id"], item[link]]),
                None => item["id"].clone(),
            })
            .collect();
        items.sort_by_key(|item| item.to_string());
        Value::Array(items)
    };
    json!({
        "title": document["title"],
        "genre": ids("genre", None),
        "person": ids("person", Some("link_role")),
    })
}

#[tokio::test]
async fn init_drafts_a_movies_declaration_that_checks_and_back_fills_with_through_lists() {
    let name = unique_name("init_movies");
    let db = TestDb::with_generated(&name, 40).await;
    let index = SearchIndex::new(&name).await;
    let drafting = Worker::new(&db, &name);
    let args = ["init", "--root", "content.film_work", "--name", &name];
    let out = drafting.output(&args);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("CREATE INDEX ON content.person_film_work (person_id, film_work_id)"),
        "{said}"
    );
    let file = drafting
        .config_path()
        .with_file_name("pipelines")
        .join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("through: content.person_film_work"), "{text}");
    assert!(!text.contains("\n  config:"), "{text}");

    // Never overwritten without --force.
    let again = drafting.output(&args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = [&args[..], &["--force"]].concat();
    assert!(drafting.output(&forced).status.success());

    // Bad input, named with what to do.
    db.execute("CREATE TABLE public.no_key (a int)").await;
    for (root, says) in [
        (
            "content.no_such_table",
            "does not exist: name an existing table",
        ),
        ("film_work", "name the table as SCHEMA.TABLE"),
        (
            "public.no_key",
            "has no primary key: add one (ALTER TABLE public.no_key ADD PRIMARY KEY",
        ),
    ] {
        let refused = drafting.output(&["init", "--root", root, "--name", "other"]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !refused.status.success() && stderr.contains(says),
            "{root}: {stderr}"
        );
    }

    let worker = Worker::with_pipelines(
        &db,
        &format!("pipelines:\n  {name}: {{file: {}}}\n", file.display()),
    );
    let (indexed, _, _, log) = worker.sync_once();
    let films = db
        .scalar_i64("SELECT count(*) FROM content.film_work")
        .await;
    assert_eq!(indexed, films as u64, "{log}");
    let check = worker.output(&["check"]);
    let checked = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{checked}");

    let expected = db.expected_by(include_str!("init/expected.sql")).await;
    let documents = index.documents().await;
    let actual: BTreeMap<String, Value> = documents
        .iter()
        .map(|(id, doc)| (id.clone(), projection(doc)))
        .collect();
    assert_eq!(actual, expected);
    assert!(actual
        .values()
        .any(|d| d["person"].as_array().unwrap().len() > 1));
    assert!(actual
        .values()
        .any(|d| !d["genre"].as_array().unwrap().is_empty()));

    // A search through the nested people finds the films of one person.
    let (person, films_of) = {
        let person = db
            .scalar_text("SELECT person_id::text FROM content.person_film_work LIMIT 1")
            .await;
        let sql = format!("SELECT count(DISTINCT film_work_id) FROM content.person_film_work WHERE person_id = '{person}'");
        (person.clone(), db.scalar_i64(&sql).await)
    };
    let query =
        json!({"query": {"nested": {"path": "person", "query": {"term": {"person.id": person}}}}});
    let found = index.search(query).await;
    assert_eq!(found["hits"]["total"]["value"].as_i64(), Some(films_of));
}

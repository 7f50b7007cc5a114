//! `pg2es init --root content.film_work` on the real movies dataset: the drafted declaration passes
//! `check` and back-fills as it is, genres and people as `through` lists.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use std::path::Path;

use crate::support::{unique_name, SearchIndex, TestDb, Worker, REPO};

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
    // The real third-party dataset (../shared/data/movies), as the issue asks.
    let db = TestDb::with_dataset(&name).await;
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

/// Runs `pg2es init` on `root` with `extra` arguments: whether it succeeded, the drafted text
/// (empty when it failed) and what it said on stderr.
fn draft(drafting: &Worker, root: &str, name: &str, extra: &[&str]) -> (bool, String, String) {
    let args = [&["init", "--root", root, "--name", name, "--force"], extra].concat();
    let out = drafting.output(&args);
    let file = drafting
        .config_path()
        .with_file_name("pipelines")
        .join(format!("{name}.yaml"));
    let text = match out.status.success() {
        true => std::fs::read_to_string(file).unwrap(),
        false => String::new(),
    };
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.success(), text, stderr)
}

/// An item's tags: (id, the group's label: the second hop), sorted by id.
fn hop_projection(document: &Value) -> Value {
    let mut tags: Vec<Value> = document["tag"]
        .as_array()
        .unwrap_or_else(|| panic!("tag is a list: {document}"))
        .iter()
        .map(|tag| json!([tag["id"], tag["group"]["label"]]))
        .collect();
    tags.sort_by_key(|tag| tag[0].as_i64());
    json!({"tag": tags})
}

#[tokio::test]
async fn init_follows_include_exclude_and_a_second_hop_on_the_hops_schema() {
    let name = unique_name("init_hops");
    let db = TestDb::empty(&name).await;
    db.psql_file(&Path::new(REPO).join("tests/hops/schema.sql"), &[]);
    let index = SearchIndex::new(&name).await;
    let drafting = Worker::new(&db, &name);

    let (ok, text, said) = draft(&drafting, "hop.item", "x", &["--exclude", "hop.tag"]);
    assert!(ok, "{said}");
    // hop.stock, two foreign keys and two columns of its own, reads as a link to hop.store.
    let through = |text: &str, link: &str| text.contains(&format!("through: {link}\n"));
    assert!(
        through(&text, "hop.stock") && !through(&text, "hop.item_tag"),
        "{text}"
    );
    assert!(
        text.contains("hop.tag left out by --exclude: no through list via hop.item_tag"),
        "{text}"
    );
    let (ok, text, said) = draft(&drafting, "hop.item", "x", &["--include", "hop.tag"]);
    assert!(ok, "{said}");
    assert!(
        !through(&text, "hop.stock") && through(&text, "hop.item_tag"),
        "{text}"
    );
    assert!(
        !text.contains("one: true"),
        "depth 1 drafts no second hop: {text}"
    );
    for (extra, says) in [
        (
            &["--include", "hop.nothing"][..],
            "--include hop.nothing: no table matches it",
        ),
        (
            &["--exclude", "nowhere.*"][..],
            "--exclude nowhere.*: no table matches it",
        ),
        (
            &["--depth", "3"][..],
            "--depth 3: a declaration nests at most two hops",
        ),
    ] {
        let (ok, _, said) = draft(&drafting, "hop.item", "x", extra);
        assert!(!ok && said.contains(says), "{extra:?}: {said}");
    }

    let (ok, text, said) = draft(&drafting, "hop.item", &name, &["--depth", "2"]);
    assert!(ok, "{said}");
    assert!(
        text.contains("group: {list: hop.tag_group, one: true"),
        "{text}"
    );
    let file = drafting
        .config_path()
        .with_file_name("pipelines")
        .join(format!("{name}.yaml"));
    let worker = Worker::with_pipelines(
        &db,
        &format!("pipelines:\n  {name}: {{file: {}}}\n", file.display()),
    );
    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed, 30, "{log}");
    let check = worker.output(&["check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let expected = db.expected_by(include_str!("init/hops_expected.sql")).await;
    let actual: BTreeMap<String, Value> = index
        .documents()
        .await
        .iter()
        .map(|(id, doc)| (id.clone(), hop_projection(doc)))
        .collect();
    assert_eq!(actual, expected);
    assert!(actual
        .values()
        .any(|d| d["tag"].to_string().contains("colour")));
}

/// `--index-config` writes the derived index config beside the draft and names it there, so
/// that analyzers can be tuned; the index is then made from that file (an analyzer added to it
/// shows in the index's mapping).
#[tokio::test]
async fn init_writes_the_derived_index_config_beside_the_draft_for_tuning() {
    let name = unique_name("init_config");
    let db = TestDb::with_generated(&name, 20).await;
    let index = SearchIndex::new(&name).await;
    let drafting = Worker::new(&db, &name);
    let (ok, text, stderr) = draft(&drafting, "content.genre", &name, &["--index-config"]);
    assert!(ok, "{stderr}");
    assert!(
        text.contains(&format!("\n  config: {name}_index.json\n")),
        "{text}"
    );
    let pipelines = drafting.config_path().with_file_name("pipelines");
    let config_file = pipelines.join(format!("{name}_index.json"));
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_file).unwrap()).unwrap();
    assert_eq!(config["mappings"]["dynamic"], "strict", "{config}");
    assert_eq!(
        config["mappings"]["properties"]["name"]["type"], "text",
        "{config}"
    );
    // Tuned by hand: the name searched with the `simple` analyzer.
    config["mappings"]["properties"]["name"]["analyzer"] = json!("simple");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let worker = Worker::with_pipelines(
        &db,
        &format!(
            "pipelines:\n  {name}: {{file: {}}}\n",
            pipelines.join(format!("{name}.yaml")).display()
        ),
    );
    let (indexed, _, _, log) = worker.sync_once();
    let genres = db.scalar_i64("SELECT count(*) FROM content.genre").await;
    assert_eq!(indexed, genres as u64, "{log}");
    let mappings = index.mappings().await;
    assert_eq!(
        mappings["properties"]["name"]["analyzer"], "simple",
        "{mappings}"
    );
    let check = worker.output(&["check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // Never overwritten without --force, the config file neither.
    std::fs::remove_file(pipelines.join(format!("{name}.yaml"))).unwrap();
    let again = drafting.output(&[
        "init",
        "--root",
        "content.genre",
        "--name",
        &name,
        "--index-config",
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains(&format!("{name}_index.json exists")));
}

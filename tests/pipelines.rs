//! Several pipelines declared in YAML, served by one worker: the movies, genres and persons
//! indexes of the catalogue, each compared with documents built independently in SQL.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::{
    assert_same_documents, index_config_path, index_config_variant, unique_name, SearchIndex,
    TestDb, Worker, REPO,
};

struct Catalogue {
    db: TestDb,
    worker: Worker,
    movies: SearchIndex,
    genres: SearchIndex,
    persons: SearchIndex,
}

/// The three pipelines of the catalogue over the real dataset, each behind an alias of this
/// test's own; `movies_file` replaces the shipped movies declaration.
async fn catalogue(test: &str, movies_file: Option<&Path>) -> Catalogue {
    let name = unique_name(test);
    let db = TestDb::with_dataset(&name).await;
    // The shipped declaration names its index config relatively: the entry gives it here. A
    // test's own declaration names its own.
    let movies = match movies_file {
        None => format!(
            "{{file: {REPO}/pipelines/movies.yaml, alias: {name}_movies, index_config: {}}}",
            index_config_path().display()
        ),
        Some(file) => format!("{{file: {}, alias: {name}_movies}}", file.display()),
    };
    let config = format!(
        "pipelines:
  movies: {movies}
  genres: {{file: {REPO}/pipelines/genres.yaml, alias: {name}_genres}}
  persons: {{file: {REPO}/pipelines/persons.yaml, alias: {name}_persons}}
"
    );
    let worker = Worker::with_pipelines(&db, &config);
    Catalogue {
        movies: SearchIndex::new(&format!("{name}_movies")).await,
        genres: SearchIndex::new(&format!("{name}_genres")).await,
        persons: SearchIndex::new(&format!("{name}_persons")).await,
        db,
        worker,
    }
}

impl Catalogue {
    async fn assert_all_equal_postgres(&self) {
        assert_same_documents(
            &self.db.expected_documents().await,
            &self.movies.documents().await,
        );
        assert_same_documents(
            &self.db.expected_genres().await,
            &self.genres.documents().await,
        );
        assert_same_documents(
            &self.db.expected_persons().await,
            &self.persons.documents().await,
        );
    }

    fn setup(&mut self) {
        self.worker.capture_with_triggers();
    }
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const BUSY_PERSON: &str = "(SELECT person_id FROM content.person_film_work GROUP BY person_id
                            ORDER BY count(*) DESC, person_id LIMIT 1)";

#[tokio::test]
async fn the_three_indexes_of_the_catalogue_come_from_their_declarations() {
    let catalogue = catalogue("pipelines_three", None).await;
    let (indexed, _, _, _) = catalogue.worker.sync_once();
    assert_eq!(indexed, 999 + 26 + 4166);
    catalogue.assert_all_equal_postgres().await;

    // A person renamed (polling): that person's document and every film of theirs.
    catalogue
        .db
        .execute(&format!(
            "UPDATE content.person SET full_name = 'Renamed Person', updated_at = now()
             WHERE id = {BUSY_PERSON}"
        ))
        .await;
    let films = catalogue
        .db
        .scalar_i64(&format!(
            "SELECT count(DISTINCT film_work_id) FROM content.person_film_work WHERE person_id = {BUSY_PERSON}"
        ))
        .await as u64;
    let (indexed, _, _, _) = catalogue.worker.sync_once();
    assert_eq!(
        indexed,
        films + 1,
        "the films of the person, and the person"
    );
    catalogue.assert_all_equal_postgres().await;
    let found = catalogue
        .persons
        .matching_ids("full_name", "Renamed Person")
        .await;
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn link_rows_added_deleted_or_given_another_role_change_the_persons_documents() {
    let mut catalogue = catalogue("pipelines_links", None).await;
    catalogue.setup();
    catalogue.worker.sync_once();
    let db = &catalogue.db;
    // Another role on a film the person is in, a credit removed, a credit added.
    db.execute(&format!(
        "INSERT INTO content.person_film_work (film_work_id, person_id, role, created_at)
         SELECT pfw.film_work_id, pfw.person_id, 'writer', now() FROM content.person_film_work pfw
         WHERE pfw.person_id = {BUSY_PERSON} AND pfw.role = 'actor'
           AND NOT EXISTS (SELECT 1 FROM content.person_film_work w WHERE w.film_work_id = pfw.film_work_id
                           AND w.person_id = pfw.person_id AND w.role = 'writer')
         LIMIT 1"
    ))
    .await;
    db.execute(
        "DELETE FROM content.person_film_work WHERE id = (SELECT id FROM content.person_film_work ORDER BY id LIMIT 1)",
    )
    .await;
    db.execute(
        "UPDATE content.person_film_work SET role = 'director'
         WHERE id = (SELECT id FROM content.person_film_work WHERE role = 'writer' ORDER BY id LIMIT 1)",
    )
    .await;
    db.execute(
        "INSERT INTO content.person_film_work (film_work_id, person_id, role, created_at)
         SELECT f.id, p.id, 'actor', now()
         FROM (SELECT id FROM content.film_work ORDER BY id DESC LIMIT 1) f,
              (SELECT id FROM content.person ORDER BY id LIMIT 1) p
         ON CONFLICT DO NOTHING",
    )
    .await;
    let (indexed, _, _, _) = catalogue.worker.sync_once();
    assert!(indexed > 0);
    catalogue.assert_all_equal_postgres().await;
}

/// The movies declaration with the nested people as `{id, full_name}`: a one-line change.
fn movies_with_full_name(dir: &Path) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(format!("{REPO}/pipelines/movies.yaml")).unwrap();
    let edited = shipped
        .replace(
            "fields: {id: id, name: full_name}",
            "fields: {id: id, full_name: full_name}",
        )
        .replace(
            "sort: [name, id]\n  director:",
            "sort: [full_name, id]\n  director:",
        )
        .replace(
            "    sort: [name, id]\n  actors_names",
            "    sort: [full_name, id]\n  actors_names",
        )
        .replace(
            "    sort: [name, id]\n  writers_names",
            "    sort: [full_name, id]\n  writers_names",
        )
        .replace("field: name}", "field: full_name}");
    // The services that expect `full_name` map it so (the shipped mapping is strict).
    let mapping = index_config_variant(dir, "full_name_index.json", |config| {
        for list in ["actors", "writers", "directors"] {
            let properties = &mut config["mappings"]["properties"][list]["properties"];
            let name = properties["name"].take();
            let properties = properties.as_object_mut().unwrap();
            properties.remove("name");
            properties.insert("full_name".into(), name);
        }
    });
    let edited = edited.replace(
        "config: ../index_config.json",
        &format!("config: {mapping}"),
    );
    let path = dir.join("movies.yaml");
    std::fs::write(&path, edited).unwrap();
    path
}

#[tokio::test]
async fn a_declaration_edit_rebuilds_that_pipelines_index_alone() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(format!("{REPO}/pipelines/movies.yaml"))
        .unwrap()
        .replace(
            "config: ../index_config.json",
            &format!("config: {REPO}/index_config.json"),
        );
    let movies_file = dir.path().join("movies.yaml");
    std::fs::write(&movies_file, &shipped).unwrap();
    let catalogue = catalogue("pipelines_edit", Some(&movies_file)).await;
    catalogue.worker.sync_once();
    let before = (
        catalogue.movies.alias_target().await,
        catalogue.genres.alias_target().await,
        catalogue.persons.alias_target().await,
    );

    // A comment and the order of the tables: no document changes, nothing is rebuilt.
    let reworded = shipped.replace(
        "# The document, field by field",
        "# Fields, in the order\n# the documents have them",
    );
    std::fs::write(&movies_file, reworded).unwrap();
    catalogue.worker.sync_once();
    assert_eq!(catalogue.movies.alias_target().await, before.0);

    // The nested people as {id, full_name}: the movies index is rebuilt behind its alias.
    let edited = movies_with_full_name(dir.path());
    assert_eq!(edited, movies_file);

    let (_, _, _, log) = catalogue.worker.sync_once();
    assert_ne!(catalogue.movies.alias_target().await, before.0, "{log}");
    assert_eq!(catalogue.genres.alias_target().await, before.1);
    assert_eq!(catalogue.persons.alias_target().await, before.2);
    let documents = catalogue.movies.documents().await;
    let with_actors: Vec<&Value> = documents
        .values()
        .filter(|doc| doc["actors"].as_array().is_some_and(|a| !a.is_empty()))
        .collect();
    assert!(!with_actors.is_empty());
    for doc in with_actors {
        let first = &doc["actors"][0];
        assert!(first["full_name"].is_string(), "{first}");
        assert!(first.get("name").is_none(), "{first}");
    }
    // Every nested person is `{id, full_name}` of the same people, in the same order.
    let expected: BTreeMap<String, Value> = catalogue
        .db
        .expected_documents()
        .await
        .into_iter()
        .map(|(id, mut doc)| {
            for list in ["actors", "writers", "directors"] {
                for person in doc[list].as_array_mut().unwrap() {
                    let name = person["name"].take();
                    let object = person.as_object_mut().unwrap();
                    object.remove("name");
                    object.insert("full_name".into(), name);
                }
            }
            (id, doc)
        })
        .collect();
    assert_same_documents(&expected, &documents);
}

#[tokio::test]
async fn a_declaration_naming_a_missing_column_stops_with_its_file_key_and_line() {
    let name = unique_name("pipelines_bad_column");
    let db = TestDb::with_dataset(&name).await;
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(format!("{REPO}/pipelines/movies.yaml"))
        .unwrap()
        .replace("  title: title\n", "  title: titel\n");
    let file = dir.path().join("movies.yaml");
    std::fs::write(&file, &text).unwrap();
    let line = text.lines().position(|l| l == "  title: titel").unwrap() + 1;
    let worker = Worker::with_pipelines(
        &db,
        &format!(
            "pipelines:\n  movies: {{file: {}, alias: {name}}}\n",
            file.display()
        ),
    );
    let output = worker.output(&["sync", "--once"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("document.title"), "{message}");
    assert!(message.contains(&format!("line {line}")), "{message}");
    assert!(
        message.contains("content.film_work has no column titel"),
        "{message}"
    );
    let index = SearchIndex::open(&name);
    assert!(!index.exists().await, "nothing may be written");
}

#[tokio::test]
async fn two_deployments_in_triggers_mode_each_see_every_change() {
    let name = unique_name("pipelines_two_consumers");
    let db = TestDb::with_dataset(&name).await;
    let config = |alias: &str| {
        format!(
            "pipelines:\n  movies: {{file: {REPO}/pipelines/movies.yaml, alias: {alias}, index_config: {}}}\n",
            index_config_path().display()
        )
    };
    let staging = SearchIndex::new(&format!("{name}_staging")).await;
    let production = SearchIndex::new(&format!("{name}_production")).await;
    let mut first = Worker::with_pipelines(&db, &config(&format!("{name}_staging")));
    let mut second = Worker::with_pipelines(&db, &config(&format!("{name}_production")));
    for worker in [&mut first, &mut second] {
        worker.capture_with_triggers();
        assert_eq!(worker.sync_once().0, 999);
    }
    db.execute(
        "DELETE FROM content.film_work WHERE id IN (SELECT id FROM content.film_work ORDER BY id LIMIT 2);
         UPDATE content.film_work SET title = title || ' (restored)'
         WHERE id IN (SELECT id FROM content.film_work ORDER BY id DESC LIMIT 3);",
    )
    .await;
    // The first consumer reads (and once both passed, prunes) the changes; the second still
    // finds every one of them.
    assert_eq!(first.sync_once().1, 2);
    assert_eq!(second.sync_once().1, 2);
    let expected = db.expected_documents().await;
    assert_same_documents(&expected, &staging.documents().await);
    assert_same_documents(&expected, &production.documents().await);
    let left: i64 = db.scalar_i64("SELECT count(*) FROM pg2es.changes").await;
    assert_eq!(left, 0, "changes every consumer passed are pruned");
}

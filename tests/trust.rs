//! The index is ours: an alias moved by hand, a foreign index under the alias's name, a
//! rebuild whose refusals the live index shares, and a state file that belongs to another
//! database (or to this one before a backup was restored) are noticed, said and healed.

use std::process::Output;
use std::time::Duration;

use serde_json::json;

use crate::dead_letter::refusing_config;
use crate::support::process::Running;
use crate::support::{
    assert_index_equals_postgres, index_config, index_config_variant, unique_name, wait_until,
    SearchIndex, TestDb, Worker,
};

const DEADLINE: Duration = Duration::from_secs(120);

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `pg2es check` line about the alias.
fn alias_line(output: &Output) -> String {
    stdout(output)
        .lines()
        .find(|line| line.starts_with("✓ alias ") || line.starts_with("✗ alias "))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_alias_moved_by_hand_under_a_running_worker_is_noticed_and_rebuilt_behind() {
    let name = unique_name("trust_moved");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    let running = Running::start(&worker);
    worker.wait_backfilled(DEADLINE).await;
    let first = index.alias_target().await;

    // An operator points the alias at an index of their own holding one stray document.
    let by_hand = format!("{name}_by_hand");
    let foreign = SearchIndex::open(&by_hand);
    foreign.create(&index_config()).await;
    foreign.put("stray", &json!({"title": "Stray"})).await;
    index.move_alias_to(&by_hand).await;

    running
        .wait_for_log("not the one pg2es left it on", DEADLINE)
        .await;
    wait_until(
        "the alias on a rebuilt index of pg2es's",
        DEADLINE,
        || async {
            let on = index.aliased().await;
            on.len() == 1 && on[0] != by_hand && on[0] != first && on[0].starts_with(&name)
        },
    )
    .await;
    assert_index_equals_postgres(&db, &index).await;
    assert!(
        SearchIndex::open(&by_hand).exists().await,
        "an index pg2es did not build is left alone"
    );
}

#[tokio::test]
async fn a_foreign_index_under_the_alias_name_is_reported_then_migrated() {
    let name = unique_name("trust_foreign");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    SearchIndex::open(&name).create(&index_config()).await;
    let worker = Worker::new(&db, &name);

    let status = worker.output(&["status"]);
    let check = worker.output(&["check"]);

    assert!(stdout(&status).contains("foreign"), "{}", stdout(&status));
    assert!(alias_line(&check).starts_with('✗'), "{}", stdout(&check));
    assert!(alias_line(&check).contains("foreign"), "{}", stdout(&check));
    assert_eq!(check.status.code(), Some(1));

    worker.sync_once();

    assert!(index.alias_target().await.starts_with(&format!("{name}_")));
    assert_index_equals_postgres(&db, &index).await;
    let check = worker.output(&["check"]);
    assert!(alias_line(&check).starts_with('✓'), "{}", stdout(&check));
}

#[tokio::test]
async fn a_rebuild_refusing_only_what_the_damaged_live_index_lacks_gets_the_alias() {
    let name = unique_name("trust_swap");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    // The live index refuses the films with a description (a legitimate refusal: say the
    // field broke a limit), and then loses two documents besides.
    let refusing = refusing_config(&worker);
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &refusing);
    let (_, _, refused, _) = worker.sync_once();
    assert!(refused > 0);
    let live = index.alias_target().await;
    let accepted = index.count().await;
    let lost: Vec<String> = index.documents().await.into_keys().take(2).collect();
    for id in &lost {
        SearchIndex::open(&live).remove(id).await;
    }
    index.refresh().await;
    assert_eq!(index.count().await, accepted - 2);

    // Another config that refuses the same films: the rebuild refuses nothing the live holds.
    let changed = index_config_variant(worker.dir.path(), "refusing_folded.json", |config| {
        config["mappings"]["properties"]["description"] = json!({"type": "integer"});
        config["settings"]["refresh_interval"] = json!("2s");
    });
    worker.set("PG2ES__PIPELINES__MOVIES__INDEX_CONFIG", &changed);
    let (_, _, refused_again, log) = worker.sync_once();

    assert_eq!(refused_again, refused, "{log}");
    let rebuilt = index.alias_target().await;
    assert_ne!(rebuilt, live, "{log}");
    assert!(log.contains("does not hold either"), "{log}");
    assert_eq!(index.count().await, accepted, "the lost documents are back");
    let letters = std::fs::read_to_string(worker.dead_letter_path()).unwrap();
    let by_rebuilt = letters.lines().filter(|l| l.contains(&rebuilt)).count();
    assert_eq!(
        by_rebuilt as u64, refused,
        "each refusal of the rebuild is a dead letter"
    );
}

/// Sets `title` of the first 50 films (by id) without moving their `updated_at`.
const FIFTY: &str = "SELECT id FROM content.film_work ORDER BY id LIMIT 50";

#[tokio::test]
async fn a_state_file_pointed_at_another_database_leads_to_a_rebuild_from_it() {
    let name = unique_name("trust_other_db");
    let db = TestDb::with_dataset(&name).await;
    let copy = TestDb::with_dataset(&format!("{name}_copy")).await;
    copy.execute(&format!(
        "UPDATE content.film_work SET title = 'Qzcopyonly' WHERE id IN ({FIFTY})"
    ))
    .await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.sync_once();
    let first = index.alias_target().await;

    worker.set("PG2ES__POSTGRES__URL", &copy.url);
    let (_, _, _, log) = worker.sync_once();

    assert!(log.contains("belongs to another database"), "{log}");
    assert_ne!(
        index.alias_target().await,
        first,
        "rebuilt behind the alias"
    );
    assert_index_equals_postgres(&copy, &index).await;
    assert_eq!(index.matching_ids("title", "qzcopyonly").await.len(), 50);
}

#[tokio::test]
async fn rows_restored_older_than_the_cursor_lead_to_a_rebuild() {
    let name = unique_name("trust_restore");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    worker.sync_once();
    db.execute(&format!(
        "CREATE TABLE public.backup AS SELECT id, title, updated_at FROM content.film_work
             WHERE id IN ({FIFTY})"
    ))
    .await;
    db.execute(&format!(
        "UPDATE content.film_work SET title = 'Qzafterbackup', updated_at = now()
             WHERE id IN ({FIFTY})"
    ))
    .await;
    let (indexed, _, _, _) = worker.sync_once();
    assert_eq!(indexed, 50);

    // The backup restored over them: older rows, older change times, behind the cursor.
    db.execute(
        "UPDATE content.film_work f SET title = b.title, updated_at = b.updated_at
             FROM public.backup b WHERE f.id = b.id",
    )
    .await;
    let (_, _, _, log) = worker.sync_once();

    assert!(log.contains("restored from a backup"), "{log}");
    assert_index_equals_postgres(&db, &index).await;
    assert!(index
        .matching_ids("title", "qzafterbackup")
        .await
        .is_empty());
}

#[tokio::test]
async fn writes_into_the_index_by_someone_else_are_noticed_reported_and_repaired() {
    let name = unique_name("trust_writes");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::new(&name).await;
    let worker = Worker::new(&db, &name);
    let running = Running::start(&worker);
    worker.wait_backfilled(DEADLINE).await;
    let cycles = |state: Option<serde_json::Value>| state.map(|s| s["last_sync_at"].to_string());
    let after_backfill = cycles(worker.state());
    wait_until("a cycle after the back-fill", DEADLINE, || {
        std::future::ready(cycles(worker.state()) != after_backfill)
    })
    .await;

    // Someone writes into pg2es's index: a document with no row, and a film retitled.
    let live = SearchIndex::open(&index.alias_target().await);
    let stray = "00000000-0000-4000-8000-00000000beef";
    live.put(stray, &json!({"id": stray, "title": "Stray"}))
        .await;
    let film: String =
        sqlx::query_scalar("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    live.put(&film, &json!({"id": film, "title": "Overwritten By Hand"}))
        .await;

    running
        .wait_for_log("the index applied writes pg2es did not send", DEADLINE)
        .await;
    // The two writes may be noticed at one look or at two: either way both are repaired.
    let expected = db.expected_documents().await;
    wait_until("the index to equal Postgres again", DEADLINE, || async {
        index.refresh().await;
        crate::support::differences(&expected, &index.documents().await).is_empty()
    })
    .await;
    assert_index_equals_postgres(&db, &index).await;
    let noted = &worker.state().unwrap()["foreign_writes"];
    assert!(noted["operations"].as_i64() >= Some(1), "{noted}");
    assert!(noted["written_again"].as_u64() >= Some(1), "{noted}");
    assert!(noted["repaired_at"].is_string(), "{noted}");
    let check = worker.output(&["check"]);
    let line = stdout(&check)
        .lines()
        .find(|line| line.contains("writes by others"))
        .unwrap_or_default()
        .to_owned();
    assert!(line.starts_with('✓'), "{}", stdout(&check));
    assert!(line.contains("written again"), "{line}");
}

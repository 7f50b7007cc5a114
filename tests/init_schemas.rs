//! `pg2es init` on the project's second schemas, its draft run unedited: on the shop
//! (`tests/shop/`) the drafted declaration passes `check`, back-fills, and follows rounds of
//! seeded random writes with a `pg2es run` killed (SIGKILL) midway, each round compared with
//! documents built by hand in SQL for the drafted shape (`tests/init/shop_expected.sql`).
//! Replay a failure with the seed it prints: `PG2ES_TEST_SEED=<seed> cargo test --test main init_schemas`.

use std::collections::BTreeMap;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::randomized::{kill_during_a_cycle, seeds, write_unless_locked};
use crate::shop::{random_rounds, shop_schema, shop_worker, Shop};
use crate::support::{unique_name, SearchIndex, TestDb, Worker, REPO};

const ROUNDS: usize = 6;

/// Runs `pg2es init` with `args`, which must succeed; returns the drafted file's path.
fn init(drafting: &Worker, args: &[&str], name: &str) -> String {
    let args = [&["init", "--name", name][..], args].concat();
    let out = drafting.output(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = drafting
        .config_path()
        .with_file_name("pipelines")
        .join(format!("{name}.yaml"));
    file.display().to_string()
}

#[tokio::test]
async fn init_drafts_the_shop_unedited_and_it_follows_random_writes_and_kills_in_triggers_mode() {
    let seed = seeds()[0];
    eprintln!("init shop triggers: seed {seed} (replay: PG2ES_TEST_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let (name, db, index) = shop_schema("init_shop").await;
    let drafting = Worker::new(&db, &name);
    let file = init(&drafting, &["--root", "shop.orders"], "orders");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("through: shop.order_line"), "{text}");
    let worker = shop_worker(&db, &file, &name, "triggers");
    let shop = Shop {
        db,
        index,
        worker,
        expected: include_str!("init/shop_expected.sql"),
    };
    let (indexed, _, _, log) = shop.worker.sync_once();
    assert_eq!(indexed, 120, "{log}");
    let check = shop.worker.output(&["check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    shop.assert_equal("after the back-fill").await;
    random_rounds(&shop, &mut rng, true).await;
}

/// A trip's title, its country's name, its legs: (id, the port's name: the second hop), and its
/// guides: (id, name, the link's role).
fn trip_projection(document: &Value) -> Value {
    let list = |name: &str, item: &dyn Fn(&Value) -> Value| -> Vec<Value> {
        let mut items: Vec<Value> = document[name]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is a list: {document}"))
            .iter()
            .map(item)
            .collect();
        items.sort_by_key(|item| item[0].as_i64());
        items
    };
    let legs = list("leg", &|leg| json!([leg["id"], leg["port"]["name"]]));
    let guides = list("guide", &|guide| {
        json!([guide["id"], guide["name"], guide["link_role"]])
    });
    json!({"title": document["title"], "country": document["country"]["name"], "leg": legs, "guide": guides})
}

/// The atlas's root key is text, its legs partitioned; its guides are a through list of the
/// link table keyed by `(trip_id, guide_id)`, a composite key.
#[tokio::test]
async fn init_drafts_the_atlas_with_the_legs_port_as_a_second_hop_and_follows_random_writes() {
    let seed = seeds()[0];
    eprintln!("init atlas triggers: seed {seed} (replay: PG2ES_TEST_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let name = unique_name("init_atlas");
    let db = TestDb::empty(&name).await;
    db.psql_file(&Path::new(REPO).join("tests/atlas/schema.sql"), &[]);
    let index = SearchIndex::new(&name).await;
    let drafting = Worker::new(&db, &name);
    let file = init(
        &drafting,
        &["--root", "atlas.trip", "--depth", "2"],
        "trips",
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("port: {list: atlas.port, one: true"),
        "{text}"
    );
    assert!(text.contains("through: atlas.trip_guide\n"), "{text}");
    assert!(!text.contains("composite primary key"), "{text}");
    let mut worker = Worker::with_pipelines(
        &db,
        &format!("pipelines:\n  trips: {{file: {file}, alias: {name}}}\n"),
    );
    worker.set("PG2ES__SYNC__BATCH_SIZE", "7");
    worker.capture_with_triggers();
    worker.sync_once();
    let check = worker.output(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{said}");
    for round in 0..ROUNDS {
        for _ in 0..rng.random_range(1..10) {
            write_unless_locked(&db, &crate::atlas::random_write(&mut rng)).await;
        }
        if round == ROUNDS / 2 || rng.random_bool(0.3) {
            kill_during_a_cycle(&db, &worker, "trips", true, &mut rng).await;
        }
        worker.sync_once();
        index.refresh().await;
        let expected = db
            .expected_by(include_str!("init/atlas_expected.sql"))
            .await;
        let actual: BTreeMap<String, Value> = index
            .documents()
            .await
            .iter()
            .map(|(id, doc)| (id.clone(), trip_projection(doc)))
            .collect();
        assert_eq!(actual, expected, "round {round}");
        assert!(expected.values().any(|d| d["guide"] != json!([])));
    }
}

//! A second schema, declared only in YAML (`tests/shop/orders.yaml`): bigint keys, a
//! timestamp without time zone, a version counter, a many-to-one object, a one-to-many list
//! and a many-to-many list. Random writes in both capture modes; afterwards the index must
//! equal documents built independently in SQL (`tests/shop/expected.sql`). Replay a failure
//! with the seed it prints: `PG2ES_TEST_SEED=<seed> cargo test --test main shop`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::randomized::{kill_during_a_cycle, seeds};
use crate::support::{assert_same_documents, unique_name, SearchIndex, TestDb, Worker, REPO};

const ROUNDS: usize = 6;

fn seed() -> u64 {
    seeds()[0]
}

pub struct Shop {
    pub db: TestDb,
    pub index: SearchIndex,
    pub worker: Worker,
    /// `SELECT id, document` building every document by hand.
    pub expected: &'static str,
}

async fn shop(test: &str, capture: &str) -> Shop {
    let (name, db, index) = shop_schema(test).await;
    let declaration = format!("{REPO}/tests/shop/orders.yaml");
    let worker = shop_worker(&db, &declaration, &name, capture);
    let expected = include_str!("shop/expected.sql");
    Shop {
        db,
        index,
        worker,
        expected,
    }
}

/// A database with `tests/shop/schema.sql` and an index, both named for the test.
pub async fn shop_schema(test: &str) -> (String, TestDb, SearchIndex) {
    let name = unique_name(test);
    let db = TestDb::empty(&name).await;
    db.psql_file(
        &std::path::Path::new(REPO).join("tests/shop/schema.sql"),
        &[],
    );
    let index = SearchIndex::new(&name).await;
    (name, db, index)
}

/// A worker serving `declaration` as the pipeline `orders` into `alias`, in `capture` mode.
pub fn shop_worker(db: &TestDb, declaration: &str, alias: &str, capture: &str) -> Worker {
    let mut worker = Worker::with_pipelines(
        db,
        &format!("pipelines:\n  orders: {{file: {declaration}, alias: {alias}}}\n"),
    );
    worker.set("PG2ES__SYNC__BATCH_SIZE", "7");
    match capture {
        "triggers" => worker.capture_with_triggers(),
        _ => {
            worker.set("PG2ES__SYNC__CAPTURE", capture);
        }
    };
    worker
}

impl Shop {
    pub async fn assert_equal(&self, when: &str) {
        let expected = self.db.expected_by(self.expected).await;
        assert!(!expected.is_empty(), "{when}");
        assert_same_documents(&expected, &self.index.documents().await);
    }
}

/// A random write the polling mode can see: inserts and updates that move `changed_by`.
pub fn visible_write(rng: &mut StdRng) -> String {
    let order = rng.random_range(1..130);
    let customer = rng.random_range(1..45);
    let product = rng.random_range(1..31); // the 30 products: a line needs one that exists
    match rng.random_range(0..7) {
        6 => format!("UPDATE shop.orders SET status = NULL, updated_at = now() WHERE id = {order}"),
        0 => format!(
            "UPDATE shop.customer SET name = 'Renamed {customer}', modified = now() AT TIME ZONE 'UTC' WHERE id = {customer}"
        ),
        1 => format!(
            "UPDATE shop.product SET title = 'Retitled {product}', price = {product}.5,
                 version = nextval('shop.product_version') WHERE id = {product}"
        ),
        2 => format!("UPDATE shop.orders SET status = 'changed', updated_at = now() WHERE id = {order}"),
        3 => format!(
            "INSERT INTO shop.order_line (order_id, product_id, quantity)
             SELECT id, {product}, 9 FROM shop.orders WHERE id = {order}"
        ),
        4 => format!(
            "INSERT INTO shop.orders (customer_id, status) SELECT id, 'new' FROM shop.customer WHERE id = {customer}"
        ),
        _ => format!(
            "UPDATE shop.orders SET customer_id = {customer}, updated_at = now()
             WHERE id = {order} AND EXISTS (SELECT 1 FROM shop.customer WHERE id = {customer})"
        ),
    }
}

/// Writes only exact capture sees: deletes, and a line moved to another order.
pub fn exact_write(rng: &mut StdRng) -> String {
    let order = rng.random_range(1..130);
    let other = rng.random_range(1..130);
    match rng.random_range(0..3) {
        0 => format!("DELETE FROM shop.orders WHERE id = {order}"),
        1 => format!(
            "DELETE FROM shop.order_line WHERE id = (SELECT id FROM shop.order_line WHERE order_id = {order} ORDER BY id LIMIT 1)"
        ),
        _ => format!(
            "UPDATE shop.order_line SET order_id = {other}
             WHERE id = (SELECT id FROM shop.order_line WHERE order_id = {order} ORDER BY id LIMIT 1)
               AND EXISTS (SELECT 1 FROM shop.orders WHERE id = {other})"
        ),
    }
}

/// Rounds of random writes, each followed by a cycle or by a `pg2es run` killed (SIGKILL) at a
/// random point and then a cycle, as the movies randomized test does.
pub async fn random_rounds(shop: &Shop, rng: &mut StdRng, exact: bool) {
    for round in 0..ROUNDS {
        for _ in 0..rng.random_range(1..10) {
            let sql = match exact && rng.random_bool(0.4) {
                true => exact_write(rng),
                false => visible_write(rng),
            };
            shop.db.execute(&sql).await;
        }
        if rng.random_bool(0.5) {
            kill_during_a_cycle(&shop.db, &shop.worker, "orders", exact, rng).await;
        }
        shop.worker.sync_once();
        shop.assert_equal(&format!("round {round}")).await;
    }
}

#[tokio::test]
async fn an_orders_index_declared_in_yaml_follows_random_writes_by_polling() {
    let seed = seed();
    eprintln!("shop polling: seed {seed} (replay: PG2ES_TEST_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let shop = shop("shop_polling", "polling").await;
    let (indexed, _, _, _) = shop.worker.sync_once();
    assert_eq!(indexed, 120);
    shop.assert_equal("after the back-fill").await;
    random_rounds(&shop, &mut rng, false).await;
}

#[tokio::test]
async fn an_orders_index_declared_in_yaml_follows_deletes_and_moves_in_triggers_mode() {
    let seed = seed();
    eprintln!("shop triggers: seed {seed} (replay: PG2ES_TEST_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let shop = shop("shop_triggers", "triggers").await;
    shop.worker.sync_once();
    shop.assert_equal("after the back-fill").await;
    random_rounds(&shop, &mut rng, true).await;

    // verify finds a document changed behind pg2es's back, and --repair puts it right.
    let ids: Vec<String> = shop.index.documents().await.into_keys().take(2).collect();
    shop.index
        .put(&ids[0], &serde_json::json!({"id": 0, "status": "forged"}))
        .await;
    shop.index.remove(&ids[1]).await;
    shop.index.refresh().await;
    let output = shop.worker.output(&["verify"]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("1 missing, 1 stale"), "{text}");
    let output = shop.worker.output(&["verify", "--repair"]);
    assert!(output.status.success());
    shop.index.refresh().await;
    shop.assert_equal("after verify --repair").await;
}

//! `pg2es init` on the project's second schemas, its draft run unedited: on the shop
//! (`tests/shop/`) the drafted declaration passes `check`, back-fills, and follows rounds of
//! seeded random writes with a `pg2es run` killed (SIGKILL) midway, each round compared with
//! documents built by hand in SQL for the drafted shape (`tests/init/shop_expected.sql`).
//! Replay a failure with the seed it prints: `PG2ES_TEST_SEED=<seed> cargo test --test main init_schemas`.

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::randomized::seeds;
use crate::shop::{random_rounds, shop_schema, shop_worker, Shop};
use crate::support::Worker;

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

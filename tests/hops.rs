//! A second hop: a `one:` object inside a list's objects (each stock row's store, each tag's
//! group through a link table). In every capture mode, a change to the far table (a store
//! renamed, a group relabelled, deleted) or to the row that refs it (a stock row moved to
//! another store) reaches the documents; after each step the index must equal documents built
//! independently in SQL (`tests/hops/expected.sql`).

use crate::support::fixture::{Fixture, Parts};

async fn items(test: &str, capture: &'static str) -> Fixture {
    let parts = Parts {
        schema: "tests/hops/schema.sql",
        pipeline: "items",
        declaration: "tests/hops/items.yaml",
        expected: include_str!("hops/expected.sql"),
        batch_size: 7,
    };
    Fixture::new(test, capture, parts).await
}

/// The steps, each compared with Postgres.
async fn second_hop_changes(items: &Fixture) {
    items.step("the back-fill", "").await;
    items
        .step(
            "a store renamed",
            "UPDATE hop.store SET name = 'renamed', updated_at = now() WHERE id = 2",
        )
        .await;
    items
        .step(
            "a tag group relabelled",
            "UPDATE hop.tag_group SET label = 'hue', updated_at = now() WHERE id = 1",
        )
        .await;
    items
        .step(
            "a stock row moved to another store",
            "UPDATE hop.stock SET store_id = 3, updated_at = now() WHERE id IN (5, 11)",
        )
        .await;
    items
        .step(
            "a tag moved to another group",
            "UPDATE hop.tag SET group_id = 2, updated_at = now() WHERE id IN (1, 4)",
        )
        .await;
    items
        .step(
            "a new store with stock in it",
            "INSERT INTO hop.store (id, name, city) VALUES (6, 'new store', 'Nantes');
             INSERT INTO hop.stock (id, item_id, store_id, quantity) VALUES (91, 'item 7', 6, 3)",
        )
        .await;
    if items.capture != "polling" {
        // The foreign key's SET NULL leaves updated_at: polling cannot see it (documented).
        items
            .step(
                "a store deleted (its stock rows' store set to NULL)",
                "DELETE FROM hop.store WHERE id = 4",
            )
            .await;
    }
}

#[tokio::test]
async fn a_second_hop_follows_changes_of_the_far_table_in_triggers_mode() {
    second_hop_changes(&items("hops_triggers", "triggers").await).await;
}

#[tokio::test]
async fn a_second_hop_follows_changes_of_the_far_table_in_logical_mode() {
    if crate::support::no_logical_capture(
        "a_second_hop_follows_changes_of_the_far_table_in_logical_mode",
    ) {
        return;
    }
    second_hop_changes(&items("hops_logical", "logical").await).await;
}

#[tokio::test]
async fn a_second_hop_follows_changes_of_the_far_table_in_polling_mode() {
    second_hop_changes(&items("hops_polling", "polling").await).await;
}

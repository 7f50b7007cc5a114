//! A second hop: a `one:` object inside a list's objects (each stock row's store, each tag's
//! group through a link table). In every capture mode, a change to the far table (a store
//! renamed, a group relabelled, deleted) or to the row that refs it (a stock row moved to
//! another store) reaches the documents; after each step the index must equal documents built
//! independently in SQL (`tests/hops/expected.sql`).

use crate::support::{assert_same_documents, unique_name, SearchIndex, TestDb, Worker, REPO};

struct Items {
    db: TestDb,
    index: SearchIndex,
    worker: Worker,
    capture: &'static str,
}

async fn items(test: &str, capture: &'static str) -> Items {
    let name = unique_name(test);
    let db = TestDb::empty(&name).await;
    db.psql_file(
        &std::path::Path::new(REPO).join("tests/hops/schema.sql"),
        &[],
    );
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::with_pipelines(
        &db,
        &format!("pipelines:\n  items: {{file: {REPO}/tests/hops/items.yaml, alias: {name}}}\n"),
    );
    worker.set("PG2ES__SYNC__BATCH_SIZE", "7");
    match capture {
        "triggers" => worker.capture_with_triggers(),
        "logical" => worker.capture_logical(),
        _ => {
            worker.set("PG2ES__SYNC__CAPTURE", capture);
        }
    };
    Items {
        db,
        index,
        worker,
        capture,
    }
}

impl Items {
    /// Runs `sql`, one cycle, and compares the index with Postgres.
    async fn step(&self, what: &str, sql: &str) {
        if !sql.is_empty() {
            self.db.execute(sql).await;
        }
        self.worker.sync_once();
        self.index.refresh().await;
        let expected = self.db.expected_by(include_str!("hops/expected.sql")).await;
        let actual = self.index.documents().await;
        assert_eq!(
            expected.len(),
            actual.len(),
            "{} mode, after {what}: document count",
            self.capture
        );
        assert_same_documents(&expected, &actual);
    }

    async fn second_hop_changes(&self) {
        self.step("the back-fill", "").await;
        self.step(
            "a store renamed",
            "UPDATE hop.store SET name = 'renamed', updated_at = now() WHERE id = 2",
        )
        .await;
        self.step(
            "a tag group relabelled",
            "UPDATE hop.tag_group SET label = 'hue', updated_at = now() WHERE id = 1",
        )
        .await;
        self.step(
            "a stock row moved to another store",
            "UPDATE hop.stock SET store_id = 3, updated_at = now() WHERE id IN (5, 11)",
        )
        .await;
        self.step(
            "a tag moved to another group",
            "UPDATE hop.tag SET group_id = 2, updated_at = now() WHERE id IN (1, 4)",
        )
        .await;
        self.step(
            "a new store with stock in it",
            "INSERT INTO hop.store (id, name, city) VALUES (6, 'new store', 'Nantes');
             INSERT INTO hop.stock (id, item_id, store_id, quantity) VALUES (91, 'item 7', 6, 3)",
        )
        .await;
        if self.capture != "polling" {
            // The foreign key's SET NULL leaves updated_at: polling cannot see it (documented).
            self.step(
                "a store deleted (its stock rows' store set to NULL)",
                "DELETE FROM hop.store WHERE id = 4",
            )
            .await;
        }
    }
}

#[tokio::test]
async fn a_second_hop_follows_changes_of_the_far_table_in_triggers_mode() {
    items("hops_triggers", "triggers")
        .await
        .second_hop_changes()
        .await;
}

#[tokio::test]
async fn a_second_hop_follows_changes_of_the_far_table_in_logical_mode() {
    if crate::support::no_logical_capture(
        "a_second_hop_follows_changes_of_the_far_table_in_logical_mode",
    ) {
        return;
    }
    items("hops_logical", "logical")
        .await
        .second_hop_changes()
        .await;
}

#[tokio::test]
async fn a_second_hop_follows_changes_of_the_far_table_in_polling_mode() {
    items("hops_polling", "polling")
        .await
        .second_hop_changes()
        .await;
}

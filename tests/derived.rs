//! A declaration without `index.config`: pg2es derives a strict mapping from the fields and the
//! column types, back-fills into it, and a changed column type rebuilds behind the alias.

use serde_json::{json, Value};

use crate::support::{assert_same_documents, unique_name, SearchIndex, TestDb, Worker, REPO};

/// The shop's orders declaration (`tests/shop/orders.yaml`) without its `index.config`.
fn orders_without_config(dir: &std::path::Path) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(format!("{REPO}/tests/shop/orders.yaml")).unwrap();
    let without = shipped.replace("  config: orders_index.json\n", "");
    assert_ne!(shipped, without);
    let path = dir.join("orders.yaml");
    std::fs::write(&path, without).unwrap();
    path
}

/// The derived mapping of the shop's columns, written by hand from the README's table.
fn expected_properties(quantity: &str) -> Value {
    let text = json!({"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}});
    let long = json!({"type": "long"});
    json!({
        "id": long,
        "status": text,
        "placed_at": {"type": "date", "format": "strict_date_optional_time"},
        "customer": {"properties": {"id": long, "name": text}},
        "lines": {"type": "nested", "properties": {
            "id": long, "product_id": long, "quantity": {"type": quantity}}},
        "products": {"type": "nested", "properties": {
            "id": long, "title": text, "price": {"type": "double"}}},
        "product_titles": text,
    })
}

async fn assert_mapping(index: &SearchIndex, quantity: &str) {
    let mappings = index.mappings().await;
    assert_eq!(mappings["dynamic"], "strict");
    assert_eq!(mappings["properties"], expected_properties(quantity));
}

#[tokio::test]
async fn a_declaration_without_index_config_back_fills_into_a_derived_strict_mapping_and_a_column_type_change_rebuilds_it(
) {
    let name = unique_name("derived_config");
    let db = TestDb::empty(&name).await;
    db.psql_file(
        &std::path::Path::new(REPO).join("tests/shop/schema.sql"),
        &[],
    );
    let index = SearchIndex::new(&name).await;
    let dir = tempfile::tempdir().unwrap();
    let file = orders_without_config(dir.path());
    let worker = Worker::with_pipelines(
        &db,
        &format!(
            "pipelines:\n  orders: {{file: {}, alias: {name}}}\n",
            file.display()
        ),
    );
    let check = worker.output(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains("derived from the declaration and the column types"),
        "{said}"
    );
    assert!(said.contains("\"dynamic\": \"strict\""), "{said}");

    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed, 120, "{log}");
    let expected = db.expected_by(include_str!("shop/expected.sql")).await;
    assert_same_documents(&expected, &index.documents().await);
    assert_mapping(&index, "integer").await;
    let first = index.alias_target().await;

    // Nothing changed: the same index.
    worker.sync_once();
    assert_eq!(index.alias_target().await, first);

    // A declared column's type changes: the derived config changes, rebuilt behind the alias.
    db.execute("ALTER TABLE shop.order_line ALTER COLUMN quantity TYPE bigint")
        .await;
    let (_, _, _, log) = worker.sync_once();
    assert_ne!(index.alias_target().await, first, "{log}");
    assert_mapping(&index, "long").await;
    let expected = db.expected_by(include_str!("shop/expected.sql")).await;
    assert_same_documents(&expected, &index.documents().await);
}

//! [`render`] on a literal draft: the text a shop's draft writes.

use std::path::Path;

use super::*;
use crate::declaration::schema::ColumnType;
use crate::declaration::Declaration;

fn table(relation: &str, columns: &[(&str, &str)]) -> TableInfo {
    let column = |(name, type_name): &(&str, &str)| {
        let ty = ColumnType {
            type_name: (*type_name).into(),
            type_kind: "b".into(),
            sql_type: (*type_name).into(),
            not_null: false,
        };
        ((*name).to_owned(), ty)
    };
    TableInfo {
        relation: relation.into(),
        key: vec!["id".into()],
        key_type: Some("bigint"),
        columns: columns.iter().map(column).collect(),
    }
}

fn shop() -> Draft {
    let orders = table(
        "shop.orders",
        &[("id", "int8"), ("customer_id", "int8"), ("status", "text")],
    );
    let customer = table(
        "shop.customer",
        &[("id", "int8"), ("name", "text"), ("modified", "timestamp")],
    );
    let line = table(
        "shop.order_line",
        &[
            ("id", "int8"),
            ("order_id", "int8"),
            ("product_id", "int8"),
            ("quantity", "int4"),
        ],
    );
    let product = table("shop.product", &[("id", "int8"), ("version", "int8")]);
    Draft {
        root: orders,
        relations: vec![
            Relation::Parent {
                columns: vec!["customer_id".into()],
                table: customer,
            },
            Relation::Through {
                link: line,
                root_columns: vec!["order_id".into()],
                table: product,
                list_columns: vec!["product_id".into()],
                hops: vec![],
            },
        ],
        skipped: vec!["shop.orders.parent_id → shop.orders.id: refers to its own table".into()],
    }
}

#[test]
fn a_draft_is_a_declaration_with_a_comment_for_each_choice() {
    let (text, indexes) = render(&shop(), "orders", "pg2es init --root shop.orders");
    let declaration = Declaration::parse("orders", Path::new("orders.yaml"), &text)
        .unwrap_or_else(|err| panic!("{err}\n{text}"));
    assert_eq!(declaration.index_config, None);
    let model = &declaration.model;
    assert_eq!(model.fields.len(), 5, "{text}");
    assert!(
        text.contains(
            "shop.orders: {key: id, key_type: bigint, refs: {customer_id: shop.customer}}"
        ),
        "{text}"
    );
    assert!(
        text.contains("no updated_at-like column: polling needs one"),
        "{text}"
    );
    assert!(
        text.contains("shop.customer: {key: id, changed_by: modified, zone: UTC}"),
        "{text}"
    );
    assert!(text.contains("customer: {list: shop.customer, one: true, fields: {id: id, name: name, modified: modified}}"), "{text}");
    assert!(text.contains("through: shop.order_line"), "{text}");
    assert!(text.contains("link_quantity: {link: quantity}"), "{text}");
    // Two links to one product are told apart by the link's own key, which the sort ends with.
    assert!(text.contains("link_id: {link: id}"), "{text}");
    assert!(text.contains("sort: [id, link_id]"), "{text}");
    assert!(text.contains("#   shop.orders.parent_id"), "{text}");
    assert!(indexes
        .contains(&"CREATE INDEX ON shop.product (version, id);  -- polling's cursor".to_owned()));
    assert!(indexes
        .iter()
        .any(|i| i.starts_with("CREATE INDEX ON shop.orders (customer_id);")));
}

#[test]
fn names_that_are_not_words_are_quoted() {
    assert_eq!(y("updated_at"), "updated_at");
    assert_eq!(y("Order Date"), "\"Order Date\"");
    assert_eq!(y("on"), "\"on\"");
    let mut used = BTreeSet::from(["genre".to_owned()]);
    assert_eq!(unique(&mut used, "genre"), "genre_list");
}

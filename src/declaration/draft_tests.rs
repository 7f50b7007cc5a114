//! [`plan`] fed literal catalogue rows: what `--include`, `--exclude` and `--depth` follow.

use super::*;
use crate::declaration::draft_catalogue::TableRows;
use crate::declaration::schema::ColumnType;

fn rows(columns: &[(&str, &str)]) -> TableRows {
    TableRows {
        found: true,
        key: vec!["id".into()],
        columns: columns
            .iter()
            .map(|(name, ty)| ((*name).to_owned(), ColumnType::not_null(ty, ty)))
            .collect(),
    }
}

fn fk(from: &str, from_column: &str, to: &str) -> ForeignKey {
    ForeignKey {
        from: from.into(),
        from_columns: vec![from_column.into()],
        to: to.into(),
        to_columns: vec!["id".into()],
    }
}

/// A shop: orders ref a customer (who refs a region); order lines link orders and products
/// (each product refs a maker); shipments ref an order and a carrier, and have columns of
/// their own.
fn shop() -> Catalogue {
    let tables = [
        (
            "shop.orders",
            rows(&[("id", "int8"), ("customer_id", "int8")]),
        ),
        (
            "shop.customer",
            rows(&[("id", "int8"), ("region_id", "int4")]),
        ),
        ("shop.region", rows(&[("id", "int4")])),
        (
            "shop.order_line",
            rows(&[("id", "int8"), ("order_id", "int8"), ("product_id", "int8")]),
        ),
        (
            "shop.product",
            rows(&[("id", "int8"), ("maker_id", "int4")]),
        ),
        ("shop.maker", rows(&[("id", "int4"), ("name", "text")])),
        (
            "shop.shipment",
            rows(&[
                ("id", "int8"),
                ("order_id", "int8"),
                ("carrier_id", "int4"),
                ("sent", "timestamptz"),
                ("weight", "int4"),
                ("note", "text"),
            ]),
        ),
        ("ship.carrier", rows(&[("id", "int4")])),
    ];
    let foreign_keys = [
        fk("shop.orders", "customer_id", "shop.customer"),
        fk("shop.customer", "region_id", "shop.region"),
        fk("shop.order_line", "order_id", "shop.orders"),
        fk("shop.order_line", "product_id", "shop.product"),
        fk("shop.product", "maker_id", "shop.maker"),
        fk("shop.shipment", "order_id", "shop.orders"),
        fk("shop.shipment", "carrier_id", "ship.carrier"),
    ];
    Catalogue {
        names: tables.iter().map(|(name, _)| (*name).to_owned()).collect(),
        tables: tables
            .into_iter()
            .map(|(name, rows)| (name.to_owned(), rows))
            .collect(),
        foreign_keys: foreign_keys.into_iter().collect(),
    }
}

fn follow(depth: u32, include: &[&str], exclude: &[&str]) -> Follow {
    let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
    Follow {
        depth,
        include: owned(include),
        exclude: owned(exclude),
    }
}

/// Each relation as `kind table [hop tables]`.
fn followed(draft: &Draft) -> Vec<String> {
    let hops = |hops: &[Hop]| -> String {
        hops.iter()
            .map(|hop| format!(" {}>{}", hop.columns.join(","), hop.table.relation))
            .collect()
    };
    draft
        .relations
        .iter()
        .map(|relation| match relation {
            Relation::Parent { table, .. } => format!("one {}", table.relation),
            Relation::Child { table, hops: h, .. } => {
                format!("list {}{}", table.relation, hops(h))
            }
            Relation::Through {
                table,
                link,
                hops: h,
                ..
            } => {
                format!(
                    "through {} via {}{}",
                    table.relation,
                    link.relation,
                    hops(h)
                )
            }
        })
        .collect()
}

fn plan_of(follow: Follow) -> Result<Draft, DraftError> {
    plan(&shop(), "shop.orders", &follow)
}

#[test]
fn depth_one_follows_every_table_one_foreign_key_away() {
    let draft = plan_of(follow(1, &[], &[])).unwrap();
    assert_eq!(
        followed(&draft),
        [
            "through shop.product via shop.order_line",
            "one shop.customer",
            "list shop.shipment"
        ]
    );
    assert!(draft.skipped.is_empty(), "{:?}", draft.skipped);
}

#[test]
fn an_excluded_table_is_not_drafted_nor_a_through_list_via_it() {
    let draft = plan_of(follow(1, &[], &["shop.customer", "shop.order_line"])).unwrap();
    assert_eq!(followed(&draft), ["list shop.shipment"]);
    assert!(draft.skipped.iter().any(|why| why
        == "shop.orders.customer_id → shop.customer.id: shop.customer left out by --exclude"));
    assert!(draft
        .skipped
        .iter()
        .any(|why| why.ends_with("shop.order_line left out by --exclude")));

    // Excluding the other side of a link table leaves the through list out too.
    let draft = plan_of(follow(1, &[], &["shop.product"])).unwrap();
    assert_eq!(
        followed(&draft),
        ["one shop.customer", "list shop.shipment"]
    );
    assert!(draft.skipped.iter().any(|why| why
        .ends_with("shop.product left out by --exclude: no through list via shop.order_line")));
}

#[test]
fn include_limits_the_relations_to_its_tables_and_a_schema_star_names_a_schema() {
    let draft = plan_of(follow(1, &["shop.product"], &[])).unwrap();
    assert_eq!(
        followed(&draft),
        ["through shop.product via shop.order_line"]
    );
    assert_eq!(draft.skipped.len(), 2, "{:?}", draft.skipped);

    let draft = plan_of(follow(2, &["shop.*"], &[])).unwrap();
    assert_eq!(
        followed(&draft),
        [
            "through shop.product via shop.order_line maker_id>shop.maker",
            "one shop.customer",
            "list shop.shipment"
        ]
    );
    assert!(draft
        .skipped
        .iter()
        .any(|why| why
            == "shop.shipment.carrier_id → ship.carrier.id: ship.carrier not among --include"));
    // `shop.*` is not `sho.*` nor a prefix of `shopping.x`.
    assert!(matches("shop.*", "shop.orders"));
    assert!(!matches("sho.*", "shop.orders"));
    assert!(!matches("shop.*", "shopping.orders"));
}

#[test]
fn a_name_that_matches_no_table_is_refused_naming_it() {
    for (follow, says) in [
        (
            follow(1, &["shop.nothing"], &[]),
            "--include shop.nothing: no table matches it",
        ),
        (
            follow(1, &[], &["nowhere.*"]),
            "--exclude nowhere.*: no table matches it",
        ),
    ] {
        let err = plan_of(follow).unwrap_err().to_string();
        assert!(err.starts_with(says), "{err}");
    }
}

#[test]
fn depth_two_adds_a_one_object_in_each_list_item_and_no_deeper() {
    let draft = plan_of(follow(2, &[], &[])).unwrap();
    assert_eq!(
        followed(&draft),
        [
            "through shop.product via shop.order_line maker_id>shop.maker",
            "one shop.customer",
            "list shop.shipment carrier_id>ship.carrier"
        ]
    );
    // A parent's parent is no `one:` object a declaration can hold: said, not drafted.
    assert!(draft.skipped.iter().any(|why| why.starts_with(
        "shop.customer.region_id → shop.region.id: a `one:` object inside a `one:` object"
    )));
    let excluded = plan_of(follow(2, &[], &["shop.maker"])).unwrap();
    assert!(followed(&excluded)[0].ends_with("via shop.order_line"));

    for depth in [0, 3] {
        let err = plan_of(follow(depth, &[], &[])).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "--depth {depth}: a declaration nests at most two hops"
            )),
            "{err}"
        );
    }
}

#[test]
fn a_root_that_cannot_be_a_document_is_refused() {
    let mut catalogue = shop();
    catalogue.tables.get_mut("shop.orders").unwrap().key = vec![];
    let err = plan(&catalogue, "shop.orders", &follow(1, &[], &[])).unwrap_err();
    assert!(matches!(err, DraftError::NoKey(_)), "{err}");
    let err = plan(&catalogue, "shop.none", &follow(1, &[], &[])).unwrap_err();
    assert!(matches!(err, DraftError::Missing(_)), "{err}");
}

#[test]
fn a_depth_two_draft_declares_its_second_hops() {
    let draft = plan_of(follow(2, &[], &[])).unwrap();
    let (text, indexes) = render(&draft, "orders", "pg2es init --root shop.orders --depth 2");
    let path = std::path::Path::new("orders.yaml");
    let declaration = crate::declaration::Declaration::parse("orders", path, &text)
        .unwrap_or_else(|err| panic!("{err}\n{text}"));
    let hops: Vec<(String, String)> = declaration
        .model
        .fields
        .iter()
        .filter_map(|field| match field {
            crate::declaration::model::Field::List(list) => Some(list),
            _ => None,
        })
        .flat_map(|list| list.hops.iter())
        .map(|hop| (hop.name.clone(), hop.relation.clone()))
        .collect();
    assert_eq!(
        hops,
        [
            ("maker".to_owned(), "shop.maker".to_owned()),
            ("carrier".to_owned(), "ship.carrier".to_owned())
        ],
        "{text}"
    );
    assert!(
        text.contains("shop.product: {key: id, refs: {maker_id: shop.maker}}"),
        "{text}"
    );
    assert!(indexes.contains(
        &"CREATE INDEX ON shop.shipment (carrier_id);  -- the documents a changed ship.carrier touches"
            .to_owned()
    ));
}

//! [`plan`] and [`render`] on composite keys, fed literal catalogue rows: a root keyed by
//! `(operator, code)` and foreign keys of several columns in every relation kind.

use super::*;
use crate::declaration::draft_catalogue::TableRows;
use crate::declaration::model::Field;
use crate::declaration::schema::ColumnType;
use crate::declaration::Declaration;

fn rows(key: &[&str], columns: &[(&str, &str)]) -> TableRows {
    TableRows {
        found: true,
        key: key.iter().map(|k| (*k).to_owned()).collect(),
        columns: columns
            .iter()
            .map(|(name, ty)| ((*name).to_owned(), ColumnType::not_null(ty, ty)))
            .collect(),
    }
}

fn fk(from: &str, from_columns: &[&str], to: &str, to_columns: &[&str]) -> ForeignKey {
    let owned = |columns: &[&str]| columns.iter().map(|c| (*c).to_owned()).collect();
    ForeignKey {
        from: from.into(),
        from_columns: owned(from_columns),
        to: to.into(),
        to_columns: owned(to_columns),
    }
}

fn catalogue(tables: Vec<(&str, TableRows)>, foreign_keys: Vec<ForeignKey>) -> Catalogue {
    Catalogue {
        names: tables.iter().map(|(name, _)| (*name).to_owned()).collect(),
        tables: tables
            .into_iter()
            .map(|(name, rows)| (name.to_owned(), rows))
            .collect(),
        foreign_keys: foreign_keys.into_iter().collect(),
    }
}

/// tests/composite_root/schema.sql as catalogue rows: lines keyed by (operator, code) ref a
/// depot keyed by (region, num) (the constraint names the columns in the other order); calls,
/// keyed by the line's key and a seq, ref a station keyed by (city, name); shifts, keyed by the
/// line's key and a driver's, link lines and drivers.
fn route() -> Catalogue {
    let at = ("updated_at", "timestamptz");
    let tables = vec![
        (
            "route.depot",
            rows(
                &["region", "num"],
                &[("region", "text"), ("num", "int4"), ("name", "text"), at],
            ),
        ),
        (
            "route.line",
            rows(
                &["operator", "code"],
                &[
                    ("operator", "text"),
                    ("code", "text"),
                    ("name", "text"),
                    ("depot_region", "text"),
                    ("depot_num", "int4"),
                    at,
                ],
            ),
        ),
        (
            "route.station",
            rows(
                &["city", "name"],
                &[("city", "text"), ("name", "text"), ("zone", "int4"), at],
            ),
        ),
        (
            "route.call",
            rows(
                &["line_operator", "line_code", "seq"],
                &[
                    ("line_operator", "text"),
                    ("line_code", "text"),
                    ("seq", "int4"),
                    ("station_city", "text"),
                    ("station_name", "text"),
                    ("minutes", "int4"),
                    at,
                ],
            ),
        ),
        (
            "route.driver",
            rows(&["id"], &[("id", "int4"), ("name", "text"), at]),
        ),
        (
            "route.shift",
            rows(
                &["line_operator", "line_code", "driver_id"],
                &[
                    ("line_operator", "text"),
                    ("line_code", "text"),
                    ("driver_id", "int4"),
                    ("since", "date"),
                    at,
                ],
            ),
        ),
    ];
    let line = ["operator", "code"];
    let foreign_keys = vec![
        fk(
            "route.line",
            &["depot_num", "depot_region"],
            "route.depot",
            &["num", "region"],
        ),
        fk(
            "route.call",
            &["line_operator", "line_code"],
            "route.line",
            &line,
        ),
        fk(
            "route.call",
            &["station_city", "station_name"],
            "route.station",
            &["city", "name"],
        ),
        fk(
            "route.shift",
            &["line_operator", "line_code"],
            "route.line",
            &line,
        ),
        fk("route.shift", &["driver_id"], "route.driver", &["id"]),
    ];
    catalogue(tables, foreign_keys)
}

fn follow(depth: u32) -> Follow {
    Follow {
        depth,
        ..Follow::default()
    }
}

fn strings(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| (*c).to_owned()).collect()
}

#[test]
fn a_composite_root_follows_foreign_keys_of_several_columns_in_every_relation_kind() {
    let draft = plan(&route(), "route.line", &follow(2)).unwrap();
    assert_eq!(draft.root.key, strings(&["operator", "code"]));
    assert_eq!(draft.root.key_type, None);
    assert!(draft.skipped.is_empty(), "{:?}", draft.skipped);
    let [call, depot, shift] = draft.relations.as_slice() else {
        panic!("{:#?}", draft.relations);
    };
    // A list (the call's key has a part of its own, seq: rows of their own, not links), with
    // its station as a second hop by two columns.
    let Relation::Child {
        table,
        columns,
        hops,
    } = call
    else {
        panic!("{call:#?}")
    };
    assert_eq!(table.relation, "route.call");
    assert_eq!(columns, &strings(&["line_operator", "line_code"]));
    assert_eq!(hops[0].table.relation, "route.station");
    assert_eq!(hops[0].columns, strings(&["station_city", "station_name"]));
    // An object, its ref's columns in the depot's key order, not the constraint's.
    let Relation::Parent { columns, table } = depot else {
        panic!("{depot:#?}")
    };
    assert_eq!(table.relation, "route.depot");
    assert_eq!(columns, &strings(&["depot_region", "depot_num"]));
    // A through list: the link's key is its two foreign keys' columns.
    let Relation::Through {
        link,
        root_columns,
        table,
        list_columns,
        ..
    } = shift
    else {
        panic!("{shift:#?}")
    };
    assert_eq!(
        (link.relation.as_str(), table.relation.as_str()),
        ("route.shift", "route.driver")
    );
    assert_eq!(root_columns, &strings(&["line_operator", "line_code"]));
    assert_eq!(list_columns, &strings(&["driver_id"]));
}

#[test]
fn a_composite_draft_declares_composite_keys_refs_and_the_indexes_on_every_key_column() {
    let draft = plan(&route(), "route.line", &follow(2)).unwrap();
    let (text, indexes) = render(&draft, "lines", "pg2es init --root route.line --depth 2");
    let declaration = Declaration::parse("lines", std::path::Path::new("lines.yaml"), &text)
        .unwrap_or_else(|err| panic!("{err}\n{text}"));
    let lists: Vec<&str> = declaration
        .model
        .fields
        .iter()
        .filter_map(|field| match field {
            Field::List(list) => Some(list.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(lists, ["call", "depot", "driver"], "{text}");
    for line in [
        r#"route.line: {key: [operator, code], changed_by: updated_at, refs: {"depot_region, depot_num": route.depot}}"#,
        r#"route.call: {key: [line_operator, line_code, seq], changed_by: updated_at, refs: {"line_operator, line_code": route.line, "station_city, station_name": route.station}}"#,
        r#"route.shift: {key: [line_operator, line_code, driver_id], changed_by: updated_at, refs: {driver_id: route.driver, "line_operator, line_code": route.line}}"#,
        "route.driver: {key: id, changed_by: updated_at}",
        "    sort: [line_operator, line_code, seq]\n",
        "      station: {list: route.station, one: true, fields: {city: city, name: name, zone: zone, updated_at: updated_at}}\n",
        "      link_since: {link: since}\n",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(!text.contains("key_type"), "{text}");
    for index in [
        "CREATE INDEX ON route.line (updated_at, operator, code);  -- polling's cursor",
        "CREATE INDEX ON route.line (depot_region, depot_num);  -- the documents a changed route.depot touches",
        "CREATE INDEX ON route.call (line_operator, line_code);  -- the rows of a document",
        "CREATE INDEX ON route.call (station_city, station_name);  -- the documents a changed route.station touches",
        "CREATE INDEX ON route.shift (driver_id, line_operator, line_code);  -- the documents a changed route.driver touches",
        "CREATE INDEX ON route.station (updated_at, city, name);  -- polling's cursor",
    ] {
        assert!(indexes.contains(&index.to_owned()), "{index}\n{indexes:#?}");
    }
}

/// tests/atlas/schema.sql's guides: trip_guide, keyed by (trip_id, guide_id), has a role, a
/// position and the column polling follows: a link, so the guides are a through list.
#[test]
fn a_link_keyed_by_its_foreign_keys_with_a_role_and_a_position_is_a_through_list() {
    let at = ("updated_at", "timestamptz");
    let link = [
        ("trip_id", "text"),
        ("guide_id", "int4"),
        ("role", "text"),
        ("position", "int4"),
        at,
    ];
    let tables = vec![
        (
            "atlas.trip",
            rows(&["id"], &[("id", "text"), ("title", "text"), at]),
        ),
        (
            "atlas.guide",
            rows(&["id"], &[("id", "int4"), ("name", "text"), at]),
        ),
        ("atlas.trip_guide", rows(&["trip_id", "guide_id"], &link)),
    ];
    let foreign_keys = vec![
        fk("atlas.trip_guide", &["trip_id"], "atlas.trip", &["id"]),
        fk("atlas.trip_guide", &["guide_id"], "atlas.guide", &["id"]),
    ];
    let draft = plan(&catalogue(tables, foreign_keys), "atlas.trip", &follow(1)).unwrap();
    let [Relation::Through { link, table, .. }] = draft.relations.as_slice() else {
        panic!("{:#?}", draft.relations);
    };
    assert_eq!(
        (link.relation.as_str(), table.relation.as_str()),
        ("atlas.trip_guide", "atlas.guide")
    );
    let (text, _) = render(&draft, "trips", "pg2es init --root atlas.trip");
    for line in [
        "link_role: {link: role}",
        "link_position: {link: position}",
        "sort: [id]",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(
        !text.contains("link_trip_id") && !text.contains("link_guide_id"),
        "{text}"
    );
}

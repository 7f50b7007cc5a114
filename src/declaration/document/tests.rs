use std::path::Path;

use super::entries::list_entries;
use super::json::{Collected, Objects};
use super::nested::NestedOut;
use super::*;
use crate::declaration::cell::Cell;
use crate::declaration::Declaration;

fn text_columns(_table: usize, column: &str) -> ColumnType {
    let type_name = if column == "id" { "uuid" } else { "text" };
    ColumnType {
        type_name: type_name.into(),
        type_kind: "b".into(),
        sql_type: type_name.into(),
        not_null: true,
    }
}

#[test]
fn the_list_query_ranks_rows_in_the_declared_order_as_the_database_sorts() {
    let text = include_str!("../../../pipelines/movies.yaml").replacen(
        "    sort: [name, id]\n  director:",
        "    sort: [{field: name, collate: C}, {id: desc}]\n  director:",
        1,
    );
    let declaration = Declaration::parse("movies", Path::new("m.yaml"), &text).unwrap();
    let plan = plan(&declaration.model, text_columns);
    let people = plan
        .lists
        .iter()
        .find(|query| query.sql.contains("content.person_film_work"))
        .unwrap();
    let directors = r#"dense_rank() OVER (ORDER BY t.full_name COLLATE "C" ASC NULLS FIRST, t.id DESC NULLS LAST)"#;
    let others = "dense_rank() OVER (ORDER BY t.full_name ASC NULLS FIRST, t.id ASC NULLS FIRST)";
    assert!(people.sql.contains(directors), "{}", people.sql);
    // Actors and writers share one order, so one rank column.
    assert_eq!(people.sql.matches(others).count(), 1, "{}", people.sql);
}

#[test]
fn entries_and_collected_values_follow_the_ranks_not_the_bytes() {
    let row = |name, rank, role, role_rank| {
        let cells = vec![
            Cell::Null,
            Cell::Text(name),
            Cell::Int(rank),
            Cell::Text(role),
            Cell::Int(role_rank),
        ];
        ("film", cells)
    };
    // As ICU's en-US orders them: de la Cruz, émile, Zola; roles: writer before Actor.
    let rows = vec![
        row("Zola", 3, "writer", 1),
        row("de la Cruz", 1, "Actor", 2),
        row("émile", 2, "Actor", 2),
        row("de la Cruz", 1, "writer", 1),
        row("de la Cruz", 1, "writer", 1),
    ];
    let out = |name: &str, pos, rank| Out {
        name: name.into(),
        pos,
        null: None,
        rank,
        distinct: rank.is_some(),
    };
    let layout = Layout {
        fields: vec![out("name", 1, None)],
        collect: vec![out("roles", 3, Some(4))],
        ..Layout::default()
    };
    let entries = list_entries(&rows, None, &layout, Some(2));
    let names: Vec<String> = entries["film"]
        .iter()
        .map(|entry| serde_json::to_string(&entry.fields[0]).unwrap())
        .collect();
    assert_eq!(names, [r#""de la Cruz""#, r#""émile""#, r#""Zola""#]);
    let roles = serde_json::to_string(&Collected(&entries["film"][0].collected[0])).unwrap();
    assert_eq!(roles, r#"["writer","Actor"]"#);
}

const LINES: &str = include_str!("../../../tests/composite_root/lines.yaml");

#[test]
fn a_list_inside_a_list_is_one_query_from_the_outer_rows_keys_and_sits_in_its_declared_place() {
    let declaration = Declaration::parse("lines", Path::new("lines.yaml"), LINES).unwrap();
    let plan = plan(&declaration.model, text_columns);
    assert_eq!(plan.nested.len(), 2, "{:?}", plan.nested);
    let notices = &plan.nested[0].sql;
    assert!(
        notices.starts_with(
            "SELECT replace(replace(t.line_operator::text, '%', '%25'), '/', '%2F') || '/' || "
        ),
        "{notices}"
    );
    assert!(
        notices.contains(" FROM route.notice t WHERE (t.line_operator, t.line_code, t.call_seq) IN (SELECT o.line_operator, o.line_code, o.seq FROM route.call o WHERE (o.line_operator, o.line_code) IN "),
        "{notices}"
    );
    let licences = &plan.nested[1].sql;
    assert!(
        licences.contains(" FROM route.licence t WHERE (t.driver_id) IN (SELECT l.driver_id FROM route.shift l WHERE "),
        "{licences}"
    );
    // The outer rows read their own key, which the nested rows are matched on.
    let calls = plan
        .lists
        .iter()
        .find(|q| q.sql.contains("FROM route.call t"))
        .unwrap();
    let own_key = "replace(replace(t.line_operator::text, '%', '%25'), '/', '%2F') || '/' || replace(replace(t.line_code::text, '%', '%25'), '/', '%2F') || '/' || replace(replace(t.seq::text, '%', '%25'), '/', '%2F')";
    assert!(calls.sql.contains(own_key), "{}", calls.sql);
}

#[test]
fn nested_entries_are_written_under_the_outer_entry_whose_key_they_hold() {
    let out = |name: &str, pos| Out {
        name: name.into(),
        pos,
        null: None,
        rank: None,
        distinct: false,
    };
    // Outer rows of root "r": name at 1, own key at 2.
    let outer = vec![
        ("r", vec![Cell::Null, Cell::Text("a"), Cell::Text("k1")]),
        ("r", vec![Cell::Null, Cell::Text("b"), Cell::Text("k2")]),
    ];
    // Nested rows keyed by the outer key: text at 1, rank at 2.
    let inner = vec![
        ("k2", vec![Cell::Null, Cell::Text("y"), Cell::Int(2)]),
        ("k2", vec![Cell::Null, Cell::Text("x"), Cell::Int(1)]),
        ("k9", vec![Cell::Null, Cell::Text("lost"), Cell::Int(1)]),
    ];
    let nested_layout = Layout {
        fields: vec![out("text", 1)],
        ..Layout::default()
    };
    let layout = Layout {
        fields: vec![out("name", 1)],
        key: Some(2),
        nested: vec![NestedOut {
            name: "notes".into(),
            position: 0,
            order: 0,
            query: 0,
            layout: nested_layout,
            rank: Some(2),
        }],
        ..Layout::default()
    };
    let entries = list_entries(&outer, None, &layout, None);
    let nested = vec![list_entries(
        &inner,
        None,
        &layout.nested[0].layout,
        Some(2),
    )];
    let json = serde_json::to_string(&Objects {
        entries: &entries["r"],
        layout: &layout,
        nested: &nested,
    })
    .unwrap();
    assert_eq!(
        json,
        r#"[{"notes":[],"name":"a"},{"notes":[{"text":"x"},{"text":"y"}],"name":"b"}]"#
    );
}

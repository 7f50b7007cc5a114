use std::path::Path;

use super::entries::list_entries;
use super::json::Collected;
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
        hops: Vec::new(),
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

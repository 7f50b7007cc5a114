//! The SQL of each list query: from the root keys in `$1` to the list's rows, through its join.

use super::{filter, ColumnType, Columns, Query};
use crate::declaration::model::{Field, Join, Model, Nested};
use crate::extract::composite;

/// The alias of the table a list's `where` reads in its query: the link table, or the list's.
pub(super) fn filter_alias(join: &Join) -> &'static str {
    match join {
        Join::Through { .. } => "l",
        _ => "t",
    }
}

/// `AND (…)` keeping only rows some list of the group wants, when every list filters.
pub(super) fn group_filter(model: &Model, join: &Join) -> String {
    let mut alternatives = Vec::new();
    for field in &model.fields {
        let Field::List(list) = field else { continue };
        if list.join != *join {
            continue;
        }
        if list.filter.is_empty() {
            return String::new();
        }
        alternatives.push(filter::all(&list.filter, filter_alias(join)));
    }
    match alternatives.is_empty() {
        true => String::new(),
        false => format!(" AND ({})", alternatives.join(" OR ")),
    }
}

pub(super) fn list_query(
    model: &Model,
    join: &Join,
    columns: Columns,
    filter: String,
    column_type: &impl Fn(usize, &str) -> ColumnType,
) -> Query {
    let root = model.root_table();
    let exprs: String = columns.exprs.iter().map(|e| format!(", {e}")).collect();
    let joins = columns.joins.concat();
    let sql = match join {
        Join::Child { table, root_ref } => format!(
            "SELECT {}{exprs} FROM {} t{joins} WHERE {}{filter}",
            composite::text_of(root_ref, "t"),
            model.tables[*table].relation,
            keys_in(root_ref, &casts(*table, root_ref, column_type), "t"),
        ),
        Join::Through {
            link,
            root_ref,
            table,
            list_ref,
        } => {
            let list_table = &model.tables[*table];
            let read: Vec<String> = match columns.raw.is_empty() {
                true => list_table.key.iter().map(|c| format!("x.{c}")).collect(),
                false => columns.raw.iter().map(|c| format!("x.{c}")).collect(),
            };
            // One lookup per link row: without LIMIT 1 the planner may hash the whole list
            // table for every batch (bench/NOTES.md).
            format!(
                "SELECT {}{exprs} FROM {} l CROSS JOIN LATERAL (SELECT {} FROM {} x WHERE {} LIMIT 1) t{joins} WHERE {}{filter}",
                composite::text_of(root_ref, "l"),
                model.tables[*link].relation,
                read.join(", "),
                list_table.relation,
                composite::equal("x", &list_table.key, "l", list_ref),
                keys_in(root_ref, &casts(*link, root_ref, column_type), "l"),
            )
        }
        Join::Parent { table, root_column } => format!(
            "SELECT {}{exprs} FROM {} r JOIN {} t ON {}{joins} WHERE {}{filter}",
            composite::text_of(&root.key, "r"),
            root.relation,
            model.tables[*table].relation,
            composite::equal("t", &model.tables[*table].key, "r", root_column),
            keys_in(&root.key, &casts(model.root, &root.key, &column_type), "r"),
        ),
    };
    Query {
        sql,
        slots: columns.slots,
    }
}

/// The SQL type each of `columns` (a key, or refs holding one) of `table` is cast to.
pub(super) fn casts(
    table: usize,
    columns: &[String],
    column_type: &impl Fn(usize, &str) -> ColumnType,
) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            column_type(table, c)
                .key_type()
                .unwrap_or("text")
                .to_owned()
        })
        .collect()
}

/// Whether the row `alias`'s `columns` hold one of the root keys in `$1`.
pub(super) fn keys_in(columns: &[String], casts: &[String], alias: &str) -> String {
    composite::any_of(columns, casts, alias, "$1")
}

/// The rows of a list inside a list's objects, for the root keys in `$1`: those whose `via`
/// columns hold the key of an outer row of one of these roots; the first column is that key.
pub(super) fn nested_query(
    model: &Model,
    join: &Join,
    inner: &Nested,
    exprs: &[String],
    column_type: &impl Fn(usize, &str) -> ColumnType,
) -> String {
    let path = join.outer_path(model);
    let alias = match join {
        Join::Child { .. } => "o",
        Join::Through { .. } => "l",
        Join::Parent { .. } => "r",
    };
    let outer_keys = format!(
        "SELECT {} FROM {} {alias} WHERE {}",
        composite::columns_of(path.row_key, alias, ""),
        model.tables[path.holder].relation,
        keys_in(
            path.root_key,
            &casts(path.holder, path.root_key, column_type),
            alias
        ),
    );
    let exprs: String = exprs.iter().map(|e| format!(", {e}")).collect();
    format!(
        "SELECT {}{exprs} FROM {} t WHERE ({}) IN ({outer_keys})",
        composite::text_of(&inner.via, "t"),
        model.tables[inner.table].relation,
        composite::columns_of(&inner.via, "t", ""),
    )
}

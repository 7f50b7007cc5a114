//! Fan-out: how a change of a followed table reaches the root documents it touches, derived
//! from the declaration — paged SQL from its keys (polling), and for each column a trigger or
//! the stream records, whether it holds root keys or keys to map to them.

use std::collections::BTreeMap;

use super::model::{Field, Join, List, Model, Query};
use super::types::Types;
use crate::extract::composite;

/// How a recorded change of one column reaches root documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Touch {
    /// The value is a root key.
    Root,
    /// `($1 text[] values, $2 text last root key or NULL, $3 limit) -> id`, ordered.
    FanOut(String),
}

/// Keys of `table` → the root keys they touch, paged.
pub(super) fn polling_fan_out(types: &Types<'_>, table: usize) -> String {
    let model = types.model;
    let decl = types.table(table);
    let keys = |alias: &str| types.keys_in(table, &decl.key, alias);
    let mut parts = Vec::new();
    if let Some(query) = &model.query {
        parts.extend(touches_of(query, table));
    }
    for list in lists(model) {
        match &list.join {
            Join::Child {
                table: child,
                root_ref,
            } if *child == table => parts.push(format!(
                "SELECT {} AS id FROM {} c WHERE {}",
                composite::text_of(root_ref, "c"),
                decl.relation,
                keys("c")
            )),
            Join::Through { link, root_ref, .. } if *link == table => parts.push(format!(
                "SELECT {} AS id FROM {} l WHERE {}",
                composite::text_of(root_ref, "l"),
                decl.relation,
                keys("l")
            )),
            _ => {}
        }
        if let Some(part) = from_list_table(types, &list.join, table) {
            parts.push(part);
        }
        parts.extend(from_hop_table(types, list, table));
        parts.extend(from_nested_table(types, list, table));
    }
    paged(parts)
}

/// The root keys reached from keys of a table whose rows are a list inside a list's objects:
/// the outer rows they ref, then those rows' way to the root.
fn from_nested_table(types: &Types<'_>, list: &List, table: usize) -> Vec<String> {
    let mut parts = Vec::new();
    for inner in list.nested.iter().filter(|inner| inner.table == table) {
        let keys = types.keys_in(table, &types.table(table).key, "n");
        let (root_of, from, on) = outer_path(types, &list.join);
        parts.push(format!(
            "SELECT {root_of} AS id FROM {from} JOIN {} n ON {} WHERE {keys}",
            types.table(table).relation,
            composite::equal("n", &inner.via, "o", &on),
        ));
    }
    parts
}

/// How the key of a list's row (`o`) reaches the root: the root key's text, the `FROM` that
/// holds both, and the columns of `o` that hold the list row's key.
fn outer_path(types: &Types<'_>, join: &Join) -> (String, String, Vec<String>) {
    let path = join.outer_path(types.model);
    (
        composite::text_of(path.root_key, "o"),
        format!("{} o", types.table(path.holder).relation),
        path.row_key.to_vec(),
    )
}

/// The root keys reached from keys of a list's rows (what a nested list's rows hold).
fn from_outer_keys(types: &Types<'_>, join: &Join) -> String {
    let (root_of, from, on) = outer_path(types, join);
    let holder = join.outer_path(types.model).holder;
    format!(
        "SELECT {root_of} AS id FROM {from} WHERE {}",
        types.keys_in(holder, &on, "o")
    )
}

/// The root keys reached from keys of a table whose rows are `one:` objects inside a list's
/// objects: the list rows that ref them, then those rows' way to the root.
fn from_hop_table(types: &Types<'_>, list: &List, table: usize) -> Vec<String> {
    let model = types.model;
    let list_table = types.table(list.join.table());
    let mut parts = Vec::new();
    for hop in list.hops.iter().filter(|hop| hop.table == table) {
        let keys = types.keys_in(list.join.table(), &hop.via, "x");
        parts.push(match &list.join {
            Join::Child { root_ref, .. } => format!(
                "SELECT {} AS id FROM {} x WHERE {keys}",
                composite::text_of(root_ref, "x"),
                list_table.relation
            ),
            Join::Through {
                link,
                root_ref,
                list_ref,
                ..
            } => format!(
                "SELECT {} AS id FROM {} l JOIN {} x ON {} WHERE {keys}",
                composite::text_of(root_ref, "l"),
                types.table(*link).relation,
                list_table.relation,
                composite::equal("x", &list_table.key, "l", list_ref)
            ),
            Join::Parent { root_column, .. } => format!(
                "SELECT {} AS id FROM {} r JOIN {} x ON {} WHERE {keys}",
                composite::text_of(&model.root_table().key, "r"),
                model.root_table().relation,
                list_table.relation,
                composite::equal("x", &list_table.key, "r", root_column)
            ),
        });
    }
    parts
}

/// The root keys reached from keys of the list table itself (its rows are read by key).
fn from_list_table(types: &Types<'_>, join: &Join, table: usize) -> Option<String> {
    let model = types.model;
    match join {
        Join::Through {
            link,
            root_ref,
            table: list_table,
            list_ref,
        } if *list_table == table => Some(format!(
            "SELECT {} AS id FROM {} l WHERE {}",
            composite::text_of(root_ref, "l"),
            types.table(*link).relation,
            types.keys_in(*link, list_ref, "l")
        )),
        Join::Parent {
            table: parent,
            root_column,
        } if *parent == table => Some(format!(
            "SELECT {} AS id FROM {} r WHERE {}",
            composite::text_of(&model.root_table().key, "r"),
            model.root_table().relation,
            types.keys_in(model.root, root_column, "r")
        )),
        _ => None,
    }
}

/// How each column a trigger records reaches the root.
pub(super) fn recorded(types: &Types<'_>) -> BTreeMap<(String, String), Touch> {
    let model = types.model;
    let mut recorded = BTreeMap::new();
    let root = model.root_table();
    recorded.insert(
        (root.relation.clone(), composite::recorded(&root.key)),
        Touch::Root,
    );
    let mut fan_outs: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    if let Some(query) = &model.query {
        for (index, table) in model.tables.iter().enumerate() {
            // A row of a table that holds root keys touches them, deleted rows included.
            if let Some(to_root) = table.refs.iter().find(|r| r.target == model.root) {
                let column = composite::recorded(&to_root.columns);
                recorded.insert((table.relation.clone(), column), Touch::Root);
            }
            let parts = touches_of(query, index);
            if !parts.is_empty() {
                // A table with touches has one key column (composite.rs).
                fan_outs.insert(
                    (table.relation.clone(), table.single_key().to_owned()),
                    parts,
                );
            }
        }
    }
    for list in lists(model) {
        match &list.join {
            Join::Child { table, root_ref } => {
                let relation = types.table(*table).relation.clone();
                recorded.insert((relation, composite::recorded(root_ref)), Touch::Root);
            }
            Join::Through { link, root_ref, .. } => {
                let relation = types.table(*link).relation.clone();
                recorded.insert((relation, composite::recorded(root_ref)), Touch::Root);
            }
            Join::Parent { .. } => {}
        }
        let table = list.join.table();
        if let Some(part) = from_list_table(types, &list.join, table) {
            let decl = types.table(table);
            fan_outs
                .entry((decl.relation.clone(), composite::recorded(&decl.key)))
                .or_default()
                .push(part);
        }
        for inner in &list.nested {
            let decl = types.table(inner.table);
            fan_outs
                .entry((decl.relation.clone(), composite::recorded(&inner.via)))
                .or_default()
                .push(from_outer_keys(types, &list.join));
        }
        for hop in &list.hops {
            let decl = types.table(hop.table);
            fan_outs
                .entry((decl.relation.clone(), composite::recorded(&decl.key)))
                .or_default()
                .extend(from_hop_table(types, list, hop.table));
        }
    }
    for (column, parts) in fan_outs {
        recorded
            .entry(column)
            .or_insert_with(|| Touch::FanOut(paged(parts)));
    }
    recorded
}

/// The declaration's own SQL from keys of `table` to root keys, as a part of [`paged`].
fn touches_of(query: &Query, table: usize) -> Vec<String> {
    query
        .touches
        .iter()
        .filter(|(touched, _)| *touched == table)
        .map(|(_, sql)| {
            format!(
                "SELECT t.id::text AS id FROM ({}) AS t(id)",
                sql.trim().trim_end_matches(';')
            )
        })
        .collect()
}

fn lists(model: &Model) -> impl Iterator<Item = &List> {
    model.fields.iter().filter_map(|field| match field {
        Field::List(list) => Some(list),
        _ => None,
    })
}

/// The union of `parts` (each `SELECT … AS id`), distinct, one page after `$2` in text order.
fn paged(mut parts: Vec<String>) -> String {
    parts.sort();
    parts.dedup();
    if parts.is_empty() {
        parts.push("SELECT NULL::text AS id WHERE false".to_owned());
    }
    format!(
        "SELECT DISTINCT id COLLATE \"C\" AS id FROM ({}) touched\nWHERE id IS NOT NULL AND ($2::text IS NULL OR id COLLATE \"C\" > $2::text)\nORDER BY 1\nLIMIT $3",
        parts.join("\n  UNION ALL ")
    )
}

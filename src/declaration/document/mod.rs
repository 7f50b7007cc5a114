//! Rows → documents for a declared pipeline: one query for the root rows and one per group of
//! lists sharing a join (movies: films, people, genres — never a people × genres product),
//! then each document written straight to JSON in the declared field order, strings borrowed
//! from the rows.

use std::collections::BTreeMap;

use serde_json::Value;

use super::filter;
use super::model::{Column, Field, Hop, Join, List, Model};
use super::schema::{ColumnType, Kind};
use crate::extract::composite;

mod entries;
mod entry;
mod json;
mod nested;
mod queries;
#[cfg(test)]
mod tests;

use nested::{with_nested, NestedOut};
use queries::{casts, filter_alias, group_filter, keys_in, list_query};

/// A little over a typical document's JSON, so that most bodies need one allocation.
const BODY_CAPACITY: usize = 2048;

/// A column read by a query, at a position of its rows.
#[derive(Debug, Clone)]
struct Slot {
    /// `relation.column`, for decoding errors.
    name: String,
    kind: Kind,
}

#[derive(Debug)]
struct Query {
    sql: String,
    /// Columns after the first (the root key as text).
    slots: Vec<Slot>,
}

/// A value of the document: the column at `pos`, or `null` when NULL.
#[derive(Debug, Clone)]
struct Out {
    name: String,
    pos: usize,
    null: Option<Value>,
    /// For a collected column: the position of its rank in the database's order.
    rank: Option<usize>,
    /// For a collected column: each value once.
    distinct: bool,
}

/// What each object of a list holds: its fields, collected arrays, `one:` objects and lists.
#[derive(Debug, Default)]
struct Layout {
    fields: Vec<Out>,
    collect: Vec<Out>,
    hops: Vec<HopOut>,
    nested: Vec<NestedOut>,
    /// The position of the row's own key as text, which its nested lists' rows hold.
    key: Option<usize>,
}

/// A `one:` object inside a list's objects, from a LEFT JOIN of the list query.
#[derive(Debug)]
struct HopOut {
    name: String,
    /// How many fields come before it in the object.
    position: usize,
    /// Its place among the object's `one:` objects and lists.
    order: usize,
    /// The position of `true` when the joined row exists.
    present: usize,
    fields: Vec<Out>,
}

#[derive(Debug)]
enum Shape {
    Column(Out),
    List {
        name: String,
        query: usize,
        one: bool,
        /// The position of the list's `where`, true for the rows it keeps (`None`: all).
        filter: Option<usize>,
        layout: Layout,
        /// The position of the entries' rank in the declared order (`None`: unsorted).
        rank: Option<usize>,
    },
    Names {
        name: String,
        list: usize,
        field: usize,
    },
}

/// The compiled document queries and shape.
#[derive(Debug)]
pub(crate) struct Plan {
    root: Query,
    lists: Vec<Query>,
    /// One query per list inside a list's objects ([`NestedOut::query`]).
    nested: Vec<Query>,
    shape: Vec<Shape>,
}

/// The SQL expression that reads a column as its [`Kind`] is decoded (README, "What a
/// document holds": the table of types).
fn select(expr: &str, column: &ColumnType) -> String {
    match (column.kind(), column.type_name.as_str()) {
        (Kind::Text, "bytea") => format!("translate(encode({expr}, 'base64'), E'\\n', '')"),
        (Kind::Text, _) if column.type_kind == "e" => format!("{expr}::text"),
        (Kind::Int, _) => format!("{expr}::int8"),
        (Kind::Numeric, "money") => format!("{expr}::numeric::text"),
        (Kind::Numeric, _) => format!("{expr}::text"),
        (Kind::Numbers, "_money") => format!("to_jsonb({expr}::numeric[])::text"),
        // Infinite dates and timestamps have no JSON form (nor a `chrono` one): NULL.
        (Kind::Date | Kind::Timestamp | Kind::Timestamptz, _) => {
            format!("CASE WHEN isfinite({expr}) THEN {expr} END")
        }
        (Kind::Json | Kind::Numbers, _) => format!("to_jsonb({expr})::text"),
        _ => expr.to_owned(),
    }
}

/// Columns of one query, deduplicated, in first-use order.
#[derive(Default)]
struct Columns {
    exprs: Vec<String>,
    slots: Vec<Slot>,
    /// The list table's columns the expressions read (a link join looks up only these).
    raw: Vec<String>,
    /// `LEFT JOIN`s of `one:` objects inside the list's objects, aliased `h0`, `h1`, …
    joins: Vec<String>,
}

impl Columns {
    fn add(&mut self, expr: String, slot: Slot) -> usize {
        if let Some(pos) = self.exprs.iter().position(|known| *known == expr) {
            return pos + 1;
        }
        self.exprs.push(expr);
        self.slots.push(slot);
        self.exprs.len()
    }

    /// The alias of `relation` joined on its `key` = the list row's `via`, joined once per
    /// query.
    fn join(&mut self, relation: &str, key: &[String], via: &[String]) -> String {
        let alias = |index: usize| format!("h{index}");
        let wanted = |index: usize| {
            let alias = alias(index);
            let on = composite::equal(&alias, key, "t", via);
            format!(" LEFT JOIN {relation} {alias} ON {on}")
        };
        let index = (0..self.joins.len())
            .find(|index| self.joins[*index] == wanted(*index))
            .unwrap_or_else(|| {
                self.joins.push(wanted(self.joins.len()));
                self.joins.len() - 1
            });
        alias(index)
    }
}

pub(crate) fn plan(model: &Model, column_type: impl Fn(usize, &str) -> ColumnType) -> Plan {
    let root = model.root_table();
    let slot = |table: usize, column: &str, kind: Kind| Slot {
        name: format!("{}.{column}", model.tables[table].relation),
        kind,
    };
    let mut root_columns = Columns::default();
    let mut groups: BTreeMap<Join, (usize, Columns)> = BTreeMap::new();
    let mut shape = Vec::new();
    let mut nested = Vec::new();
    for field in &model.fields {
        shape.push(match field {
            Field::Column(column) => {
                let ty = column_type(model.root, &column.column);
                let expr = select(&column.column, &ty);
                let pos = root_columns.add(expr, slot(model.root, &column.column, ty.kind()));
                Shape::Column(Out {
                    name: column.name.clone(),
                    pos,
                    null: column.null.clone(),
                    rank: None,
                    distinct: false,
                })
            }
            Field::Names { name, list, field } => Shape::Names {
                name: name.clone(),
                list: *list,
                field: *field,
            },
            Field::List(list) => {
                let next = groups.len();
                let (query, columns) = groups
                    .entry(list.join.clone())
                    .or_insert_with(|| (next, Columns::default()));
                let shape = list_shape(list, *query, columns, &column_type, &slot);
                with_nested(
                    shape,
                    model,
                    list,
                    columns,
                    &column_type,
                    &slot,
                    &mut nested,
                )
            }
        });
    }
    let root_sql = format!(
        "SELECT {}{} FROM {} r WHERE {}",
        composite::text_of(&root.key, "r"),
        root_columns
            .exprs
            .iter()
            .map(|e| format!(", {e}"))
            .collect::<String>(),
        root.relation,
        keys_in(&root.key, &casts(model.root, &root.key, &column_type), "r"),
    );
    let mut lists: Vec<(usize, Query)> = groups
        .into_iter()
        .map(|(join, (index, columns))| {
            let filters = group_filter(model, &join);
            (
                index,
                list_query(model, &join, columns, filters, &column_type),
            )
        })
        .collect();
    lists.sort_by_key(|(index, _)| *index);
    Plan {
        root: Query {
            sql: root_sql,
            slots: root_columns.slots,
        },
        lists: lists.into_iter().map(|(_, query)| query).collect(),
        nested,
        shape,
    }
}

fn list_shape(
    list: &List,
    query: usize,
    columns: &mut Columns,
    column_type: &impl Fn(usize, &str) -> ColumnType,
    slot: &impl Fn(usize, &str, Kind) -> Slot,
) -> Shape {
    let table = list.join.table();
    let mut out = |column: &Column| {
        let (expr, from) = source(list, column);
        if !column.link && !columns.raw.contains(&column.column) {
            columns.raw.push(column.column.clone());
        }
        let ty = column_type(from, &column.column);
        Out {
            name: column.name.clone(),
            pos: columns.add(select(&expr, &ty), slot(from, &column.column, ty.kind())),
            null: column.null.clone(),
            rank: None,
            distinct: column.distinct,
        }
    };
    let fields = list.fields.iter().map(&mut out).collect();
    let mut collect: Vec<Out> = list.collect.iter().map(&mut out).collect();
    let hops = list
        .hops
        .iter()
        .map(|hop| hop_out(list, hop, columns, column_type, slot))
        .collect();
    for (out, column) in collect.iter_mut().zip(&list.collect) {
        let (expr, from) = source(list, column);
        let key = order_key(expr, &column_type(from, &column.column), false, None);
        out.rank = Some(columns.add(rank(&[key]), slot(from, &column.column, Kind::Int)));
    }
    let rank = (!list.sort.is_empty()).then(|| {
        let keys: Vec<String> = list
            .sort
            .iter()
            .map(|key| {
                let column = &list.fields[key.field];
                let (expr, from) = source(list, column);
                let ty = column_type(from, &column.column);
                order_key(expr, &ty, key.descending, key.collation.as_deref())
            })
            .collect();
        columns.add(rank(&keys), slot(table, &list.name, Kind::Int))
    });
    let filter = (!list.filter.is_empty()).then(|| {
        let expr = filter::all(&list.filter, filter_alias(&list.join));
        columns.add(expr, slot(list.join.filtered(), "where", Kind::Bool))
    });
    Shape::List {
        name: list.name.clone(),
        query,
        one: list.one,
        filter,
        layout: Layout {
            fields,
            collect,
            hops,
            ..Layout::default()
        },
        rank,
    }
}

/// The columns of a `one:` object inside a list's objects, read through a LEFT JOIN.
fn hop_out(
    list: &List,
    hop: &Hop,
    columns: &mut Columns,
    column_type: &impl Fn(usize, &str) -> ColumnType,
    slot: &impl Fn(usize, &str, Kind) -> Slot,
) -> HopOut {
    for via in &hop.via {
        if !columns.raw.contains(via) {
            columns.raw.push(via.clone());
        }
        // Looked up so that the column counts as read by the compiled queries.
        let _ = column_type(list.join.table(), via);
    }
    let alias = columns.join(&hop.relation, &hop.key, &hop.via);
    // A key column is never NULL: the object is there when the join found its row.
    let present = columns.add(
        format!("{alias}.{} IS NOT NULL", hop.key[0]),
        slot(hop.table, &hop.key[0], Kind::Bool),
    );
    let fields = hop
        .fields
        .iter()
        .map(|column| {
            let ty = column_type(hop.table, &column.column);
            let expr = select(&format!("{alias}.{}", column.column), &ty);
            Out {
                name: column.name.clone(),
                pos: columns.add(expr, slot(hop.table, &column.column, ty.kind())),
                null: column.null.clone(),
                rank: None,
                distinct: false,
            }
        })
        .collect();
    HopOut {
        name: hop.name.clone(),
        position: hop.position,
        order: hop.order,
        present,
        fields,
    }
}

/// A list column as its query reads it (`t.` the list table's, `l.` the link table's), and
/// the table it belongs to.
fn source(list: &List, column: &Column) -> (String, usize) {
    match column.link {
        true => (format!("l.{}", column.column), list.join.filtered()),
        false => (format!("t.{}", column.column), list.join.table()),
    }
}

/// One key of an `ORDER BY` on a list column: ascending puts NULL first, descending is its
/// exact reverse. Types without a btree order (`json`, geometric, `xml`) by their text.
fn order_key(
    mut key: String,
    ty: &ColumnType,
    descending: bool,
    collation: Option<&str>,
) -> String {
    if UNORDERED_TYPES.contains(&ty.type_name.as_str()) {
        key.push_str("::text");
    }
    if let Some(collation) = collation {
        key.push_str(&format!(" COLLATE \"{collation}\""));
    }
    key.push_str(match descending {
        false => " ASC NULLS FIRST",
        true => " DESC NULLS LAST",
    });
    key
}

/// Types `ORDER BY` cannot sort.
const UNORDERED_TYPES: &[&str] = &[
    "json", "xml", "point", "line", "lseg", "box", "path", "polygon", "circle",
];

/// Each row's place in the order of `keys`, as the database sorts (its collations, enum
/// order, numbers by value): equal rows share a rank.
fn rank(keys: &[String]) -> String {
    format!("dense_rank() OVER (ORDER BY {})", keys.join(", "))
}

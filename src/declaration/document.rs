//! Rows → documents for a declared pipeline: one query for the root rows and one per group of
//! lists sharing a join (movies: films, people, genres — never a people × genres product),
//! then each document written straight to JSON in the declared field order, strings borrowed
//! from the rows.

use std::collections::{BTreeMap, HashMap};

use futures_util::future::try_join_all;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::PgPool;

use super::cell::{self, Cell};
use super::filter;
use super::model::{Column, Field, Hop, Join, List, Model};
use super::schema::{ColumnType, Kind};
use crate::extract::composite;
use crate::transform::{Document, Key};

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

/// What each object of a list holds: its fields, collected arrays and `one:` objects.
#[derive(Debug)]
struct Layout {
    fields: Vec<Out>,
    collect: Vec<Out>,
    hops: Vec<HopOut>,
}

/// A `one:` object inside a list's objects, from a LEFT JOIN of the list query.
#[derive(Debug)]
struct HopOut {
    name: String,
    /// How many fields come before it in the object.
    position: usize,
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
                list_shape(list, *query, columns, &column_type, &slot)
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

/// The alias of the table a list's `where` reads in its query: the link table, or the list's.
fn filter_alias(join: &Join) -> &'static str {
    match join {
        Join::Through { .. } => "l",
        _ => "t",
    }
}

/// `AND (…)` keeping only rows some list of the group wants, when every list filters.
fn group_filter(model: &Model, join: &Join) -> String {
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

fn list_query(
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
fn casts(
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
fn keys_in(columns: &[String], casts: &[String], alias: &str) -> String {
    composite::any_of(columns, casts, alias, "$1")
}

/// One object of a list: its field values, and the collected arrays.
#[derive(Debug)]
struct Entry<'r> {
    /// Its place in the list's declared order (0 when the list has none).
    rank: i64,
    fields: Vec<Cell<'r>>,
    /// Each collected value with its rank in the database's order of that column.
    collected: Vec<Vec<(i64, Cell<'r>)>>,
    /// Each `one:` object's fields, `None` when the row refs nothing.
    hops: Vec<Option<Vec<Cell<'r>>>>,
}

/// A decoded row: its root key and the cells after it.
type Decoded<'r> = (&'r str, Vec<Cell<'r>>);

fn decode_all<'r>(rows: &'r [PgRow], query: &Query) -> Result<Vec<Decoded<'r>>, sqlx::Error> {
    let mut decoded = Vec::with_capacity(rows.len());
    for row in rows {
        let key: &str = cell::column(row, 0, "key")?;
        let mut cells = Vec::with_capacity(query.slots.len() + 1);
        cells.push(Cell::Null);
        for (index, slot) in query.slots.iter().enumerate() {
            cells.push(cell::decode(row, index + 1, slot.kind, &slot.name)?);
        }
        decoded.push((key, cells));
    }
    Ok(decoded)
}

impl Plan {
    pub async fn build(&self, pool: &PgPool, ids: &[Key]) -> Result<Vec<Document>, sqlx::Error> {
        let keys: Vec<&str> = ids.iter().map(Key::as_str).collect();
        let root = sqlx::query(&self.root.sql).bind(&keys).fetch_all(pool);
        let lists = try_join_all(
            self.lists
                .iter()
                .map(|query| sqlx::query(&query.sql).bind(&keys).fetch_all(pool)),
        );
        let (root, lists) = tokio::try_join!(root, lists)?;
        let root = decode_all(&root, &self.root)?;
        let mut list_rows = Vec::with_capacity(lists.len());
        for (rows, query) in lists.iter().zip(&self.lists) {
            list_rows.push(decode_all(rows, query)?);
        }
        let entries = self.entries(&list_rows);
        let mut built = Vec::with_capacity(root.len());
        for (key, cells) in &root {
            let view = View {
                plan: self,
                root: cells,
                key,
                entries: &entries,
            };
            let mut body = Vec::with_capacity(BODY_CAPACITY);
            serde_json::to_writer(&mut body, &view)
                .map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
            built.push(Document {
                id: Key::from(*key),
                body: body.into(),
            });
        }
        Ok(built)
    }

    /// For every list field (by field index), its sorted entries per root key.
    fn entries<'r>(&self, lists: &[Vec<Decoded<'r>>]) -> Vec<HashMap<&'r str, Vec<Entry<'r>>>> {
        self.shape
            .iter()
            .map(|shape| match shape {
                Shape::List {
                    query,
                    filter,
                    layout,
                    rank,
                    ..
                } => list_entries(&lists[*query], *filter, layout, *rank),
                _ => HashMap::new(),
            })
            .collect()
    }
}

fn list_entries<'r>(
    rows: &[Decoded<'r>],
    filter: Option<usize>,
    layout: &Layout,
    rank: Option<usize>,
) -> HashMap<&'r str, Vec<Entry<'r>>> {
    let collect = &layout.collect;
    let mut by_root: HashMap<&'r str, Vec<Entry<'r>>> = HashMap::new();
    let mut groups: HashMap<(&'r str, String), usize> = HashMap::new();
    for (key, cells) in rows {
        let wanted = filter.is_none_or(|pos| matches!(cells[pos], Cell::Bool(true)));
        if !wanted {
            continue;
        }
        let values: Vec<Cell<'r>> = layout.fields.iter().map(|out| cells[out.pos]).collect();
        let hops = layout
            .hops
            .iter()
            .map(|hop| {
                let present = matches!(cells[hop.present], Cell::Bool(true));
                present.then(|| hop.fields.iter().map(|out| cells[out.pos]).collect())
            })
            .collect();
        let entries = by_root.entry(key).or_default();
        let entry = Entry {
            rank: rank.map_or(0, |pos| rank_of(&cells[pos])),
            fields: values,
            collected: vec![Vec::new(); collect.len()],
            hops,
        };
        if collect.is_empty() {
            entries.push(entry);
            continue;
        }
        let group_key = (
            *key,
            serde_json::to_string(&(&entry.fields, &entry.hops)).unwrap_or_default(),
        );
        let index = *groups.entry(group_key).or_insert_with(|| {
            entries.push(entry);
            entries.len() - 1
        });
        for (slot, out) in collect.iter().enumerate() {
            let ranked = (
                out.rank.map_or(0, |pos| rank_of(&cells[pos])),
                cells[out.pos],
            );
            entries[index].collected[slot].push(ranked);
        }
    }
    for entries in by_root.values_mut() {
        // Stable: rows the order does not tell apart keep the order they came in.
        entries.sort_by_key(|entry| entry.rank);
        for entry in entries.iter_mut() {
            for (values, out) in entry.collected.iter_mut().zip(collect) {
                values.sort_by_key(|(rank, _)| *rank);
                if out.distinct {
                    // Equal ranks are values the database's order holds equal.
                    values.dedup_by_key(|(rank, _)| *rank);
                }
            }
        }
    }
    by_root
}

fn rank_of(cell: &Cell<'_>) -> i64 {
    match cell {
        Cell::Int(rank) => *rank,
        _ => 0,
    }
}

/// One document, serialized in the declared field order.
struct View<'a, 'r> {
    plan: &'a Plan,
    key: &'r str,
    root: &'a [Cell<'r>],
    entries: &'a [HashMap<&'r str, Vec<Entry<'r>>>],
}

const NO_ENTRIES: &[Entry<'static>] = &[];

impl View<'_, '_> {
    fn entries(&self, field: usize) -> &[Entry<'_>] {
        self.entries[field]
            .get(self.key)
            .map_or(NO_ENTRIES, Vec::as_slice)
    }
}

impl Serialize for View<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.plan.shape.len()))?;
        for (index, shape) in self.plan.shape.iter().enumerate() {
            match shape {
                Shape::Column(out) => {
                    map.serialize_entry(&out.name, &Value_(&self.root[out.pos], &out.null))?
                }
                Shape::List {
                    name,
                    one: true,
                    layout,
                    ..
                } => {
                    let entry = self.entries(index).first();
                    let object = entry.map(|entry| Object { entry, layout });
                    map.serialize_entry(name, &object)?
                }
                Shape::List { name, layout, .. } => map.serialize_entry(
                    name,
                    &Objects {
                        entries: self.entries(index),
                        layout,
                    },
                )?,
                Shape::Names { name, list, field } => {
                    let Shape::List { layout, .. } = &self.plan.shape[*list] else {
                        continue;
                    };
                    let fields = &layout.fields;
                    map.serialize_entry(
                        name,
                        &Names {
                            entries: self.entries(*list),
                            field: *field,
                            null: &fields[*field].null,
                        },
                    )?
                }
            }
        }
        map.end()
    }
}

/// A cell, or the declared value for NULL.
struct Value_<'a, 'r>(&'a Cell<'r>, &'a Option<Value>);

impl Serialize for Value_<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (self.0, self.1) {
            (Cell::Null, Some(default)) => default.serialize(serializer),
            (cell, _) => cell.serialize(serializer),
        }
    }
}

struct Object<'a, 'r> {
    entry: &'a Entry<'r>,
    layout: &'a Layout,
}

impl Serialize for Object<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let layout = self.layout;
        let size = layout.fields.len() + layout.collect.len() + layout.hops.len();
        let mut map = serializer.serialize_map(Some(size))?;
        let mut hops = layout.hops.iter().zip(&self.entry.hops).peekable();
        for (index, (out, cell)) in layout.fields.iter().zip(&self.entry.fields).enumerate() {
            while let Some((hop, cells)) = hops.next_if(|(hop, _)| hop.position <= index) {
                map.serialize_entry(&hop.name, &HopObject(&hop.fields, cells.as_deref()))?;
            }
            map.serialize_entry(&out.name, &Value_(cell, &out.null))?;
        }
        for (hop, cells) in hops {
            map.serialize_entry(&hop.name, &HopObject(&hop.fields, cells.as_deref()))?;
        }
        for (out, values) in layout.collect.iter().zip(&self.entry.collected) {
            map.serialize_entry(&out.name, &Collected(values))?;
        }
        map.end()
    }
}

/// A `one:` object inside a list's object, or `null` when its row refs nothing.
struct HopObject<'a, 'r>(&'a [Out], Option<&'a [Cell<'r>]>);

impl Serialize for HopObject<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(cells) = self.1 else {
            return serializer.serialize_none();
        };
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (out, cell) in self.0.iter().zip(cells) {
            map.serialize_entry(&out.name, &Value_(cell, &out.null))?;
        }
        map.end()
    }
}

/// A collected array: the values without their ranks.
struct Collected<'a, 'r>(&'a [(i64, Cell<'r>)]);

impl Serialize for Collected<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(_, cell)| cell))
    }
}

struct Objects<'a, 'r> {
    entries: &'a [Entry<'r>],
    layout: &'a Layout,
}

impl Serialize for Objects<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.entries.len()))?;
        for entry in self.entries {
            seq.serialize_element(&Object {
                entry,
                layout: self.layout,
            })?;
        }
        seq.end()
    }
}

struct Names<'a, 'r> {
    entries: &'a [Entry<'r>],
    field: usize,
    null: &'a Option<Value>,
}

impl Serialize for Names<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.entries.len()))?;
        for entry in self.entries {
            seq.serialize_element(&Value_(&entry.fields[self.field], self.null))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declaration::Declaration;
    use std::path::Path;

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
        let text = include_str!("../../pipelines/movies.yaml").replacen(
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
        let others =
            "dense_rank() OVER (ORDER BY t.full_name ASC NULLS FIRST, t.id ASC NULLS FIRST)";
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
}

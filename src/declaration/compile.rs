//! A declaration checked against the database, compiled into what the engine runs: the
//! document queries (one for the root rows, one per group of lists that share a join), the
//! fan-out of every followed table, and what the capture triggers record.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;

use sqlx::PgPool;

use super::collations;
use super::derived;
use super::document::{self, Plan};
use super::keys;
use super::model::{Field, Join, List, Model, Query, TableDecl};
use super::reads;
use super::schema::{self, Catalog, ColumnType, Kind, SchemaError};
use super::Declaration;
use crate::extract::{composite, ChangedBy, Table};
use crate::transform::{Document, Key};

/// How a recorded change of one column reaches root documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Touch {
    /// The value is a root key.
    Root,
    /// `($1 text[] values, $2 text last root key or NULL, $3 limit) -> id`, ordered.
    FanOut(String),
}

/// A pipeline the engine can run, built from a declaration and the database's catalog.
#[derive(Debug)]
pub(crate) struct Declared {
    pub name: String,
    pub alias: String,
    pub index_config: IndexConfig,
    pub fingerprint: String,
    /// Root first.
    pub tables: Vec<Table>,
    /// `(relation, column)` a trigger records → how it reaches the root.
    pub recorded: BTreeMap<(String, String), Touch>,
    builder: Builder,
    /// What it was compiled from: checked again when Postgres refuses its queries while
    /// running (see [`Declared::recheck`]).
    pub(super) declaration: Declaration,
    /// The type of every column the compiled queries read, as it was at compile time.
    pub(super) read: Catalog,
}

/// Where a pipeline's index config comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IndexConfig {
    /// `index.config`: a file written by hand.
    File(PathBuf),
    /// Derived from the declaration and the column types (no `index.config`).
    Derived(serde_json::Value),
}

impl IndexConfig {
    /// The config, read from its file or as derived.
    pub fn read(&self) -> Result<serde_json::Value, crate::load::EsError> {
        match self {
            IndexConfig::File(path) => crate::load::read_index_config(path),
            IndexConfig::Derived(config) => Ok(config.clone()),
        }
    }

    /// The file, or where a derived config comes from.
    pub fn describe(&self) -> String {
        match self {
            IndexConfig::File(path) => path.display().to_string(),
            IndexConfig::Derived(_) => {
                "derived from the declaration and the column types (no index.config)".into()
            }
        }
    }
}

/// How documents are built: from the declared fields, or by the declaration's own SQL.
#[derive(Debug)]
enum Builder {
    Fields(Plan),
    /// `$1` = root keys → `(id text, document text)`.
    Query(String),
}

impl Declared {
    /// Checks the declaration against the database and compiles it.
    pub async fn connect(declaration: &Declaration, pool: &PgPool) -> Result<Self, SchemaError> {
        let catalog = schema::read_catalog(pool, &declaration.model).await?;
        schema::check(declaration, &catalog)?;
        let unique_indexes = keys::read(pool, &declaration.model).await?;
        keys::check(declaration, &catalog, &unique_indexes)?;
        collations::check(pool, declaration).await?;
        reads::check(declaration, &catalog, pool).await?;
        Ok(Self::compile(declaration, &catalog))
    }

    pub fn compile(declaration: &Declaration, catalog: &Catalog) -> Self {
        let model = &declaration.model;
        let types = Types {
            model,
            catalog,
            read: RefCell::default(),
        };
        let recorded = recorded(&types);
        let tables = engine_tables(&types, &recorded);
        let builder = match &model.query {
            Some(query) => Builder::Query(format!(
                "SELECT q.id::text, q.document::text FROM ({}) AS q",
                query.sql.trim().trim_end_matches(';')
            )),
            None => Builder::Fields(document::plan(model, |table, column| {
                types.column(table, column).clone()
            })),
        };
        let index_config = match &declaration.index_config {
            Some(path) => IndexConfig::File(path.clone()),
            None => IndexConfig::Derived(derived::derive(model, |table, column| {
                types.column(table, column).clone()
            })),
        };
        Self {
            name: declaration.name.clone(),
            alias: model.alias.clone(),
            index_config,
            fingerprint: declaration.fingerprint(),
            tables,
            recorded,
            builder,
            declaration: declaration.clone(),
            read: types.read.take(),
        }
    }

    pub async fn build(&self, pool: &PgPool, ids: &[Key]) -> Result<Vec<Document>, sqlx::Error> {
        match &self.builder {
            Builder::Fields(plan) => plan.build(pool, ids).await,
            Builder::Query(sql) => query_documents(sql, pool, ids).await,
        }
    }
}

/// Documents built by a declaration's own SQL: each row an id and a JSON document.
async fn query_documents(
    sql: &str,
    pool: &PgPool,
    ids: &[Key],
) -> Result<Vec<Document>, sqlx::Error> {
    let keys: Vec<&str> = ids.iter().map(Key::as_str).collect();
    let rows: Vec<(String, String)> = sqlx::query_as(sql).bind(&keys).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(id, document)| Document {
            id: Key::from(id),
            body: document.into_bytes().into(),
        })
        .collect())
}

/// Column types by table index.
struct Types<'a> {
    model: &'a Model,
    catalog: &'a Catalog,
    /// Every column looked up: what the compiled queries read.
    read: RefCell<Catalog>,
}

impl Types<'_> {
    fn column(&self, table: usize, column: &str) -> &ColumnType {
        let relation = &self.model.tables[table].relation;
        let found = &self.catalog[relation][column];
        self.read
            .borrow_mut()
            .entry(relation.clone())
            .or_default()
            .insert(column.to_owned(), found.clone());
        found
    }

    fn table(&self, table: usize) -> &TableDecl {
        &self.model.tables[table]
    }

    /// The SQL type a key value of this column is cast to (checked: keys and refs are keys).
    fn cast(&self, table: usize, column: &str) -> &'static str {
        self.column(table, column).key_type().unwrap_or("text")
    }

    /// The SQL type of each key column of `table`.
    fn key_casts(&self, table: usize) -> Vec<String> {
        self.casts(table, &self.table(table).key)
    }

    /// The SQL type of each of `columns` of `table` (a key, or refs that hold one).
    fn casts(&self, table: usize, columns: &[String]) -> Vec<String> {
        columns
            .iter()
            .map(|c| self.cast(table, c).to_owned())
            .collect()
    }

    /// Whether the row `alias`'s `columns` (of `table`) hold one of the keys in `$1`.
    fn keys_in(&self, table: usize, columns: &[String], alias: &str) -> String {
        composite::any_of(columns, &self.casts(table, columns), alias, "$1")
    }
}

/// The tables the engine follows, root first, each with its fan-out for polling and the
/// columns its trigger records.
fn engine_tables(types: &Types<'_>, recorded: &BTreeMap<(String, String), Touch>) -> Vec<Table> {
    let model = types.model;
    let mut order: Vec<usize> = vec![model.root];
    order.extend((0..model.tables.len()).filter(|index| *index != model.root));
    order
        .into_iter()
        .map(|index| {
            let decl = types.table(index);
            let changed_by = decl.changed_by.as_ref().map(|column| ChangedBy {
                column: column.clone(),
                kind: match (types.column(index, column).kind(), &decl.zone) {
                    (Kind::Int, _) => crate::extract::ChangeKind::Integer,
                    (_, Some(zone)) => crate::extract::ChangeKind::Timestamp { zone: zone.clone() },
                    _ => crate::extract::ChangeKind::Timestamptz,
                },
            });
            let captured = recorded
                .keys()
                .filter(|(relation, _)| *relation == decl.relation)
                .map(|(_, column)| column.clone())
                .collect();
            Table {
                relation: decl.relation.clone(),
                key: decl.key.clone(),
                key_types: types.key_casts(index),
                changed_by,
                fan_out: (index != model.root).then(|| polling_fan_out(types, index)),
                captured,
            }
        })
        .collect()
}

/// Keys of `table` → the root keys they touch, paged.
fn polling_fan_out(types: &Types<'_>, table: usize) -> String {
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
    }
    paged(parts)
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
fn recorded(types: &Types<'_>) -> BTreeMap<(String, String), Touch> {
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

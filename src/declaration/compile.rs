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
pub(crate) use super::fan_out::Touch;
use super::fan_out::{polling_fan_out, recorded};
use super::keys;
use super::reads;
use super::schema::{self, Catalog, Kind, SchemaError};
use super::types::Types;
use super::Declaration;
use crate::extract::{ChangedBy, Table};
use crate::transform::{Document, Key};

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
            version: None,
        })
        .collect())
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

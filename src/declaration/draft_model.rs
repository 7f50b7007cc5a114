//! What `pg2es init` drafts, as data: the root table and the relations the foreign keys
//! reach, and why a draft cannot be made. (`draft.rs` chooses, `draft_text.rs` writes.)

use super::schema::ColumnType;

/// The deepest `--depth`: a `one:` object inside a list's objects is as far as a declaration
/// nests.
pub(crate) const MAX_DEPTH: u32 = 2;

/// Why no declaration can be drafted for a root.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("--root {0}: name the table as SCHEMA.TABLE (e.g. public.orders)")]
    NotQualified(String),
    #[error("table {0} does not exist: name an existing table as SCHEMA.TABLE (`\\dt SCHEMA.*` in psql lists them)")]
    Missing(String),
    #[error("table {0} has no primary key: add one (ALTER TABLE {0} ADD PRIMARY KEY (column)), since a document's id is its key")]
    NoKey(String),
    #[error("the key {relation}.{column} is of type {sql_type}: keys can be uuid, smallint, integer, bigint or text")]
    KeyType {
        relation: String,
        column: String,
        sql_type: String,
    },
    #[error("--depth {0}: a declaration nests at most two hops (a `one:` object inside a list's objects): use --depth 1 or 2, and the SQL escape hatch for more")]
    Depth(u32),
    #[error("--{flag} {pattern}: no table matches it: name tables as SCHEMA.TABLE or SCHEMA.* (`\\dt SCHEMA.*` in psql lists them)")]
    NoMatch { flag: &'static str, pattern: String },
    #[error("cannot read the catalogue for {relation}")]
    Query {
        relation: String,
        #[source]
        source: sqlx::Error,
    },
}

/// Column names polling prefers, in order: the first of a type a cursor can hold is chosen.
const CURSOR_NAMES: [&str; 9] = [
    "updated_at",
    "modified_at",
    "modified",
    "updated",
    "last_modified",
    "changed_at",
    "version",
    "row_version",
    "created_at",
];

/// A table as a declaration needs it: its key and its columns in the table's order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableInfo {
    pub relation: String,
    /// The primary key's columns in key order: one, or several for a composite key.
    pub key: Vec<String>,
    /// A one-column key's type; `None` for a composite key (each part has its own).
    pub key_type: Option<&'static str>,
    pub columns: Vec<(String, ColumnType)>,
}

impl TableInfo {
    /// The part after the schema: `film_work` of `content.film_work`.
    pub fn short(&self) -> &str {
        self.relation
            .rsplit_once('.')
            .map_or(self.relation.as_str(), |(_, t)| t)
    }

    /// The column polling follows and its type: the first of [`CURSOR_NAMES`] that is a
    /// timestamp or an integer.
    pub fn cursor_column(&self) -> Option<(&'static str, &str)> {
        CURSOR_NAMES.iter().find_map(|name| {
            let (_, ty) = self.columns.iter().find(|(column, _)| column == name)?;
            matches!(
                ty.type_name.as_str(),
                "timestamptz" | "timestamp" | "int2" | "int4" | "int8"
            )
            .then_some((*name, ty.type_name.as_str()))
        })
    }
}

/// A second hop: a listed table's `columns` hold `table`'s key, a `one:` object in each item.
/// Every `columns` below holds a key in the key's order, as a ref names them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hop {
    pub columns: Vec<String>,
    pub table: TableInfo,
}

/// How a table one foreign key away reaches the root.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Relation {
    /// The root's `columns` hold `table`'s key: an object.
    Parent {
        columns: Vec<String>,
        table: TableInfo,
    },
    /// `table.columns` hold the root's key: a list.
    Child {
        table: TableInfo,
        columns: Vec<String>,
        hops: Vec<Hop>,
    },
    /// A link table with two foreign keys and little else: a list of the other side.
    Through {
        link: TableInfo,
        root_columns: Vec<String>,
        table: TableInfo,
        list_columns: Vec<String>,
        hops: Vec<Hop>,
    },
}

/// The root and what the foreign keys reach, with what was left out and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    pub root: TableInfo,
    pub relations: Vec<Relation>,
    pub skipped: Vec<String>,
}

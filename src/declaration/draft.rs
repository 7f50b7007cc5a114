//! `pg2es init`: what the catalogue says about a root table and the tables around it, as the
//! relations a declaration can follow (transform). [`super::draft_catalogue`] reads the rows,
//! [`plan`] chooses from them alone, [`super::draft_text`] writes the choice as YAML.

use std::collections::BTreeSet;

use sqlx::PgPool;

use super::draft_catalogue::{self, Catalogue, ForeignKey};
#[cfg(test)]
use super::draft_follow::matches;
pub(crate) use super::draft_follow::Follow;
use super::draft_hops::second_hops;
pub(crate) use super::draft_text::{name_index_config, render};
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

/// Columns besides its key, its two foreign keys and the column polling follows a link table
/// may have (a role, a position): more, and it is a table of its own, listed as a child.
const LINK_EXTRA_COLUMNS: usize = 2;

/// Reads the catalogue around `root` and plans the draft.
pub(crate) async fn read(pool: &PgPool, root: &str, follow: &Follow) -> Result<Draft, DraftError> {
    if !root.contains('.') {
        return Err(DraftError::NotQualified(root.to_owned()));
    }
    if !(1..=MAX_DEPTH).contains(&follow.depth) {
        return Err(DraftError::Depth(follow.depth));
    }
    let catalogue = draft_catalogue::read(pool, root).await?;
    plan(&catalogue, root, follow)
}

/// The root and the relations `follow` asks for, from the catalogue's rows alone.
pub(crate) fn plan(
    catalogue: &Catalogue,
    root: &str,
    follow: &Follow,
) -> Result<Draft, DraftError> {
    follow.check(catalogue)?;
    let root = table(catalogue, root)?;
    let mut draft = Draft {
        root,
        relations: Vec::new(),
        skipped: Vec::new(),
    };
    for fk in catalogue.touching(&draft.root.relation) {
        match relation(catalogue, &draft.root, fk, follow) {
            Ok(mut relation) => {
                if follow.depth >= 2 {
                    second_hops(
                        catalogue,
                        &draft.root,
                        &mut relation,
                        follow,
                        &mut draft.skipped,
                    );
                }
                draft.relations.push(relation);
            }
            Err(why) => draft.skipped.push(why),
        }
    }
    Ok(draft)
}

/// A foreign key as the draft's comments name it: `a.b_id → b.id`, `a.(x, y) → b.(x, y)`.
pub(super) fn what(fk: &ForeignKey) -> String {
    let columns = |columns: &[String]| match columns {
        [one] => one.clone(),
        several => format!("({})", several.join(", ")),
    };
    format!(
        "{}.{} → {}.{}",
        fk.from,
        columns(&fk.from_columns),
        fk.to,
        columns(&fk.to_columns)
    )
}

/// One foreign key from or to the root as a relation, or why it is not followed.
fn relation(
    catalogue: &Catalogue,
    root: &TableInfo,
    fk: &ForeignKey,
    follow: &Follow,
) -> Result<Relation, String> {
    let what = what(fk);
    if fk.from == fk.to {
        return Err(format!("{what}: refers to its own table, not followed"));
    }
    if fk.from == root.relation {
        return parent(catalogue, fk, follow).map_err(|why| format!("{what}: {why}"));
    }
    let Some(root_columns) = fk.holding(&root.key) else {
        return Err(format!("{what}: not the root's key, not followed"));
    };
    child(catalogue, root, (fk, root_columns), follow).map_err(|why| format!("{what}: {why}"))
}

/// The root's `fk.from_columns` hold `fk.to`'s key: an object.
fn parent(catalogue: &Catalogue, fk: &ForeignKey, follow: &Follow) -> Result<Relation, String> {
    if let Some(why) = follow.refuses(&fk.to) {
        return Err(format!("{} {why}", fk.to));
    }
    let table = table(catalogue, &fk.to).map_err(|err| err.to_string())?;
    let Some(columns) = fk.holding(&table.key) else {
        return Err(format!("not {}'s key, not followed", fk.to));
    };
    Ok(Relation::Parent { columns, table })
}

/// `fk.from` holds the root's key in `root_columns`: a through list when it is a link table,
/// else a list.
fn child(
    catalogue: &Catalogue,
    root: &TableInfo,
    (fk, root_columns): (&ForeignKey, Vec<String>),
    follow: &Follow,
) -> Result<Relation, String> {
    if follow.excludes(&fk.from) {
        return Err(format!("{} left out by --exclude", fk.from));
    }
    let table = table(catalogue, &fk.from).map_err(|err| err.to_string())?;
    if let Some(through) = through(catalogue, root, &root_columns, &table, follow)? {
        return Ok(through);
    }
    if let Some(why) = follow.refuses(&fk.from) {
        return Err(format!("{} {why}", fk.from));
    }
    Ok(Relation::Child {
        table,
        columns: root_columns,
        hops: Vec::new(),
    })
}

/// A link table (two foreign keys, the root and another table's key, and little else) as a
/// list of the other side; `None` when `link` is not one.
fn through(
    catalogue: &Catalogue,
    root: &TableInfo,
    root_columns: &[String],
    link: &TableInfo,
    follow: &Follow,
) -> Result<Option<Relation>, String> {
    let link_fks: Vec<&ForeignKey> = catalogue
        .foreign_keys
        .iter()
        .filter(|f| f.from == link.relation)
        .collect();
    let others: Vec<&ForeignKey> = link_fks
        .iter()
        .copied()
        .filter(|f| f.to != root.relation)
        .collect();
    let ([other], 2) = (others.as_slice(), link_fks.len()) else {
        return Ok(None);
    };
    let (Ok(list), true) = (table(catalogue, &other.to), is_link(link, &link_fks)) else {
        return Ok(None);
    };
    let Some(list_columns) = other.holding(&list.key) else {
        return Ok(None);
    };
    if let Some(why) = follow.refuses(&list.relation) {
        return Err(format!(
            "{} {why}: no through list via {}",
            list.relation, link.relation
        ));
    }
    Ok(Some(Relation::Through {
        root_columns: root_columns.to_vec(),
        list_columns,
        link: link.clone(),
        table: list,
        hops: Vec::new(),
    }))
}

/// Whether a table with two foreign keys `fks` is a link and no table of its own: a composite
/// key made of the foreign keys' columns (a key part of its own, a position, makes rows of
/// their own), and at most [`LINK_EXTRA_COLUMNS`] other columns besides the one polling follows.
fn is_link(link: &TableInfo, fks: &[&ForeignKey]) -> bool {
    let held: BTreeSet<&str> = fks
        .iter()
        .flat_map(|fk| fk.from_columns.iter().map(String::as_str))
        .collect();
    let held_or_key = |column: &str| held.contains(column) || link.key.iter().any(|k| k == column);
    if link.key.len() > 1 && !link.key.iter().all(|k| held.contains(k.as_str())) {
        return false;
    }
    let cursor = link.cursor_column().map(|(name, _)| name);
    let own = link
        .columns
        .iter()
        .filter(|(column, _)| !held_or_key(column) && Some(column.as_str()) != cursor)
        .count();
    own <= LINK_EXTRA_COLUMNS
}

/// A table's key and columns from the catalogue, or why it cannot be declared.
pub(super) fn table(catalogue: &Catalogue, relation: &str) -> Result<TableInfo, DraftError> {
    let rows = catalogue.tables.get(relation).cloned().unwrap_or_default();
    let relation = relation.to_owned();
    if !rows.found {
        return Err(DraftError::Missing(relation));
    }
    let key_type = match rows.key.as_slice() {
        [] => return Err(DraftError::NoKey(relation)),
        [key] => {
            let ty = rows.columns.iter().find(|(name, _)| name == key);
            let ty = ty.map(|(_, ty)| ty);
            match ty.and_then(ColumnType::key_type) {
                Some(key_type) => Some(key_type),
                None => {
                    return Err(DraftError::KeyType {
                        column: key.clone(),
                        sql_type: ty.map(|t| t.sql_type.clone()).unwrap_or_default(),
                        relation,
                    })
                }
            }
        }
        // A composite key: each part is read as text, whatever its type.
        _ => None,
    };
    Ok(TableInfo {
        relation,
        key: rows.key,
        key_type,
        columns: rows.columns,
    })
}

#[cfg(test)]
#[path = "draft_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "draft_composite_tests.rs"]
mod composite_tests;

//! `pg2es init`: what the catalogue says about a root table and the tables around it, as the
//! relations a declaration can follow (transform). [`super::draft_catalogue`] reads the rows,
//! [`plan`] chooses from them alone, [`super::draft_text`] writes the choice as YAML.

use sqlx::PgPool;

use super::draft_catalogue::{self, Catalogue, ForeignKey};
pub(crate) use super::draft_text::render;
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
    #[error("table {relation} has a composite primary key ({columns}): declare a single NOT NULL column with a unique index as its key instead")]
    Composite { relation: String, columns: String },
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

/// What `init` was asked to follow: how many hops, and which tables (`SCHEMA.TABLE` or
/// `SCHEMA.*`; an empty `include` follows every table).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Follow {
    pub depth: u32,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Follow {
    /// Why a relation to `relation` is not followed, if it is not.
    fn refuses(&self, relation: &str) -> Option<&'static str> {
        let matches = |pattern: &String| matches(pattern, relation);
        if self.exclude.iter().any(matches) {
            return Some("left out by --exclude");
        }
        if !self.include.is_empty() && !self.include.iter().any(matches) {
            return Some("not among --include");
        }
        None
    }

    /// The depth and each pattern checked against the database's tables.
    fn check(&self, catalogue: &Catalogue) -> Result<(), DraftError> {
        if !(1..=MAX_DEPTH).contains(&self.depth) {
            return Err(DraftError::Depth(self.depth));
        }
        let flags = [("include", &self.include), ("exclude", &self.exclude)];
        for (flag, patterns) in flags {
            for pattern in patterns {
                if !catalogue.names.iter().any(|name| matches(pattern, name)) {
                    let pattern = pattern.clone();
                    return Err(DraftError::NoMatch { flag, pattern });
                }
            }
        }
        Ok(())
    }
}

/// `schema.table` names one table, `schema.*` every table of a schema.
fn matches(pattern: &str, relation: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(schema) => relation
            .strip_prefix(schema)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == relation,
    }
}

/// A table as a declaration needs it: its key and its columns in the table's order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableInfo {
    pub relation: String,
    pub key: String,
    pub key_type: &'static str,
    pub columns: Vec<(String, ColumnType)>,
}

impl TableInfo {
    /// The part after the schema: `film_work` of `content.film_work`.
    pub fn short(&self) -> &str {
        self.relation
            .rsplit_once('.')
            .map_or(self.relation.as_str(), |(_, t)| t)
    }
}

/// A second hop: a listed table's `column` holds `table`'s key, a `one:` object in each item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hop {
    pub column: String,
    pub table: TableInfo,
}

/// How a table one foreign key away reaches the root.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Relation {
    /// The root's `column` holds `table`'s key: an object.
    Parent { column: String, table: TableInfo },
    /// `table.column` holds the root's key: a list.
    Child {
        table: TableInfo,
        column: String,
        hops: Vec<Hop>,
    },
    /// A link table with two foreign keys and little else: a list of the other side.
    Through {
        link: TableInfo,
        root_column: String,
        table: TableInfo,
        list_column: String,
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

/// Columns besides the key and the two foreign keys a link table may have (a role, a
/// timestamp): more, and it is a table of its own, listed as a child.
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

fn what(fk: &ForeignKey) -> String {
    format!(
        "{}.{} → {}.{}",
        fk.from, fk.from_column, fk.to, fk.to_column
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
    if fk.to_column != root.key {
        return Err(format!("{what}: not the root's key, not followed"));
    }
    child(catalogue, root, fk, follow).map_err(|why| format!("{what}: {why}"))
}

/// The root's `fk.from_column` holds `fk.to`'s key: an object.
fn parent(catalogue: &Catalogue, fk: &ForeignKey, follow: &Follow) -> Result<Relation, String> {
    if let Some(why) = follow.refuses(&fk.to) {
        return Err(format!("{} {why}", fk.to));
    }
    let table = table(catalogue, &fk.to).map_err(|err| err.to_string())?;
    if fk.to_column != table.key {
        return Err(format!("not {}'s key, not followed", fk.to));
    }
    Ok(Relation::Parent {
        column: fk.from_column.clone(),
        table,
    })
}

/// `fk.from` holds the root's key: a through list when it is a link table, else a list.
fn child(
    catalogue: &Catalogue,
    root: &TableInfo,
    fk: &ForeignKey,
    follow: &Follow,
) -> Result<Relation, String> {
    if follow
        .exclude
        .iter()
        .any(|pattern| matches(pattern, &fk.from))
    {
        return Err(format!("{} left out by --exclude", fk.from));
    }
    let table = table(catalogue, &fk.from).map_err(|err| err.to_string())?;
    if let Some(through) = through(catalogue, root, fk, &table, follow)? {
        return Ok(through);
    }
    if let Some(why) = follow.refuses(&fk.from) {
        return Err(format!("{} {why}", fk.from));
    }
    Ok(Relation::Child {
        table,
        column: fk.from_column.clone(),
        hops: Vec::new(),
    })
}

/// A link table (two foreign keys, the root and another table's key, and little else) as a
/// list of the other side; `None` when `link` is not one.
fn through(
    catalogue: &Catalogue,
    root: &TableInfo,
    fk: &ForeignKey,
    link: &TableInfo,
    follow: &Follow,
) -> Result<Option<Relation>, String> {
    let link_fks: Vec<&ForeignKey> = catalogue
        .foreign_keys
        .iter()
        .filter(|f| f.from == link.relation)
        .collect();
    let others: Vec<&&ForeignKey> = link_fks.iter().filter(|f| f.to != root.relation).collect();
    let extra = link.columns.len().saturating_sub(1 + link_fks.len());
    let ([other], 2, true) = (
        others.as_slice(),
        link_fks.len(),
        extra <= LINK_EXTRA_COLUMNS,
    ) else {
        return Ok(None);
    };
    let list = match table(catalogue, &other.to) {
        Ok(list) if list.key == other.to_column => list,
        _ => return Ok(None),
    };
    if let Some(why) = follow.refuses(&list.relation) {
        return Err(format!(
            "{} {why}: no through list via {}",
            list.relation, link.relation
        ));
    }
    Ok(Some(Relation::Through {
        root_column: fk.from_column.clone(),
        list_column: other.from_column.clone(),
        link: link.clone(),
        table: list,
        hops: Vec::new(),
    }))
}

/// `--depth 2`: each table a listed table refs (not the root, not the link) as a `one:`
/// object in the list's items; a parent's own parents cannot be declared, and say so.
fn second_hops(
    catalogue: &Catalogue,
    root: &TableInfo,
    relation: &mut Relation,
    follow: &Follow,
    skipped: &mut Vec<String>,
) {
    let (list, link, hops) = match relation {
        Relation::Child { table, hops, .. } => (&*table, None, hops),
        Relation::Through {
            table, link, hops, ..
        } => (&*table, Some(link.relation.as_str()), hops),
        Relation::Parent { table, .. } => {
            for fk in catalogue
                .foreign_keys
                .iter()
                .filter(|f| f.from == table.relation)
            {
                let why = "a `one:` object inside a `one:` object cannot be declared, not followed";
                skipped.push(format!("{}: {why}", what(fk)));
            }
            return;
        }
    };
    for fk in catalogue
        .foreign_keys
        .iter()
        .filter(|f| f.from == list.relation)
    {
        if fk.to == root.relation || Some(fk.to.as_str()) == link {
            continue;
        }
        let what = what(fk);
        if fk.to == list.relation {
            skipped.push(format!("{what}: refers to its own table, not followed"));
        } else if let Some(why) = follow.refuses(&fk.to) {
            skipped.push(format!("{what}: {} {why}", fk.to));
        } else {
            match table(catalogue, &fk.to) {
                Ok(table) if table.key == fk.to_column => hops.push(Hop {
                    column: fk.from_column.clone(),
                    table,
                }),
                Ok(_) => skipped.push(format!("{what}: not {}'s key, not followed", fk.to)),
                Err(err) => skipped.push(format!("{what}: {err}")),
            }
        }
    }
}

/// A table's key and columns from the catalogue, or why it cannot be declared.
fn table(catalogue: &Catalogue, relation: &str) -> Result<TableInfo, DraftError> {
    let rows = catalogue.tables.get(relation).cloned().unwrap_or_default();
    let relation = relation.to_owned();
    let key = rows.key;
    match key.as_slice() {
        _ if !rows.found => Err(DraftError::Missing(relation)),
        [] => Err(DraftError::NoKey(relation)),
        [key] => {
            let ty = rows
                .columns
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, ty)| ty);
            match (ty, ty.and_then(ColumnType::key_type)) {
                (_, Some(key_type)) => Ok(TableInfo {
                    key: key.clone(),
                    key_type,
                    columns: rows.columns,
                    relation,
                }),
                (ty, None) => Err(DraftError::KeyType {
                    column: key.clone(),
                    sql_type: ty.map(|t| t.sql_type.clone()).unwrap_or_default(),
                    relation,
                }),
            }
        }
        columns => Err(DraftError::Composite {
            relation,
            columns: columns.join(", "),
        }),
    }
}

#[cfg(test)]
#[path = "draft_tests.rs"]
mod tests;

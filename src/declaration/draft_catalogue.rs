//! What `pg2es init` reads from the catalogue (extract): the tables a draft may follow and their
//! foreign keys, as rows. [`super::draft::plan`] decides what to follow from these rows alone.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::PgPool;

use super::draft_model::{DraftError, TableInfo};
use super::schema::ColumnType;

/// A table's rows in the catalogue: whether it exists, its primary key's columns, its columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct TableRows {
    pub found: bool,
    pub key: Vec<String>,
    pub columns: Vec<(String, ColumnType)>,
}

/// A foreign key of one column or several: `from.from_columns` hold `to.to_columns`, pairwise
/// in the constraint's order (not necessarily the order of `to`'s key).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ForeignKey {
    pub from: String,
    pub from_columns: Vec<String>,
    pub to: String,
    pub to_columns: Vec<String>,
}

impl ForeignKey {
    /// The columns of `from` that hold `key` (a table's key), in the key's order, as a ref
    /// names them; `None` when the foreign key references other columns than exactly the key.
    pub fn holding(&self, key: &[String]) -> Option<Vec<String>> {
        if self.to_columns.len() != key.len() {
            return None;
        }
        let mut columns = Vec::with_capacity(key.len());
        for part in key {
            let at = self.to_columns.iter().position(|c| c == part)?;
            columns.push(self.from_columns[at].clone());
        }
        Some(columns)
    }
}

/// The root, the tables one foreign key away, and the tables those reference (a through list's
/// other side, a second hop), with every foreign key from or to the root and its neighbours.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Catalogue {
    /// Every table of the database, for --include and --exclude.
    pub names: BTreeSet<String>,
    pub tables: BTreeMap<String, TableRows>,
    pub foreign_keys: BTreeSet<ForeignKey>,
}

impl Catalogue {
    /// The foreign keys from or to `relation`.
    pub fn touching<'a>(&'a self, relation: &'a str) -> impl Iterator<Item = &'a ForeignKey> {
        self.foreign_keys
            .iter()
            .filter(move |fk| fk.from == relation || fk.to == relation)
    }
}

/// Reads what a draft of `root` may follow: the foreign keys around it, as far as a
/// declaration nests.
pub(crate) async fn read(pool: &PgPool, root: &str) -> Result<Catalogue, DraftError> {
    let mut catalogue = Catalogue::default();
    let names: Vec<(String,)> = sqlx::query_as(include_str!("sql/draft_tables.sql"))
        .fetch_all(pool)
        .await
        .map_err(failed(root))?;
    catalogue.names = names.into_iter().map(|(name,)| name).collect();
    // The root's neighbours both ways; past them only the tables referenced: a link table's
    // other side, the tables a listed table refs (second hops), and those of the other side.
    let mut ring = BTreeSet::from([root.to_owned()]);
    for both_ways in [true, false, false] {
        ring = around(pool, &mut catalogue, &ring, both_ways).await?;
    }
    for table in ring {
        add_table(pool, &mut catalogue, &table).await?;
    }
    Ok(catalogue)
}

/// Reads `tables` and their foreign keys; returns the tables not read yet that those reach
/// (the tables `tables` reference, and with `both_ways` those that reference them).
async fn around(
    pool: &PgPool,
    catalogue: &mut Catalogue,
    tables: &BTreeSet<String>,
    both_ways: bool,
) -> Result<BTreeSet<String>, DraftError> {
    let mut reached = BTreeSet::new();
    for table in tables {
        add_table(pool, catalogue, table).await?;
        for fk in add_foreign_keys(pool, catalogue, table).await? {
            match fk.from == *table {
                true => reached.insert(fk.to),
                false if both_ways => reached.insert(fk.from),
                false => false,
            };
        }
    }
    reached.retain(|table| !catalogue.tables.contains_key(table));
    Ok(reached)
}

fn failed(relation: &str) -> impl Fn(sqlx::Error) -> DraftError + '_ {
    move |source| DraftError::Query {
        relation: relation.to_owned(),
        source,
    }
}

async fn add_table(
    pool: &PgPool,
    catalogue: &mut Catalogue,
    relation: &str,
) -> Result<(), DraftError> {
    if catalogue.tables.contains_key(relation) {
        return Ok(());
    }
    let (found, key): (bool, Vec<String>) =
        sqlx::query_as(include_str!("sql/draft_primary_key.sql"))
            .bind(relation)
            .fetch_one(pool)
            .await
            .map_err(failed(relation))?;
    let rows: Vec<(String, String, String, String, bool)> =
        sqlx::query_as(include_str!("sql/columns.sql"))
            .bind(relation)
            .fetch_all(pool)
            .await
            .map_err(failed(relation))?;
    let columns = rows
        .into_iter()
        .map(|(name, type_name, type_kind, sql_type, not_null)| {
            let ty = ColumnType {
                type_name,
                type_kind,
                sql_type,
                not_null,
            };
            (name, ty)
        })
        .collect();
    let rows = TableRows {
        found,
        key,
        columns,
    };
    catalogue.tables.insert(relation.to_owned(), rows);
    Ok(())
}

/// Adds the foreign keys from or to `relation`, and returns them.
async fn add_foreign_keys(
    pool: &PgPool,
    catalogue: &mut Catalogue,
    relation: &str,
) -> Result<Vec<ForeignKey>, DraftError> {
    let rows: Vec<(String, Vec<String>, String, Vec<String>)> =
        sqlx::query_as(include_str!("sql/draft_foreign_keys.sql"))
            .bind(relation)
            .fetch_all(pool)
            .await
            .map_err(failed(relation))?;
    let found: Vec<ForeignKey> = rows
        .into_iter()
        .map(|(from, from_columns, to, to_columns)| ForeignKey {
            from,
            from_columns,
            to,
            to_columns,
        })
        .collect();
    catalogue.foreign_keys.extend(found.iter().cloned());
    Ok(found)
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

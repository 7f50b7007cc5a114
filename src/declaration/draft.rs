//! `pg2es init`: what the catalogue says about a root table and the tables one foreign key away,
//! as the relations a declaration can follow. [`super::draft_text`] writes it as YAML.

use sqlx::PgPool;

pub(crate) use super::draft_text::render;
use super::schema::ColumnType;

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
    #[error("--depth {0}: only --depth 1 (the tables one foreign key away) is drafted for now")]
    Depth(u32),
    #[error("cannot read the catalogue for {relation}")]
    Query {
        relation: String,
        #[source]
        source: sqlx::Error,
    },
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

/// How a table one foreign key away reaches the root.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Relation {
    /// The root's `column` holds `table`'s key: an object.
    Parent { column: String, table: TableInfo },
    /// `table.column` holds the root's key: a list.
    Child { table: TableInfo, column: String },
    /// A link table with two foreign keys and little else: a list of the other side.
    Through {
        link: TableInfo,
        root_column: String,
        table: TableInfo,
        list_column: String,
    },
}

/// The root and what one hop of foreign keys reaches, with what was left out and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    pub root: TableInfo,
    pub relations: Vec<Relation>,
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct ForeignKey {
    from: String,
    from_column: String,
    to: String,
    to_column: String,
}

/// Columns besides the key and the two foreign keys a link table may have (a role, a
/// timestamp): more, and it is a table of its own, listed as a child.
const LINK_EXTRA_COLUMNS: usize = 2;

/// Reads the root and its relations from the catalogue.
pub(crate) async fn read(pool: &PgPool, root: &str, depth: u32) -> Result<Draft, DraftError> {
    if depth != 1 {
        return Err(DraftError::Depth(depth));
    }
    if !root.contains('.') {
        return Err(DraftError::NotQualified(root.to_owned()));
    }
    let root = table(pool, root).await?;
    let mut draft = Draft {
        root,
        relations: Vec::new(),
        skipped: Vec::new(),
    };
    for fk in foreign_keys(pool, &draft.root.relation).await? {
        let relation = relation(pool, &draft.root, &fk).await;
        match relation {
            Ok(relation) => draft.relations.push(relation),
            Err(why) => draft.skipped.push(why),
        }
    }
    Ok(draft)
}

/// One foreign key from or to the root as a relation, or why it is not followed.
async fn relation(pool: &PgPool, root: &TableInfo, fk: &ForeignKey) -> Result<Relation, String> {
    let what = format!(
        "{}.{} → {}.{}",
        fk.from, fk.from_column, fk.to, fk.to_column
    );
    if fk.from == fk.to {
        return Err(format!("{what}: refers to its own table, not followed"));
    }
    let other = if fk.from == root.relation {
        &fk.to
    } else {
        &fk.from
    };
    let table = table(pool, other)
        .await
        .map_err(|err| format!("{what}: {err}"))?;
    if fk.from == root.relation {
        if fk.to_column != table.key {
            return Err(format!("{what}: not {}'s key, not followed", fk.to));
        }
        return Ok(Relation::Parent {
            column: fk.from_column.clone(),
            table,
        });
    }
    if fk.to_column != root.key {
        return Err(format!("{what}: not the root's key, not followed"));
    }
    let child_fks: Vec<ForeignKey> = foreign_keys(pool, &table.relation)
        .await
        .map_err(|err| format!("{what}: {err}"))?
        .into_iter()
        .filter(|f| f.from == table.relation)
        .collect();
    let others: Vec<&ForeignKey> = child_fks.iter().filter(|f| f.to != root.relation).collect();
    let extra = table.columns.len().saturating_sub(1 + child_fks.len());
    if let ([other], 2, true) = (
        others.as_slice(),
        child_fks.len(),
        extra <= LINK_EXTRA_COLUMNS,
    ) {
        if let Ok(list) = self::table(pool, &other.to).await {
            if list.key == other.to_column {
                return Ok(Relation::Through {
                    root_column: fk.from_column.clone(),
                    list_column: other.from_column.clone(),
                    link: table,
                    table: list,
                });
            }
        }
    }
    Ok(Relation::Child {
        table,
        column: fk.from_column.clone(),
    })
}

/// A table's key and columns, or why it cannot be declared.
async fn table(pool: &PgPool, relation: &str) -> Result<TableInfo, DraftError> {
    let failed = |source| DraftError::Query {
        relation: relation.to_owned(),
        source,
    };
    let (found, key): (bool, Vec<String>) =
        sqlx::query_as(include_str!("sql/draft_primary_key.sql"))
            .bind(relation)
            .fetch_one(pool)
            .await
            .map_err(failed)?;
    let rows: Vec<(String, String, String, String, bool)> =
        sqlx::query_as(include_str!("sql/columns.sql"))
            .bind(relation)
            .fetch_all(pool)
            .await
            .map_err(failed)?;
    let columns: Vec<(String, ColumnType)> = rows
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
    keyed(relation, found, key, columns)
}

fn keyed(
    relation: &str,
    found: bool,
    key: Vec<String>,
    columns: Vec<(String, ColumnType)>,
) -> Result<TableInfo, DraftError> {
    let relation = relation.to_owned();
    match key.as_slice() {
        _ if !found => Err(DraftError::Missing(relation)),
        [] => Err(DraftError::NoKey(relation)),
        [key] => {
            let ty = columns
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, ty)| ty);
            let key_type = ty.and_then(ColumnType::key_type);
            match (ty, key_type) {
                (_, Some(key_type)) => Ok(TableInfo {
                    key: key.clone(),
                    key_type,
                    columns,
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

async fn foreign_keys(pool: &PgPool, relation: &str) -> Result<Vec<ForeignKey>, DraftError> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as(include_str!("sql/draft_foreign_keys.sql"))
            .bind(relation)
            .fetch_all(pool)
            .await
            .map_err(|source| DraftError::Query {
                relation: relation.to_owned(),
                source,
            })?;
    Ok(rows
        .into_iter()
        .map(|(from, from_column, to, to_column)| ForeignKey {
            from,
            from_column,
            to,
            to_column,
        })
        .collect())
}

//! Keys are what the database says they are. A declared key must name one row: its columns
//! are covered by the primary key or a unique index on no other column, and they are NOT NULL.
//! A key that repeats (one column of a composite-key link table) would make one document of
//! several rows, and the state file's went-back test, which looks a row up by its key, would
//! judge a sibling row and rebuild the indexes for nothing.
//!
//! [`judge`] decides from catalogue rows alone; [`read`] asks Postgres for them.

use std::collections::BTreeMap;

use sqlx::PgPool;

use super::model::Model;
use super::schema::{Catalog, ColumnType, SchemaError};
use super::{Declaration, Problem};

/// A unique index of a table (its primary key among them), as the catalogue has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UniqueIndex {
    pub name: String,
    /// Has a `WHERE`: rows outside it may repeat a value.
    pub partial: bool,
    /// Indexes an expression (`lower(code)`): the column's own values may repeat.
    pub on_expressions: bool,
    /// False after a `CREATE INDEX CONCURRENTLY` that failed, or for a partitioned index that
    /// some partition lacks.
    pub valid: bool,
    /// Its key columns in order (not its `INCLUDE` columns).
    pub columns: Vec<String>,
}

impl UniqueIndex {
    /// Why this index does not make `key` unique; `None` when it does.
    fn falls_short(&self, key: &[&str]) -> Option<String> {
        let name = &self.name;
        if self.partial {
            return Some(format!("{name} is partial"));
        }
        if self.on_expressions {
            return Some(format!("{name} is on an expression"));
        }
        if !self.valid {
            return Some(format!("{name} is not valid"));
        }
        let beyond: Vec<&str> = self
            .columns
            .iter()
            .map(String::as_str)
            .filter(|column| !key.contains(column))
            .collect();
        match beyond.is_empty() {
            true => None,
            false => Some(format!("{name} also holds {}", beyond.join(", "))),
        }
    }

    /// Whether it is worth naming when it falls short: it is on a key column, or on an
    /// expression (which may be on one).
    fn is_near(&self, key: &[&str]) -> bool {
        self.on_expressions || self.columns.iter().any(|c| key.contains(&c.as_str()))
    }
}

/// The unique indexes of every declared table, by relation.
pub(crate) type UniqueIndexes = BTreeMap<String, Vec<UniqueIndex>>;

type Row = (String, bool, bool, bool, Vec<String>);

pub(crate) async fn read(pool: &PgPool, model: &Model) -> Result<UniqueIndexes, SchemaError> {
    let mut indexes = UniqueIndexes::new();
    for table in &model.tables {
        let rows: Vec<Row> = sqlx::query_as(include_str!("sql/unique_indexes.sql"))
            .bind(&table.relation)
            .fetch_all(pool)
            .await
            .map_err(|source| SchemaError::Indexes {
                relation: table.relation.clone(),
                source,
            })?;
        let table_indexes = rows
            .into_iter()
            .map(
                |(name, partial, on_expressions, valid, columns)| UniqueIndex {
                    name,
                    partial,
                    on_expressions,
                    valid,
                    columns,
                },
            )
            .collect();
        indexes.insert(table.relation.clone(), table_indexes);
    }
    Ok(indexes)
}

/// Every table's declared key against the catalogue (after [`super::schema::check`]: the
/// tables and key columns exist).
pub(crate) fn check(
    declaration: &Declaration,
    catalog: &Catalog,
    indexes: &UniqueIndexes,
) -> Result<(), SchemaError> {
    for table in &declaration.model.tables {
        let key: Vec<&str> = table.key.iter().map(String::as_str).collect();
        let columns = &catalog[&table.relation];
        let table_indexes = indexes.get(&table.relation).map_or(&[][..], Vec::as_slice);
        if let Err(message) = judge(&table.relation, &key, columns, table_indexes) {
            let problem = Problem::at_line(
                &format!("tables.{}.key", table.relation),
                table.key_line,
                message,
            );
            return Err(SchemaError::Mismatch {
                path: declaration.path.clone(),
                problem,
            });
        }
    }
    Ok(())
}

/// Whether the `key` columns name one row of `relation`; if not, what is wrong and what to do.
pub(crate) fn judge(
    relation: &str,
    key: &[&str],
    columns: &BTreeMap<String, ColumnType>,
    indexes: &[UniqueIndex],
) -> Result<(), String> {
    if !indexes.iter().any(|index| index.falls_short(key).is_none()) {
        return Err(not_unique(relation, key, indexes));
    }
    let nullable: Vec<&str> = key
        .iter()
        .copied()
        .filter(|column| !columns.get(*column).is_some_and(|c| c.not_null))
        .collect();
    if nullable.is_empty() {
        return Ok(());
    }
    let fixes: Vec<String> = nullable
        .iter()
        .map(|column| format!("ALTER TABLE {relation} ALTER COLUMN {column} SET NOT NULL"))
        .collect();
    Err(format!(
        "{} may be NULL, and a key must not be: {}",
        named(relation, &nullable),
        fixes.join("; ")
    ))
}

fn not_unique(relation: &str, key: &[&str], indexes: &[UniqueIndex]) -> String {
    let near: Vec<String> = indexes
        .iter()
        .filter(|index| index.is_near(key))
        .filter_map(|index| index.falls_short(key))
        .collect();
    let near = match near.is_empty() {
        true => String::new(),
        false => format!(" ({})", near.join("; ")),
    };
    format!(
        "{} is not unique: no primary key or unique index is on {} alone{near}. \
         Declare a key column that has one (usually the primary key), or create one: \
         CREATE UNIQUE INDEX ON {relation} ({})",
        named(relation, key),
        match key.len() {
            1 => "it",
            _ => "these columns",
        },
        key.join(", ")
    )
}

/// `lib.copy.id` for one column, `lib.loan (book_id, reader_id)` for several.
fn named(relation: &str, columns: &[&str]) -> String {
    match columns {
        [column] => format!("{relation}.{column}"),
        _ => format!("{relation} ({})", columns.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn index(name: &str, columns: &[&str]) -> UniqueIndex {
        UniqueIndex {
            name: name.into(),
            partial: false,
            on_expressions: false,
            valid: true,
            columns: columns.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn columns(not_null: &[(&str, bool)]) -> BTreeMap<String, ColumnType> {
        not_null
            .iter()
            .map(|(name, not_null)| {
                let column = ColumnType {
                    type_name: "int8".into(),
                    type_kind: "b".into(),
                    sql_type: "bigint".into(),
                    not_null: *not_null,
                };
                (name.to_string(), column)
            })
            .collect()
    }

    /// A link table keyed by (book_id, reader_id), with a nullable code.
    fn loan() -> BTreeMap<String, ColumnType> {
        columns(&[("book_id", true), ("reader_id", true), ("code", false)])
    }

    #[test]
    fn a_primary_key_or_a_unique_index_on_the_key_alone_makes_it_unique() {
        let pkey = [index("lib.loan_pkey", &["book_id"])];
        assert_eq!(judge("lib.loan", &["book_id"], &loan(), &pkey), Ok(()));
        let unique = [index("lib.loan_reader", &["reader_id"])];
        assert_eq!(judge("lib.loan", &["reader_id"], &loan(), &unique), Ok(()));
    }

    #[test]
    fn a_key_with_no_unique_index_is_refused_with_the_index_to_create() {
        let message = judge("lib.loan", &["book_id"], &loan(), &[]).unwrap_err();
        assert!(
            message.starts_with("lib.loan.book_id is not unique"),
            "{message}"
        );
        assert!(
            message.ends_with("CREATE UNIQUE INDEX ON lib.loan (book_id)"),
            "{message}"
        );
    }

    #[test]
    fn one_column_of_a_composite_primary_key_is_not_unique() {
        let pkey = [index("lib.loan_pkey", &["book_id", "reader_id"])];
        let message = judge("lib.loan", &["book_id"], &loan(), &pkey).unwrap_err();
        assert!(
            message.contains("(lib.loan_pkey also holds reader_id)"),
            "{message}"
        );
    }

    #[test]
    fn a_key_listing_every_column_of_a_unique_index_fits_it() {
        let pkey = [index("lib.loan_pkey", &["book_id", "reader_id"])];
        let key = ["book_id", "reader_id"];
        assert_eq!(judge("lib.loan", &key, &loan(), &pkey), Ok(()));
        let unique = [index("lib.loan_book", &["book_id"])];
        assert_eq!(judge("lib.loan", &key, &loan(), &unique), Ok(()));
        let message = judge("lib.loan", &key, &loan(), &[]).unwrap_err();
        assert!(
            message.starts_with("lib.loan (book_id, reader_id) is not unique"),
            "{message}"
        );
        assert!(message.contains("on these columns alone"), "{message}");
    }

    #[test]
    fn partial_expression_and_invalid_indexes_do_not_count() {
        let mut partial = index("lib.loan_partial", &["reader_id"]);
        partial.partial = true;
        let mut expression = index("lib.loan_lower", &[]);
        expression.on_expressions = true;
        let mut invalid = index("lib.loan_invalid", &["reader_id"]);
        invalid.valid = false;
        let unrelated = index("lib.loan_code", &["code"]);
        let indexes = [partial, expression, invalid, unrelated];
        let message = judge("lib.loan", &["reader_id"], &loan(), &indexes).unwrap_err();
        assert!(
            message.contains(
                "(lib.loan_partial is partial; lib.loan_lower is on an expression; \
                 lib.loan_invalid is not valid)"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_unique_key_that_may_be_null_is_refused_with_the_alter_table() {
        let unique = [index("lib.loan_code", &["code"])];
        let message = judge("lib.loan", &["code"], &loan(), &unique).unwrap_err();
        assert_eq!(
            message,
            "lib.loan.code may be NULL, and a key must not be: \
             ALTER TABLE lib.loan ALTER COLUMN code SET NOT NULL"
        );
    }

    #[test]
    fn the_error_names_the_file_the_key_and_the_line_of_the_key() {
        let text = include_str!("../../tests/shop/orders.yaml");
        let declaration = Declaration::parse("orders", Path::new("orders.yaml"), text).unwrap();
        let mut catalog = Catalog::new();
        let mut indexes = UniqueIndexes::new();
        for table in &declaration.model.tables {
            catalog.insert(table.relation.clone(), columns(&[("id", true)]));
            let pkey = index(&format!("{}_pkey", table.relation), &["id"]);
            indexes.insert(table.relation.clone(), vec![pkey]);
        }
        check(&declaration, &catalog, &indexes).unwrap();
        indexes.insert("shop.order_line".into(), Vec::new());
        let message = check(&declaration, &catalog, &indexes)
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("pipeline file orders.yaml: tables.shop.order_line.key, line 14: shop.order_line.id is not unique"),
            "{message}"
        );
    }
}

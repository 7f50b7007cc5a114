//! The declaration against the database: every table and column exists, keys and cursors have
//! a type the engine can hold. What it finds (each column's type) is what [`super::compile`]
//! needs to write the SQL and decode the rows.

use std::collections::BTreeMap;

use sqlx::PgPool;

use super::model::{Field, Join, Model};
use super::{Declaration, Problem};

/// Why the database cannot serve a declaration.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read the columns of {relation}")]
    Query {
        relation: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot read the unique indexes of {relation}")]
    Indexes {
        relation: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("pipeline file {}: cannot plan query.sql to find the tables it reads", .path.display())]
    Reads {
        path: std::path::PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("pipeline file {}: {problem} (checked against the database)", .path.display())]
    Mismatch {
        path: std::path::PathBuf,
        problem: Problem,
    },
}

/// How a column's value is read and written into a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Uuid,
    Int,
    Float4,
    Float8,
    /// `numeric` and `money`, as Postgres's text: every digit.
    Numeric,
    Bool,
    Timestamptz,
    Timestamp,
    Date,
    /// An array of numbers (`numeric`, `money`, floating types), as `to_jsonb` writes it.
    Numbers,
    /// Anything else, as Postgres writes it in JSON (`to_jsonb`).
    Json,
}

/// A column's type as the catalog has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnType {
    pub type_name: String,
    /// `e` for an enum.
    pub type_kind: String,
    /// The SQL name, e.g. `uuid`, `bigint`, `character varying(255)`.
    pub sql_type: String,
    /// `NOT NULL` (a primary key's columns are).
    pub not_null: bool,
}

impl ColumnType {
    pub fn kind(&self) -> Kind {
        match self.type_name.as_str() {
            "text" | "varchar" | "bpchar" | "name" | "citext" => Kind::Text,
            _ if self.type_kind == "e" => Kind::Text,
            "uuid" => Kind::Uuid,
            "int2" | "int4" | "int8" => Kind::Int,
            "float4" => Kind::Float4,
            "float8" => Kind::Float8,
            "numeric" | "money" => Kind::Numeric,
            "bool" => Kind::Bool,
            "timestamptz" => Kind::Timestamptz,
            "timestamp" => Kind::Timestamp,
            "date" => Kind::Date,
            "bytea" => Kind::Text,
            "_numeric" | "_money" | "_float4" | "_float8" => Kind::Numbers,
            _ => Kind::Json,
        }
    }

    /// The type a key of this column is cast to in SQL.
    pub fn key_type(&self) -> Option<&'static str> {
        match self.type_name.as_str() {
            "uuid" => Some("uuid"),
            "int2" => Some("smallint"),
            "int4" => Some("integer"),
            "int8" => Some("bigint"),
            "text" | "varchar" | "bpchar" => Some("text"),
            _ => None,
        }
    }
}

#[cfg(test)]
impl ColumnType {
    /// A `NOT NULL` column of a base type, for tests fed literal catalogues.
    pub(crate) fn not_null(type_name: &str, sql_type: &str) -> Self {
        Self {
            type_name: type_name.into(),
            type_kind: "b".into(),
            sql_type: sql_type.into(),
            not_null: true,
        }
    }
}

/// The columns of every declared table, by relation and column name.
pub(crate) type Catalog = BTreeMap<String, BTreeMap<String, ColumnType>>;

pub(crate) async fn read_catalog(pool: &PgPool, model: &Model) -> Result<Catalog, SchemaError> {
    let mut catalog = Catalog::new();
    for table in &model.tables {
        let rows: Vec<(String, String, String, String, bool)> =
            sqlx::query_as(include_str!("sql/columns.sql"))
                .bind(&table.relation)
                .fetch_all(pool)
                .await
                .map_err(|source| SchemaError::Query {
                    relation: table.relation.clone(),
                    source,
                })?;
        let columns = rows
            .into_iter()
            .map(|(name, type_name, type_kind, sql_type, not_null)| {
                let column = ColumnType {
                    type_name,
                    type_kind,
                    sql_type,
                    not_null,
                };
                (name, column)
            })
            .collect();
        catalog.insert(table.relation.clone(), columns);
    }
    Ok(catalog)
}

/// Every table, column and type the declaration uses, against the catalog.
pub(crate) fn check(declaration: &Declaration, catalog: &Catalog) -> Result<(), SchemaError> {
    check_model(&declaration.model, catalog).map_err(|problem| SchemaError::Mismatch {
        path: declaration.path.clone(),
        problem,
    })
}

fn check_model(model: &Model, catalog: &Catalog) -> Result<(), Problem> {
    for table in &model.tables {
        let key = format!("tables.{}", table.relation);
        let columns = &catalog[&table.relation];
        if columns.is_empty() {
            return Err(Problem::at_line(
                &key,
                table.line,
                format!("table {} does not exist", table.relation),
            ));
        }
        let column = |name: &str, what: &str| {
            columns.get(name).ok_or_else(|| {
                Problem::at_line(
                    &format!("{key}.{what}"),
                    table.line,
                    format!("{} has no column {name}", table.relation),
                )
            })
        };
        for part in &table.key {
            let key_column = column(part, "key")?;
            let Some(key_type) = key_column.key_type() else {
                return Err(Problem::at_line(
                    &format!("{key}.key"),
                    table.line,
                    format!(
                        "{}.{part} is of type {}: keys can be uuid, smallint, integer, bigint or text",
                        table.relation, key_column.sql_type
                    ),
                ));
            };
            let declared = table.key_type.as_ref().filter(|_| table.key.len() == 1);
            if let Some(declared) = declared {
                if normalize(declared) != key_type {
                    return Err(Problem::at_line(
                        &format!("{key}.key_type"),
                        table.line,
                        format!(
                            "declared {declared}, but {}.{part} is {}",
                            table.relation, key_column.sql_type
                        ),
                    ));
                }
            }
        }
        if let Some(changed_by) = &table.changed_by {
            let changed = column(changed_by, "changed_by")?;
            match (changed.type_name.as_str(), &table.zone) {
                ("timestamptz" | "int2" | "int4" | "int8", None) => {}
                ("timestamp", Some(_)) => {}
                ("timestamp", None) => {
                    return Err(Problem::at_line(
                        &format!("{key}.zone"),
                        table.line,
                        format!("{}.{changed_by} is a timestamp without time zone: declare the zone its values are in (zone: UTC)", table.relation),
                    ))
                }
                (_, Some(_)) => {
                    return Err(Problem::at_line(
                        &format!("{key}.zone"),
                        table.line,
                        format!("{}.{changed_by} is {}: a zone is only for a timestamp without time zone", table.relation, changed.sql_type),
                    ))
                }
                _ => {
                    return Err(Problem::at_line(
                        &format!("{key}.changed_by"),
                        table.line,
                        format!("{}.{changed_by} is {}: changed_by must be a timestamptz, a timestamp or an increasing integer", table.relation, changed.sql_type),
                    ))
                }
            }
        }
        for reference in &table.refs {
            for ref_column in &reference.columns {
                column(
                    ref_column,
                    &format!("refs.{}", reference.columns.join(", ")),
                )?;
            }
        }
    }
    for field in &model.fields {
        check_field(model, catalog, field)?;
    }
    Ok(())
}

fn check_field(model: &Model, catalog: &Catalog, field: &Field) -> Result<(), Problem> {
    let has = |table: usize, column: &str, key: &str, line: u64| {
        let relation = &model.tables[table].relation;
        match catalog[relation].contains_key(column) {
            true => Ok(()),
            false => Err(Problem::at_line(
                key,
                line,
                format!("{relation} has no column {column}"),
            )),
        }
    };
    match field {
        Field::Column(column) => has(
            model.root,
            &column.column,
            &format!("document.{}", column.name),
            column.line,
        ),
        Field::Names { .. } => Ok(()),
        Field::List(list) => {
            let key = format!("document.{}", list.name);
            for column in list.fields.iter().chain(&list.collect) {
                let key = format!("{key}.{}", column.name);
                let table = match column.link {
                    true => list.join.filtered(),
                    false => list.join.table(),
                };
                has(table, &column.column, &key, column.line)?;
            }
            for condition in &list.filter {
                let key = format!("{key}.where.{}", condition.column);
                has(list.join.filtered(), &condition.column, &key, list.line)?;
            }
            for hop in &list.hops {
                for column in &hop.fields {
                    let key = format!("{key}.fields.{}.fields.{}", hop.name, column.name);
                    has(hop.table, &column.column, &key, column.line)?;
                }
            }
            for inner in &list.nested {
                for column in &inner.fields {
                    let key = format!("{key}.fields.{}.fields.{}", inner.name, column.name);
                    has(inner.table, &column.column, &key, column.line)?;
                }
            }
            if let Join::Parent { root_column, .. } = &list.join {
                for column in root_column {
                    has(model.root, column, &key, list.line)?;
                }
            }
            Ok(())
        }
    }
}

/// The SQL name of a declared key type.
fn normalize(declared: &str) -> &'static str {
    match declared.trim().to_lowercase().as_str() {
        "int8" | "bigint" => "bigint",
        "int4" | "int" | "integer" => "integer",
        "int2" | "smallint" => "smallint",
        "varchar" | "text" | "character varying" => "text",
        "uuid" => "uuid",
        _ => "unsupported",
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const ORDERS: &str = include_str!("../../tests/shop/orders.yaml");

    fn column(type_name: &str, sql_type: &str) -> ColumnType {
        ColumnType::not_null(type_name, sql_type)
    }

    /// The shop schema's catalogue, as `read_catalog` returns it.
    fn shop() -> Catalog {
        let table = |columns: &[(&str, &str, &str)]| {
            columns
                .iter()
                .map(|(name, ty, sql)| (name.to_string(), column(ty, sql)))
                .collect::<BTreeMap<_, _>>()
        };
        let mut catalog = Catalog::new();
        catalog.insert(
            "shop.orders".into(),
            table(&[
                ("id", "int8", "bigint"),
                ("customer_id", "int8", "bigint"),
                ("status", "text", "text"),
                ("placed_at", "timestamptz", "timestamp with time zone"),
                ("updated_at", "timestamptz", "timestamp with time zone"),
            ]),
        );
        catalog.insert(
            "shop.customer".into(),
            table(&[
                ("id", "int8", "bigint"),
                ("name", "text", "text"),
                ("modified", "timestamp", "timestamp without time zone"),
            ]),
        );
        catalog.insert(
            "shop.product".into(),
            table(&[
                ("id", "int8", "bigint"),
                ("title", "text", "text"),
                ("price", "numeric", "numeric(10,2)"),
                ("version", "int8", "bigint"),
            ]),
        );
        catalog.insert(
            "shop.order_line".into(),
            table(&[
                ("id", "int8", "bigint"),
                ("order_id", "int8", "bigint"),
                ("product_id", "int8", "bigint"),
                ("quantity", "int4", "integer"),
                ("updated_at", "timestamptz", "timestamp with time zone"),
            ]),
        );
        catalog
    }

    fn checked(text: &str, catalog: &Catalog) -> Result<(), String> {
        let declaration = Declaration::parse("orders", Path::new("orders.yaml"), text).unwrap();
        check(&declaration, catalog).map_err(|err| err.to_string())
    }

    #[test]
    fn the_shop_declaration_fits_its_schema() {
        checked(ORDERS, &shop()).unwrap();
    }

    #[test]
    fn a_key_of_a_type_pg2es_cannot_hold_is_named_with_its_line() {
        let mut catalog = shop();
        catalog
            .get_mut("shop.customer")
            .unwrap()
            .insert("id".into(), column("jsonb", "jsonb"));
        let message = checked(ORDERS, &catalog).unwrap_err();
        assert!(message.contains("tables.shop.customer.key"), "{message}");
        assert!(message.contains("is of type jsonb"), "{message}");
        assert!(message.contains("line 11"), "{message}");
    }

    #[test]
    fn a_declared_key_type_that_differs_from_the_column_is_refused() {
        let text = ORDERS.replace("key_type: bigint", "key_type: uuid");
        let message = checked(&text, &shop()).unwrap_err();
        assert!(message.contains("tables.shop.orders.key_type"), "{message}");
        assert!(
            message.contains("declared uuid, but shop.orders.id is bigint"),
            "{message}"
        );
    }

    #[test]
    fn a_timestamp_without_zone_needs_its_zone_and_a_text_cursor_is_refused() {
        let text = ORDERS.replace(", zone: UTC", "");
        let message = checked(&text, &shop()).unwrap_err();
        assert!(message.contains("tables.shop.customer.zone"), "{message}");
        let mut catalog = shop();
        catalog
            .get_mut("shop.product")
            .unwrap()
            .insert("version".into(), column("text", "text"));
        let message = checked(ORDERS, &catalog).unwrap_err();
        assert!(
            message.contains("tables.shop.product.changed_by"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_column_of_a_list_is_named_with_its_line() {
        let mut catalog = shop();
        catalog.get_mut("shop.product").unwrap().remove("title");
        let message = checked(ORDERS, &catalog).unwrap_err();
        assert!(message.contains("document.products.title"), "{message}");
        assert!(
            message.contains("shop.product has no column title"),
            "{message}"
        );
        assert!(message.contains("line 30"), "{message}");
    }
}

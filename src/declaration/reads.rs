//! The escape hatch against the database: every table its document SQL reads, but the root,
//! must be followed and have a `touches` query, or a change there would reach no document and
//! the index would fall behind Postgres without a word.
//!
//! The tables read are what Postgres plans to read, not a parse of the SQL: views are expanded,
//! subqueries, CTEs and `InitPlan`/`SubPlan`s included, and a partition counts as the root of its
//! tree. Functions that read tables hide those tables from the plan (see the README).
//!
//! Why a generic plan of a `PREPARE`d statement, rather than `EXPLAIN` with `$1` bound to an
//! empty array: a bound parameter is a constant to the planner, which folds it and drops what
//! it then proves empty. `cardinality($1) > 0` guarding a subquery, or a partition key compared
//! with `$1`, lose their tables under `'{}'` (seen on Postgres 15). `plan_cache_mode =
//! force_generic_plan` plans for any `$1` (what `EXPLAIN (GENERIC_PLAN)` does from Postgres 16),
//! and partition pruning and constraint exclusion are off so that every partition is kept. A
//! temporary view's `pg_depend` would need `$1` replaced in the text and the TEMP privilege.
//! The planner still drops what it proves unread whatever `$1` is (a LEFT JOIN whose columns
//! are unused, a `WHERE false`, a partitioned table with no partition yet): the first two never
//! reach a document.
//!
//! [`tables_in_plan`] and [`judge`] decide from EXPLAIN JSON and catalogue rows alone;
//! [`check`] asks Postgres for them.

use std::collections::BTreeSet;

use serde_json::Value;
use sqlx::{Connection, PgPool};

use super::model::Model;
use super::schema::{Catalog, SchemaError};
use super::{Declaration, Problem};

/// A table the document SQL reads, as `schema.table`, and the declared relation naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadTable {
    pub relation: String,
    pub declared: Option<String>,
}

/// The escape hatch's SQL reads no table that lacks a `touches` query (after
/// [`super::schema::check`]: every declared table exists).
pub(crate) async fn check(
    declaration: &Declaration,
    catalog: &Catalog,
    pool: &PgPool,
) -> Result<(), SchemaError> {
    let model = &declaration.model;
    let Some(query) = &model.query else {
        return Ok(());
    };
    let reads = |source| SchemaError::Reads {
        path: declaration.path.clone(),
        source,
    };
    let plan = explain(pool, &query.sql).await.map_err(reads)?;
    let read = resolve(pool, model, &tables_in_plan(&plan))
        .await
        .map_err(reads)?;
    judge(model, catalog, &read).map_err(|problem| SchemaError::Mismatch {
        path: declaration.path.clone(),
        problem,
    })
}

/// The generic plan of `sql`, in a transaction that is rolled back, on a connection that is
/// closed afterwards: neither the settings nor the prepared statement reach another query, also
/// when a step fails half-way.
async fn explain(pool: &PgPool, sql: &str) -> Result<Value, sqlx::Error> {
    let mut connection = pool.acquire().await?;
    connection.close_on_drop();
    let mut transaction = connection.begin().await?;
    sqlx::raw_sql(include_str!("sql/reads_prepare.sql"))
        .execute(&mut *transaction)
        .await?;
    let statement = format!(
        "{}{}",
        include_str!("sql/reads_statement.sql"),
        sql.trim().trim_end_matches(';')
    );
    sqlx::query(&statement)
        .persistent(false)
        .execute(&mut *transaction)
        .await?;
    let (plan,): (Value,) = sqlx::query_as(include_str!("sql/reads_explain.sql"))
        .persistent(false)
        .fetch_one(&mut *transaction)
        .await?;
    sqlx::raw_sql(include_str!("sql/reads_deallocate.sql"))
        .execute(&mut *transaction)
        .await?;
    transaction.rollback().await?;
    Ok(plan)
}

/// Every `(schema, relation)` a plan scans, in nodes at any depth (`Plans` holds the
/// `InitPlan`s and `SubPlan`s too).
pub(crate) fn tables_in_plan(plan: &Value) -> BTreeSet<(String, String)> {
    let mut tables = BTreeSet::new();
    let mut pending = vec![plan];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(node) => {
                let schema = node.get("Schema").and_then(Value::as_str);
                let relation = node.get("Relation Name").and_then(Value::as_str);
                if let (Some(schema), Some(relation)) = (schema, relation) {
                    tables.insert((schema.to_owned(), relation.to_owned()));
                }
                pending.extend(node.values());
            }
            _ => {}
        }
    }
    tables
}

/// The plan's tables as the roots of their partition trees, each with its declaration.
async fn resolve(
    pool: &PgPool,
    model: &Model,
    tables: &BTreeSet<(String, String)>,
) -> Result<Vec<ReadTable>, sqlx::Error> {
    let (schemas, names): (Vec<&str>, Vec<&str>) = tables
        .iter()
        .map(|(schema, name)| (schema.as_str(), name.as_str()))
        .unzip();
    let declared: Vec<&str> = model.tables.iter().map(|t| t.relation.as_str()).collect();
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(include_str!("sql/reads_tables.sql"))
        .bind(&schemas)
        .bind(&names)
        .bind(&declared)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(relation, declared)| ReadTable { relation, declared })
        .collect())
}

/// Every table read is the root or has a `touches` query; else what to add, at `query.touches`
/// (or `query.sql` when there is none).
pub(crate) fn judge(model: &Model, catalog: &Catalog, read: &[ReadTable]) -> Result<(), Problem> {
    let Some(query) = &model.query else {
        return Ok(());
    };
    let mut missing = Vec::new();
    for table in read {
        let index = table
            .declared
            .as_ref()
            .and_then(|declared| model.tables.iter().position(|t| t.relation == *declared));
        if index == Some(model.root) || query.touches.iter().any(|(t, _)| Some(*t) == index) {
            continue;
        }
        missing.push(missing_touches(model, catalog, &table.relation, index));
    }
    if missing.is_empty() {
        return Ok(());
    }
    let (key, line) = match query.touches_line {
        Some(line) => ("query.touches", line),
        None => ("query.sql", query.sql_line),
    };
    Err(Problem::at_line(key, line, missing.join("; ")))
}

/// What to add for one table the SQL reads without a `touches` query.
fn missing_touches(
    model: &Model,
    catalog: &Catalog,
    relation: &str,
    index: Option<usize>,
) -> String {
    let root = model.root_table();
    let cast = index
        .map(|index| &model.tables[index])
        .and_then(|table| {
            catalog
                .get(&table.relation)?
                .get(table.single_key())?
                .key_type()
        })
        .unwrap_or("…");
    let touches = format!(
        "touches: {{{relation}: SELECT <{}.{}> FROM … WHERE … = ANY($1::{cast}[])}}",
        root.relation,
        root.single_key()
    );
    match index {
        Some(_) => format!(
            "query.sql reads {relation}, which has no touches query, so its changes reach no document: add {touches}"
        ),
        None => format!(
            "query.sql reads {relation}, which is not declared, so its changes reach no document: declare it under tables ({relation}: {{key: …, changed_by: …}}) and add {touches}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::declaration::schema::ColumnType;

    const GENRE_COUNTS: &str = include_str!("../../tests/escape/genre_counts.yaml");

    /// The generic plan of genre_counts' SQL with a subquery on a partitioned table, as
    /// `EXPLAIN (VERBOSE, FORMAT JSON)` prints it on Postgres 15 (costs and outputs left out).
    fn plan() -> Value {
        let scan = |node: &str, relation: &str, alias: &str| {
            json!({"Node Type": node, "Parent Relationship": "Outer",
                   "Relation Name": relation, "Schema": "content", "Alias": alias})
        };
        let index_scan = json!({"Node Type": "Bitmap Index Scan", "Parent Relationship": "Outer",
                                "Index Name": "genre_pkey"});
        json!([{"Plan": {
            "Node Type": "Bitmap Heap Scan", "Relation Name": "genre", "Schema": "content",
            "Alias": "g",
            "Plans": [
                {"Node Type": "Aggregate", "Parent Relationship": "InitPlan",
                 "Subplan Name": "InitPlan 3 (returns $2)",
                 "Plans": [scan("Seq Scan", "part_1", "part")]},
                index_scan,
                {"Node Type": "Aggregate", "Parent Relationship": "SubPlan",
                 "Subplan Name": "SubPlan 1",
                 "Plans": [scan("Bitmap Heap Scan", "genre_film_work", "gfw")]},
                {"Node Type": "Aggregate", "Parent Relationship": "SubPlan",
                 "Subplan Name": "SubPlan 2",
                 "Plans": [{"Node Type": "Hash Join", "Parent Relationship": "Outer",
                            "Plans": [scan("Seq Scan", "film_work", "f"),
                                      {"Node Type": "Hash", "Parent Relationship": "Inner",
                                       "Plans": [scan("Bitmap Heap Scan", "genre_film_work",
                                                      "gfw_1")]}]}]}
            ]
        }}])
    }

    fn model(text: &str) -> Model {
        Declaration::parse("genre_counts", Path::new("genre_counts.yaml"), text)
            .unwrap()
            .model
    }

    fn read(tables: &[(&str, Option<&str>)]) -> Vec<ReadTable> {
        tables
            .iter()
            .map(|(relation, declared)| ReadTable {
                relation: relation.to_string(),
                declared: declared.map(str::to_owned),
            })
            .collect()
    }

    /// The line of `text` that holds `what`, counted from 1.
    fn line_of(text: &str, what: &str) -> u64 {
        let index = text.lines().position(|line| line.contains(what)).unwrap();
        index as u64 + 1
    }

    #[test]
    fn every_scan_of_the_plan_is_found_in_init_plans_and_sub_plans_too() {
        let tables: Vec<(String, String)> = tables_in_plan(&plan()).into_iter().collect();
        let expected = ["film_work", "genre", "genre_film_work", "part_1"]
            .map(|name| ("content".to_owned(), name.to_owned()));
        assert_eq!(tables, expected);
    }

    #[test]
    fn a_plan_without_schema_names_or_scans_gives_no_table() {
        let plan = json!([{"Plan": {"Node Type": "Result", "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "genre", "Alias": "g"},
            {"Node Type": "Function Scan", "Function Name": "generate_series",
             "Schema": "pg_catalog", "Alias": "n"}]}}]);
        assert!(tables_in_plan(&plan).is_empty());
    }

    #[test]
    fn tables_read_with_touches_and_the_root_pass() {
        let model = model(GENRE_COUNTS);
        let read = read(&[
            ("content.film_work", Some("content.film_work")),
            ("content.genre", Some("content.genre")),
            ("content.genre_film_work", Some("content.genre_film_work")),
        ]);
        judge(&model, &Catalog::new(), &read).unwrap();
    }

    #[test]
    fn an_undeclared_table_read_is_named_at_query_touches_with_what_to_add() {
        let model = model(GENRE_COUNTS);
        let read = read(&[
            ("content.genre", Some("content.genre")),
            ("content.person", None),
            ("content.genre_film_work", Some("content.genre_film_work")),
        ]);
        let problem = judge(&model, &Catalog::new(), &read).unwrap_err();
        assert_eq!(problem.key, "query.touches");
        assert_eq!(problem.line, Some(line_of(GENRE_COUNTS, "touches:") + 1));
        let message = problem.message;
        for expected in [
            "query.sql reads content.person, which is not declared",
            "declare it under tables (content.person: {key: …, changed_by: …})",
            "touches: {content.person: SELECT <content.genre.id> FROM … WHERE … = ANY($1::…[])}",
        ] {
            assert!(message.contains(expected), "no {expected:?} in {message}");
        }
    }

    #[test]
    fn a_declared_table_without_touches_is_named_with_its_key_type() {
        let mut model = model(GENRE_COUNTS);
        let film_work = model
            .tables
            .iter()
            .position(|t| t.relation == "content.film_work")
            .unwrap();
        let query = model.query.as_mut().unwrap();
        query.touches.retain(|(table, _)| *table != film_work);
        let uuid = ColumnType {
            type_name: "uuid".into(),
            type_kind: "b".into(),
            sql_type: "uuid".into(),
            not_null: true,
        };
        let mut catalog = Catalog::new();
        catalog.insert(
            "content.film_work".into(),
            [("id".to_owned(), uuid)].into_iter().collect(),
        );
        let read = read(&[("content.film_work", Some("content.film_work"))]);
        let message = judge(&model, &catalog, &read).unwrap_err().message;
        assert!(
            message.contains("content.film_work, which has no touches query"),
            "{message}"
        );
        assert!(message.contains("= ANY($1::uuid[])}"), "{message}");
    }

    #[test]
    fn without_touches_the_problem_is_at_query_sql() {
        let text = "index: {alias: genres, config: index.json}\nroot: content.genre\ntables:\n  content.genre: {key: id}\nquery:\n  sql: SELECT g.id, g.name AS document FROM content.genre g JOIN content.genre_film_work l ON l.genre_id = g.id WHERE g.id = ANY($1::uuid[])\n";
        let read = read(&[
            ("content.genre", Some("content.genre")),
            ("content.genre_film_work", None),
        ]);
        let problem = judge(&model(text), &Catalog::new(), &read).unwrap_err();
        assert_eq!(problem.key, "query.sql");
        assert_eq!(problem.line, Some(6));
    }
}

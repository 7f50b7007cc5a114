//! Collations a declaration names (`sort: [{field: name, collate: …}]`), against the database's
//! `pg_collation`: a name it does not have stops start-up with the file, the key and the line,
//! before a document query would fail on it.

use sqlx::PgPool;

use super::model::{Field, Model};
use super::schema::SchemaError;
use super::{Declaration, Problem};

/// Every declared collation, with the key and line that name it.
fn declared(model: &Model) -> Vec<(String, u64, String)> {
    let mut named = Vec::new();
    for field in &model.fields {
        let Field::List(list) = field else { continue };
        for key in &list.sort {
            if let Some(collation) = &key.collation {
                let at = format!("document.{}.sort", list.name);
                named.push((at, key.line, collation.clone()));
            }
        }
    }
    named
}

pub(crate) async fn check(pool: &PgPool, declaration: &Declaration) -> Result<(), SchemaError> {
    let named = declared(&declaration.model);
    if named.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = named.iter().map(|(_, _, name)| name.as_str()).collect();
    let missing: Vec<String> = sqlx::query_scalar(include_str!("sql/missing_collations.sql"))
        .bind(&names)
        .fetch_all(pool)
        .await
        .map_err(|source| SchemaError::Query {
            relation: "pg_collation".into(),
            source,
        })?;
    let Some((key, line, name)) = named.into_iter().find(|(_, _, n)| missing.contains(n)) else {
        return Ok(());
    };
    Err(SchemaError::Mismatch {
        path: declaration.path.clone(),
        problem: Problem::at_line(
            &key,
            line,
            format!("collation \"{name}\" does not exist in this database (`SELECT collname FROM pg_collation` lists those it has)"),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_declared_collation_is_named_with_its_key_and_line() {
        let text = include_str!("../../pipelines/movies.yaml").replacen(
            "    sort: [name, id]\n  director:",
            "    sort: [{field: name, collate: und-x-icu}, {id: desc}]\n  director:",
            1,
        );
        let declaration = Declaration::parse("movies", Path::new("movies.yaml"), &text).unwrap();
        let named = declared(&declaration.model);
        assert_eq!(named.len(), 1, "{named:?}");
        let (key, line, name) = &named[0];
        assert_eq!(key, "document.directors.sort");
        assert_eq!(name, "und-x-icu");
        let expected = text.lines().position(|l| l.contains("und-x-icu")).unwrap() + 1;
        assert_eq!(*line, expected as u64);
    }
}

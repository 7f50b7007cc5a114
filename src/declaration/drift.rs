//! The declaration against the database again, while the worker runs: when Postgres refuses a
//! pipeline's queries because what they read changed (a column dropped, renamed or retyped),
//! the start-up check names the declaration key that broke, and says when it fits again.

use sqlx::PgPool;

use super::compile::Declared;
use super::model::Model;
use super::schema::{self, Catalog, SchemaError};
use super::Problem;

impl Declared {
    /// `Ok` when every table and column the declaration reads is there, of the type the
    /// compiled queries were written for; else the start-up check's error, naming the file,
    /// the key, the line and the column. A column no declaration reads changes nothing.
    pub async fn recheck(&self, pool: &PgPool) -> Result<(), SchemaError> {
        let declaration = &self.declaration;
        let catalog = schema::read_catalog(pool, &declaration.model).await?;
        schema::check(declaration, &catalog)?;
        unchanged(&declaration.model, &self.read, &catalog).map_err(|problem| {
            SchemaError::Mismatch {
                path: declaration.path.clone(),
                problem,
            }
        })
    }
}

/// Every column the compiled queries read, still there and of the type it had at compile time.
fn unchanged(model: &Model, read: &Catalog, now: &Catalog) -> Result<(), Problem> {
    for table in &model.tables {
        let relation = &table.relation;
        let key = format!("tables.{relation}");
        for (column, then) in read.get(relation).into_iter().flatten() {
            let current = now.get(relation).and_then(|columns| columns.get(column));
            let message = match current {
                None => format!("{relation} has no column {column}"),
                Some(current) if current.sql_type != then.sql_type => format!(
                    "{relation}.{column} is {} now, but was {} when pg2es started: restore its type, or restart pg2es to read it as it is",
                    current.sql_type, then.sql_type
                ),
                Some(_) => continue,
            };
            return Err(Problem::at_line(&key, table.line, message));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::declaration::schema::ColumnType;
    use crate::declaration::Declaration;

    const GENRES: &str = include_str!("../../pipelines/genres.yaml");

    fn column(type_name: &str, sql_type: &str) -> ColumnType {
        ColumnType::not_null(type_name, sql_type)
    }

    fn genre_catalog() -> Catalog {
        let columns = [
            ("id", column("uuid", "uuid")),
            ("name", column("text", "text")),
            ("description", column("text", "text")),
            (
                "created_at",
                column("timestamptz", "timestamp with time zone"),
            ),
            (
                "updated_at",
                column("timestamptz", "timestamp with time zone"),
            ),
        ];
        let columns = columns
            .into_iter()
            .map(|(name, column)| (name.to_owned(), column))
            .collect();
        Catalog::from([("content.genre".to_owned(), columns)])
    }

    /// The genres declaration compiled against its catalogue, and what its queries read.
    fn compiled() -> (Declaration, Catalog) {
        let path = Path::new("pipelines/genres.yaml");
        let declaration = Declaration::parse("genres", path, GENRES).unwrap();
        let declared = Declared::compile(&declaration, &genre_catalog());
        (declaration, declared.read)
    }

    fn judged(edit: impl FnOnce(&mut Catalog)) -> Result<(), String> {
        let (declaration, read) = compiled();
        let mut now = genre_catalog();
        edit(&mut now);
        schema::check(&declaration, &now).map_err(|err| err.to_string())?;
        unchanged(&declaration.model, &read, &now).map_err(|problem| problem.to_string())
    }

    #[test]
    fn the_compiled_queries_read_the_document_columns_and_the_cursor() {
        let (_, read) = compiled();
        let columns: Vec<&String> = read["content.genre"].keys().collect();
        assert_eq!(columns, ["description", "id", "name", "updated_at"]);
    }

    #[test]
    fn a_column_added_dropped_or_retyped_that_nothing_reads_changes_nothing() {
        judged(|now| {
            let genre = now.get_mut("content.genre").unwrap();
            genre.insert("unread".into(), column("int4", "integer"));
            genre.insert("created_at".into(), column("text", "text"));
        })
        .unwrap();
        judged(|now| {
            now.get_mut("content.genre").unwrap().remove("created_at");
        })
        .unwrap();
    }

    #[test]
    fn a_dropped_document_column_is_named_with_its_key_and_line() {
        let message = judged(|now| {
            now.get_mut("content.genre").unwrap().remove("description");
        })
        .unwrap_err();
        assert!(message.contains("genres.yaml"), "{message}");
        assert!(message.contains("document.description"), "{message}");
        assert!(message.contains("line 14"), "{message}");
        assert!(
            message.contains("content.genre has no column description"),
            "{message}"
        );
    }

    #[test]
    fn a_retyped_column_the_queries_read_is_named_with_both_types() {
        let message = judged(|now| {
            let genre = now.get_mut("content.genre").unwrap();
            genre.insert("name".into(), column("int4", "integer"));
        })
        .unwrap_err();
        assert!(message.contains("tables.content.genre"), "{message}");
        assert!(
            message.contains("content.genre.name is integer now, but was text"),
            "{message}"
        );
    }
}

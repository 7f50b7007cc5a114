//! Exact change capture: installing the triggers, reading and forgetting recorded changes.

use sqlx::Row;
use uuid::Uuid;

use super::{PgError, Postgres, Table};
use crate::retry::retry;

/// Which key a table's trigger records, and as a change of which table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trigger {
    /// The tracked table whose fan-out resolves the key (`film_work` for link rows).
    pub source: &'static str,
    /// The column recorded: the row's own id, or the root id for link tables.
    pub key: &'static str,
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub seq: i64,
    pub source: String,
    pub row_id: Uuid,
}

fn render(template: &str, table: &Table) -> String {
    template
        .replace("{relation}", table.relation)
        .replace("{name}", table.name)
        .replace("{source}", table.trigger.source)
        .replace("{key}", table.trigger.key)
}

impl Postgres {
    /// Installs (or refreshes) the change table and the triggers, in one transaction.
    pub async fn install_capture(&self, tables: &[Table]) -> Result<(), PgError> {
        let mut script = String::from("BEGIN;\n");
        script.push_str(include_str!("sql/capture_setup.sql"));
        for table in tables {
            script.push_str(&render(include_str!("sql/capture_table.sql"), table));
        }
        script.push_str("COMMIT;\n");
        sqlx::raw_sql(&script)
            .execute(self.pool())
            .await
            .map_err(PgError::new("install change capture"))?;
        Ok(())
    }

    /// Removes the triggers and the `pg2es` schema, in one transaction.
    pub async fn remove_capture(&self, tables: &[Table]) -> Result<(), PgError> {
        let mut script = String::from("BEGIN;\n");
        for table in tables {
            script.push_str(&render(
                include_str!("sql/capture_teardown_table.sql"),
                table,
            ));
        }
        script.push_str(include_str!("sql/capture_teardown.sql"));
        script.push_str("COMMIT;\n");
        sqlx::raw_sql(&script)
            .execute(self.pool())
            .await
            .map_err(PgError::new("remove change capture"))?;
        Ok(())
    }

    /// The relations whose capture is not installed (empty when all is in place).
    pub async fn capture_missing(&self, tables: &[Table]) -> Result<Vec<String>, PgError> {
        let relations: Vec<&str> = tables.iter().map(|table| table.relation).collect();
        retry(self.retry_policy(), "check change capture", || async {
            sqlx::query_scalar::<_, String>(include_str!("sql/capture_installed.sql"))
                .bind(&relations)
                .fetch_all(self.pool())
                .await
                .map_err(PgError::new("check change capture"))
        })
        .await
    }

    /// The oldest recorded changes, at most `limit`.
    pub async fn recorded_changes(&self, limit: u32) -> Result<Vec<Change>, PgError> {
        retry(self.retry_policy(), "read recorded changes", || async {
            let rows = sqlx::query(include_str!("sql/capture_read.sql"))
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
                .map_err(PgError::new("read recorded changes"))?;
            rows.iter()
                .map(|row| {
                    Ok(Change {
                        seq: row.try_get("seq")?,
                        source: row.try_get("source")?,
                        row_id: row.try_get("row_id")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(PgError::new("decode recorded changes"))
        })
        .await
    }

    /// How many recorded changes wait to be indexed; `None` without change capture.
    pub async fn pending_changes(&self) -> Result<Option<i64>, PgError> {
        retry(self.retry_policy(), "count recorded changes", || async {
            let installed: bool = sqlx::query_scalar(include_str!("sql/capture_exists.sql"))
                .fetch_one(self.pool())
                .await
                .map_err(PgError::new("count recorded changes"))?;
            if !installed {
                return Ok(None);
            }
            sqlx::query_scalar::<_, i64>(include_str!("sql/capture_pending.sql"))
                .fetch_one(self.pool())
                .await
                .map(Some)
                .map_err(PgError::new("count recorded changes"))
        })
        .await
    }

    /// Deletes changes whose documents were acknowledged.
    pub async fn forget_changes(&self, seqs: &[i64]) -> Result<(), PgError> {
        retry(self.retry_policy(), "forget indexed changes", || async {
            sqlx::query(include_str!("sql/capture_forget.sql"))
                .bind(seqs)
                .execute(self.pool())
                .await
                .map_err(PgError::new("forget indexed changes"))
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_template_records_the_configured_key() {
        let table = Table {
            name: "person_film_work",
            relation: "content.person_film_work",
            cursor_column: "created_at",
            fan_out: None,
            trigger: Trigger {
                source: "film_work",
                key: "film_work_id",
            },
        };
        let sql = render(include_str!("sql/capture_table.sql"), &table);
        assert!(sql.contains("FUNCTION pg2es.record_person_film_work()"));
        assert!(sql.contains("VALUES ('film_work', NEW.film_work_id)"));
        assert!(sql.contains("ON content.person_film_work"));
        assert!(!sql.contains('{'), "{sql}");
    }
}

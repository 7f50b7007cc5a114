//! Exact change capture: installing the triggers, and each consumer reading the recorded
//! changes from its own position. A change is pruned only once every registered consumer has
//! passed it, so several pipelines and deployments share one database.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{composite, PgError, Postgres, Table};

/// How many recorded changes one read covers at most: their distinct keys are held in memory
/// (a few MB), and a backlog of writes to few rows collapses to one build per row within it.
pub(crate) const WINDOW: i64 = 100_000;

/// One recorded change: a column value of a changed row (its key, or a ref).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub seq: i64,
    pub relation: String,
    pub column: String,
    pub value: String,
}

impl Change {
    /// Whether this records a `TRUNCATE` of its relation (no key: any row may be gone).
    pub fn is_truncate(&self) -> bool {
        self.column.is_empty()
    }
}

/// A capture trigger that does not fire for every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnfiredTrigger {
    pub relation: String,
    pub trigger: String,
    /// `disabled`, or under which `session_replication_role` it does not fire.
    pub how: String,
}

impl std::fmt::Display for UnfiredTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}: {}", self.trigger, self.relation, self.how)
    }
}

/// Where a consumer stands: changes after `position`, and those of the transactions in
/// `pending` (open when it last read, so possibly committed behind the position since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub position: i64,
    pub pending: Vec<String>,
}

/// The distinct changed keys of a window of recorded changes, and the position once they are
/// indexed.
#[derive(Debug)]
pub(crate) struct Page {
    pub changes: Vec<Change>,
    pub next: Position,
    /// Whether more changes were recorded after the window.
    pub more: bool,
}

/// A consumer and how many changes wait for it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Consumer {
    pub name: String,
    pub position: i64,
    pub backlog: i64,
    pub seen_at: chrono::DateTime<chrono::Utc>,
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The text of a recorded column (or, of a composite key or ref, columns) in the row `row`.
fn row_text(recorded: &str, row: &str) -> String {
    let columns: Vec<String> = composite::recorded_columns(recorded)
        .into_iter()
        .map(str::to_owned)
        .collect();
    composite::text_of(&columns, row)
}

/// The trigger of one table recording `columns`.
fn table_script(relation: &str, columns: &[String]) -> String {
    let values = |row: &dyn Fn(&str) -> String| {
        columns
            .iter()
            .map(|column| format!("({}, {})", literal(column), row(column)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let captured_rows = columns
        .iter()
        .map(|column| format!("({}, {})", literal(relation), literal(column)))
        .collect::<Vec<_>>()
        .join(", ");
    include_str!("sql/capture_table.sql")
        .replace("{function}", &format!("record_{relation}"))
        .replace("{relation_literal}", &literal(relation))
        .replace("{relation}", relation)
        .replace("{columns}", &columns.join(", "))
        .replace("{new_values}", &values(&|c| row_text(c, "NEW")))
        .replace("{old_values}", &values(&|c| row_text(c, "OLD")))
        .replace(
            "{old_new_values}",
            &columns
                .iter()
                .map(|c| {
                    let (old, new) = (row_text(c, "OLD"), row_text(c, "NEW"));
                    format!("({}, {old}, {new})", literal(c))
                })
                .collect::<Vec<_>>()
                .join(", "),
        )
        .replace("{captured_rows}", &captured_rows)
        + &partition_script(relation, relation)
}

/// The statement triggers of `partition`: `relation` itself or one of its partitions.
fn partition_script(relation: &str, partition: &str) -> String {
    include_str!("sql/capture_statement.sql")
        .replace("{partition}", partition)
        .replace("{relation_literal}", &literal(relation))
        .replace("{relation}", relation)
}

/// Every relation with the columns its triggers must record, over all pipelines.
pub(crate) fn captured_columns(tables: &[Table]) -> BTreeMap<String, Vec<String>> {
    let mut columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for table in tables {
        let entry = columns.entry(table.relation.clone()).or_default();
        for column in &table.captured {
            if !entry.contains(column) {
                entry.push(column.clone());
            }
        }
    }
    columns.retain(|_, columns| !columns.is_empty());
    columns
}

impl Postgres {
    /// Installs (or refreshes) the change tables and the triggers of `tables` (of every
    /// pipeline), in one transaction. Columns other deployments record are kept.
    pub async fn install_capture(&self, tables: &[Table]) -> Result<(), PgError> {
        let mut script = String::from("BEGIN;\n");
        script.push_str(include_str!("sql/capture_setup.sql"));
        script.push_str("COMMIT;\n");
        sqlx::raw_sql(&script)
            .execute(self.pool())
            .await
            .map_err(PgError::new("install change capture"))?;
        let mut script = String::from("BEGIN;\n");
        for (relation, mut columns) in captured_columns(tables) {
            let recorded: Vec<String> =
                sqlx::query_scalar(include_str!("sql/capture_captured.sql"))
                    .bind(&relation)
                    .fetch_all(self.pool())
                    .await
                    .map_err(PgError::new("install change capture"))?;
            for column in recorded {
                if !columns.contains(&column) {
                    columns.push(column);
                }
            }
            script.push_str(&table_script(&relation, &columns));
        }
        for (relation, members) in self.partition_trees(tables).await? {
            for member in members.iter().filter(|m| m.is_partition()) {
                script.push_str(&partition_script(&relation, &member.name));
            }
        }
        script.push_str("COMMIT;\n");
        sqlx::raw_sql(&script)
            .execute(self.pool())
            .await
            .map_err(PgError::new("install change capture"))?;
        Ok(())
    }

    /// Puts the statement triggers on a partition of `relation` that appeared after `setup`.
    pub async fn capture_partition(&self, relation: &str, partition: &str) -> Result<(), PgError> {
        let script = partition_script(relation, partition);
        self.ddl("install change capture on a new partition", &script)
            .await
    }

    /// Removes the triggers and the `pg2es` schema, in one transaction.
    pub async fn remove_capture(&self, tables: &[Table]) -> Result<(), PgError> {
        let mut script = String::from("BEGIN;\n");
        for members in self.partition_trees(tables).await?.values() {
            for member in members.iter().filter(|m| m.is_partition()) {
                script.push_str(
                    &include_str!("sql/capture_teardown_partition.sql")
                        .replace("{partition}", &member.name),
                );
            }
        }
        for relation in captured_columns(tables).keys() {
            script.push_str(
                &include_str!("sql/capture_teardown_table.sql").replace("{relation}", relation),
            );
        }
        script.push_str(include_str!("sql/capture_teardown.sql"));
        script.push_str("COMMIT;\n");
        sqlx::raw_sql(&script)
            .execute(self.pool())
            .await
            .map_err(PgError::new("remove change capture"))?;
        Ok(())
    }

    /// The `relation.column` pairs whose capture is not installed (empty when all is there).
    pub async fn capture_missing(&self, tables: &[Table]) -> Result<Vec<String>, PgError> {
        let (mut relations, mut columns) = (Vec::new(), Vec::new());
        for (relation, wanted) in captured_columns(tables) {
            for column in wanted {
                relations.push(relation.clone());
                columns.push(column);
            }
        }
        self.call("check change capture", || async {
            let installed: bool = sqlx::query_scalar(include_str!("sql/capture_exists.sql"))
                .fetch_one(self.pool())
                .await?;
            if !installed {
                let all = relations
                    .iter()
                    .zip(&columns)
                    .map(|(r, c)| format!("{r}.{c}"));
                return Ok(all.collect());
            }
            let mut missing =
                sqlx::query_scalar::<_, String>(include_str!("sql/capture_installed.sql"))
                    .bind(&relations)
                    .bind(&columns)
                    .fetch_all(self.pool())
                    .await?;
            let mut followed = relations.clone();
            followed.dedup();
            missing.extend(
                sqlx::query_scalar::<_, String>(include_str!("sql/capture_partitions_missing.sql"))
                    .bind(&followed)
                    .fetch_all(self.pool())
                    .await?,
            );
            Ok(missing)
        })
        .await
    }

    /// The capture triggers of `tables` that are not enabled `ALWAYS` (empty when all are).
    pub async fn capture_unfired(&self, tables: &[Table]) -> Result<Vec<UnfiredTrigger>, PgError> {
        let relations: Vec<String> = captured_columns(tables).into_keys().collect();
        self.call("check change capture triggers", || async {
            let rows = sqlx::query(include_str!("sql/capture_disabled.sql"))
                .bind(&relations)
                .fetch_all(self.pool())
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(UnfiredTrigger {
                        relation: row.try_get("relation")?,
                        trigger: row.try_get("trigger")?,
                        how: row.try_get("how")?,
                    })
                })
                .collect()
        })
        .await
    }

    /// Registers `consumer` at the newest change, unless it is registered already.
    pub async fn register_consumer(&self, consumer: &str) -> Result<(), PgError> {
        self.call("register change consumer", || {
            sqlx::query(include_str!("sql/consumer_register.sql"))
                .bind(consumer)
                .execute(self.pool())
        })
        .await
        .map(|_| ())
    }

    /// The keys of the oldest changes `consumer` has not read (at most [`WINDOW`] changes),
    /// each once, all in one snapshot.
    pub async fn recorded_changes(&self, consumer: &str) -> Result<Page, PgError> {
        self.call("read recorded changes", || {
            self.read_window(consumer, WINDOW)
        })
        .await
    }

    async fn read_window(&self, consumer: &str, window: i64) -> Result<Page, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let (position, pending): (i64, Vec<String>) =
            sqlx::query_as(include_str!("sql/consumer_position.sql"))
                .bind(consumer)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    sqlx::Error::Protocol(format!("change consumer {consumer} is not registered"))
                })?;
        let open: Vec<String> = sqlx::query_scalar(include_str!("sql/consumer_snapshot.sql"))
            .fetch_one(&mut *tx)
            .await?;
        let newest: i64 = sqlx::query_scalar(include_str!("sql/consumer_newest.sql"))
            .fetch_one(&mut *tx)
            .await?;
        // Changes of transactions open now, numbered up to `upto`, are read again through
        // `pending`; those numbered after it are after the next position.
        let upto = newest.min(position.saturating_add(window)).max(position);
        let rows = sqlx::query(include_str!("sql/consumer_window.sql"))
            .bind(position)
            .bind(&pending)
            .bind(upto)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let changes = rows
            .iter()
            .map(|row| {
                Ok(Change {
                    seq: row.try_get("seq")?,
                    relation: row.try_get("relation")?,
                    column: row.try_get("key_column")?,
                    value: row.try_get("value")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let next = Position {
            position: upto,
            pending: open,
        };
        Ok(Page {
            changes,
            next,
            more: newest > upto,
        })
    }

    /// Moves `consumer` to `next` once its changes are indexed, and prunes what every
    /// consumer has passed.
    pub async fn acknowledge_changes(
        &self,
        consumer: &str,
        next: &Position,
    ) -> Result<(), PgError> {
        self.call("acknowledge recorded changes", || async {
            sqlx::query(include_str!("sql/consumer_ack.sql"))
                .bind(consumer)
                .bind(next.position)
                .bind(&next.pending)
                .execute(self.pool())
                .await?;
            sqlx::query(include_str!("sql/consumer_prune.sql"))
                .execute(self.pool())
                .await
        })
        .await
        .map(|_| ())
    }

    /// Every consumer with its backlog; `None` without change capture.
    pub async fn consumers(&self) -> Result<Option<Vec<Consumer>>, PgError> {
        self.call("list change consumers", || async {
            let installed: bool = sqlx::query_scalar(include_str!("sql/capture_exists.sql"))
                .fetch_one(self.pool())
                .await?;
            if !installed {
                return Ok(None);
            }
            let rows = sqlx::query(include_str!("sql/consumer_list.sql"))
                .fetch_all(self.pool())
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(Consumer {
                        name: row.try_get("name")?,
                        position: row.try_get("position")?,
                        backlog: row.try_get("backlog")?,
                        seen_at: row.try_get("seen_at")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map(Some)
        })
        .await
    }

    /// Unregisters a consumer gone for good: its backlog no longer holds changes back.
    pub async fn forget_consumer(&self, consumer: &str) -> Result<bool, PgError> {
        let done = sqlx::query(include_str!("sql/consumer_forget.sql"))
            .bind(consumer)
            .execute(self.pool())
            .await
            .map_err(PgError::new("unregister change consumer"))?;
        if done.rows_affected() > 0 {
            sqlx::query(include_str!("sql/consumer_prune.sql"))
                .execute(self.pool())
                .await
                .map_err(PgError::new("unregister change consumer"))?;
        }
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trigger_records_the_key_and_the_refs_old_and_new() {
        let sql = table_script(
            "content.person_film_work",
            &["film_work_id".into(), "person_id".into()],
        );
        assert!(sql.contains("FUNCTION pg2es.\"record_content.person_film_work\"()"));
        assert!(sql.contains(
            "('film_work_id', NEW.film_work_id::text), ('person_id', NEW.person_id::text)"
        ));
        assert!(sql.contains("('film_work_id', OLD.film_work_id::text, NEW.film_work_id::text)"));
        assert!(sql.contains("ON content.person_film_work"));
        assert!(!sql.contains('{'), "{sql}");
    }
}

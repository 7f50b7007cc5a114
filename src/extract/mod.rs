//! The extract stage: reading Postgres with keyset cursors, every call behind retry.

mod capture;
mod error;
mod lag;
mod privileges;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Row;
use uuid::Uuid;

pub(crate) use capture::{Change, Trigger};
pub(crate) use error::PgError;

use crate::config::PostgresConfig;
use crate::retry::{retry, RetryPolicy};
use crate::state::Cursor;

/// A table whose rows the engine tracks, described by the pipeline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    /// The key of this table's cursor in the state file.
    pub name: &'static str,
    /// The schema-qualified relation, e.g. `content.person`.
    pub relation: &'static str,
    /// The column that moves forward when a row changes (`updated_at`, `created_at`).
    pub cursor_column: &'static str,
    /// SQL mapping changed row ids to the root documents they appear in:
    /// `($1 uuid[] changed ids, $2 uuid last root id or NULL, $3 limit) -> id`, ordered by id.
    /// `None` for the root table itself.
    pub fan_out: Option<&'static str>,
    /// What the change-capture trigger records for a row of this table.
    pub trigger: Trigger,
}

/// The engine's SQL for one table, rendered once from the templates next to this file.
#[derive(Debug, Clone)]
struct TableSql {
    changes: String,
    latest: String,
    first_ids: String,
    next_ids: String,
    count: String,
    existing: String,
}

impl TableSql {
    fn new(table: &Table) -> Self {
        let render = |template: &str| {
            template
                .replace("{relation}", table.relation)
                .replace("{cursor_column}", table.cursor_column)
        };
        let ids = render(include_str!("sql/root_ids.sql"));
        Self {
            changes: render(include_str!("sql/changes.sql")),
            latest: render(include_str!("sql/latest.sql")),
            first_ids: ids.replace("{after}", ">="),
            next_ids: ids.replace("{after}", ">"),
            count: render(include_str!("sql/count.sql")),
            existing: render(include_str!("sql/existing_ids.sql")),
        }
    }
}

/// The position before every row: the cursor of a table that had no rows yet.
/// (Postgres cannot take chrono's minimum date, so this is 4000 BC, before any real row.)
pub(crate) fn start_cursor() -> Cursor {
    let at = chrono::NaiveDate::from_ymd_opt(-4000, 1, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    Cursor {
        at,
        id: Uuid::nil(),
    }
}

#[derive(Clone)]
pub(crate) struct Postgres {
    pool: PgPool,
    retry: RetryPolicy,
}

impl Postgres {
    /// A lazily connecting pool: the first query connects, behind retry.
    pub fn new(config: &PostgresConfig, retry: RetryPolicy) -> Result<Self, PgError> {
        let options = connect_options(config)?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.connect_timeout)
            .connect_lazy_with(options);
        Ok(Self { pool, retry })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    pub async fn ping(&self) -> Result<(), PgError> {
        retry(&self.retry, "postgres ping", || async {
            sqlx::query("SELECT 1")
                .execute(&self.pool)
                .await
                .map_err(PgError::new("ping"))
        })
        .await
        .map(|_| ())
    }

    /// The instant before which every row change is committed or rolled back (see horizon.sql).
    pub async fn horizon(&self) -> Result<DateTime<Utc>, PgError> {
        retry(&self.retry, "read the commit horizon", || async {
            sqlx::query_scalar::<_, DateTime<Utc>>(include_str!("sql/horizon.sql"))
                .fetch_one(&self.pool)
                .await
                .map_err(PgError::new("read the commit horizon"))
        })
        .await
    }

    /// Changed rows of `table` after `after` and before `horizon`, oldest first.
    pub async fn changes(
        &self,
        table: &Table,
        after: Cursor,
        horizon: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Cursor>, PgError> {
        let sql = TableSql::new(table).changes;
        retry(&self.retry, "read changes", || async {
            let rows = sqlx::query(&sql)
                .bind(after.at)
                .bind(after.id)
                .bind(i64::from(limit))
                .bind(horizon)
                .fetch_all(&self.pool)
                .await
                .map_err(PgError::new("read changes"))?;
            rows.iter().map(cursor_of).collect::<Result<Vec<_>, _>>()
        })
        .await
    }

    /// The newest row of `table`, or the start when it is empty.
    pub async fn latest(&self, table: &Table) -> Result<Cursor, PgError> {
        let sql = TableSql::new(table).latest;
        retry(&self.retry, "read latest change", || async {
            let row = sqlx::query(&sql)
                .fetch_optional(&self.pool)
                .await
                .map_err(PgError::new("read latest change"))?;
            row.as_ref().map_or(Ok(start_cursor()), cursor_of)
        })
        .await
    }

    /// One page of root ids in key order, after `after` (from the start when `None`).
    pub async fn root_ids(
        &self,
        table: &Table,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Uuid>, PgError> {
        let sql = TableSql::new(table);
        let (sql, from) = match after {
            Some(id) => (sql.next_ids, id),
            None => (sql.first_ids, Uuid::nil()),
        };
        retry(&self.retry, "read root ids", || async {
            sqlx::query_scalar::<_, Uuid>(&sql)
                .bind(from)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(PgError::new("read root ids"))
        })
        .await
    }

    /// One page of the root ids that the changed rows of a child table touch.
    pub async fn fan_out(
        &self,
        sql: &str,
        changed: &[Uuid],
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Uuid>, PgError> {
        retry(&self.retry, "read affected documents", || async {
            sqlx::query_scalar::<_, Uuid>(sql)
                .bind(changed)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(PgError::new("read affected documents"))
        })
        .await
    }

    /// The subset of `ids` that still has a row in `table`.
    pub async fn existing_ids(&self, table: &Table, ids: &[Uuid]) -> Result<Vec<Uuid>, PgError> {
        let sql = TableSql::new(table).existing;
        retry(&self.retry, "check rows exist", || async {
            sqlx::query_scalar::<_, Uuid>(&sql)
                .bind(ids)
                .fetch_all(&self.pool)
                .await
                .map_err(PgError::new("check rows exist"))
        })
        .await
    }

    pub async fn count(&self, table: &Table) -> Result<i64, PgError> {
        let sql = TableSql::new(table).count;
        retry(&self.retry, "count rows", || async {
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(&self.pool)
                .await
                .map_err(PgError::new("count rows"))
        })
        .await
    }
}

/// How to connect: the URL (with its `sslmode`), and the CA file when one is configured.
pub(crate) fn connect_options(config: &PostgresConfig) -> Result<PgConnectOptions, PgError> {
    let options = PgConnectOptions::from_str(config.url.expose())
        .map_err(PgError::new("parse postgres.url"))?
        .application_name("pg2es");
    Ok(match &config.ca_cert {
        Some(path) => options.ssl_root_cert(path),
        None => options,
    })
}

fn cursor_of(row: &sqlx::postgres::PgRow) -> Result<Cursor, PgError> {
    let at = row
        .try_get::<DateTime<Utc>, _>("changed_at")
        .map_err(PgError::new("decode change cursor"))?;
    let id = row
        .try_get::<Uuid, _>("id")
        .map_err(PgError::new("decode change cursor"))?;
    Ok(Cursor { at, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_the_table() {
        let table = Table {
            name: "person",
            relation: "content.person",
            cursor_column: "updated_at",
            fan_out: None,
            trigger: Trigger {
                source: "person",
                key: "id",
            },
        };
        let sql = TableSql::new(&table);
        assert!(sql.changes.contains("FROM content.person"));
        assert!(sql.changes.contains("(updated_at, id) > ($1, $2)"));
        assert!(sql.first_ids.contains("id >= $1"));
        assert!(sql.next_ids.contains("id > $1"));
        assert!(!sql.latest.contains('{'));
    }
}

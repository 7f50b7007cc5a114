//! The extract stage: reading Postgres with keyset cursors, every call behind retry.

mod capture;
pub(crate) mod composite;
mod error;
mod horizon;
mod lag;
mod logical;
mod partitions;
mod privileges;
mod source;
mod version;

use std::future::Future;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Row;

pub(crate) use capture::{captured_columns, Change, UnfiredTrigger};
pub(crate) use error::{schema_changed, PgError};
pub(crate) use logical::{
    enable_failover, mark_position, parse_lsn, switch_point, timeline_history, Event, FailoverSlot,
    LogicalError, LogicalStream, Slot, FIRST_WITH_FAILOVER,
};
pub(crate) use partitions::{any_partitioned, Member, Trees};
pub(crate) use version::VersionError;

use crate::config::PostgresConfig;
use crate::retry::{retry, RetryPolicy};
use crate::state::{Cursor, Position};
use crate::transform::{Key, Version};

/// A table whose rows the engine follows, as a pipeline declaration describes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    /// The schema-qualified relation, e.g. `content.person`; also names its cursor in the state.
    pub relation: String,
    /// The key's columns: one, or several (a composite key, read as one text: [`composite`]).
    pub key: Vec<String>,
    /// The SQL type each key column's values are cast back to: `uuid`, `bigint`, `integer`,
    /// `smallint`, `text`.
    pub key_types: Vec<String>,
    /// The column polling follows; `None` for a table followed only by exact capture.
    pub changed_by: Option<ChangedBy>,
    /// SQL mapping changed keys of this table to the root keys they touch:
    /// `($1 text[] keys, $2 text last root key or NULL, $3 limit) -> id`, ordered.
    /// `None` for the root table itself.
    pub fan_out: Option<String>,
    /// The columns a capture trigger records for each changed row: the key and every ref.
    pub captured: Vec<String>,
}

impl Table {
    /// Whether `id` can be a key of this table (an index may hold ids pg2es never wrote).
    pub fn accepts(&self, id: &str) -> bool {
        let Some(parts) = composite::decode(id, self.key.len()) else {
            return false;
        };
        parts
            .iter()
            .zip(&self.key_types)
            .all(|(part, key_type)| match key_type.as_str() {
                "uuid" => part.parse::<uuid::Uuid>().is_ok(),
                "bigint" => part.parse::<i64>().is_ok(),
                "integer" => part.parse::<i32>().is_ok(),
                "smallint" => part.parse::<i16>().is_ok(),
                _ => true,
            })
    }

    /// The table's own names in an SQL template: `{relation}`, and the key as `{key_text}`,
    /// `{key_columns}`, `{key_columns_desc}`, `{key_after}` (from `$2`), `{key_from}` (from
    /// `$1`) and `{key_any}` (in the array `$1`), all over the row `t` (see [`composite`]).
    fn render(&self, template: &str) -> String {
        template
            .replace("{relation}", &self.relation)
            .replace("{key_text}", &composite::text(self, "t"))
            .replace(
                "{key_columns_desc}",
                &composite::columns(self, "t", " DESC"),
            )
            .replace("{key_columns}", &composite::columns(self, "t", ""))
            .replace("{key_after}", &composite::values(self, "$2"))
            .replace("{key_from}", &composite::values(self, "$1"))
            .replace("{key_any}", &composite::any(self, "t", "$1"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChangedBy {
    pub column: String,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ChangeKind {
    Timestamptz,
    /// A timestamp without time zone whose values are in `zone`.
    Timestamp {
        zone: String,
    },
    /// An increasing version number (no late-commit guard: see the README).
    Integer,
}

/// The engine's SQL for one table, rendered from the templates next to this file.
#[derive(Debug, Clone)]
struct TableSql {
    changes: Option<String>,
    latest: Option<String>,
    first_ids: String,
    next_ids: String,
    count: String,
    existing: String,
}

impl TableSql {
    fn new(table: &Table) -> Self {
        let render = |template: &str| table.render(template);
        let cursor = |template: &str| Self::cursor_sql(table, template);
        let ids = render(include_str!("sql/root_ids.sql"));
        Self {
            changes: cursor(include_str!("sql/changes.sql")),
            latest: cursor(include_str!("sql/latest.sql")),
            first_ids: ids.replace("{after}", "WHERE $1::text IS NULL"),
            next_ids: table.render(&ids.replace("{after}", "WHERE ({key_columns}) > ({key_from})")),
            count: render(include_str!("sql/count.sql")),
            existing: render(include_str!("sql/existing_ids.sql")),
        }
    }

    /// A template over the table's cursor: `{position}`, `{after}`, `{before_horizon}`,
    /// `{changed_by}` besides the table's own names; `None` without a `changed_by` column.
    fn cursor_sql(table: &Table, template: &str) -> Option<String> {
        let render = |template: &str| table.render(template);
        {
            table.changed_by.as_ref().map(|changed_by| {
                let column = &changed_by.column;
                let (position, after, before_horizon) = match &changed_by.kind {
                    ChangeKind::Timestamptz => (
                        format!("t.{column}"),
                        "$1::text::timestamptz".to_owned(),
                        format!("t.{column} < $4"),
                    ),
                    ChangeKind::Timestamp { zone } => {
                        let zone = zone.replace('\'', "''");
                        (
                            format!("(t.{column} AT TIME ZONE '{zone}')"),
                            format!("($1::text::timestamptz AT TIME ZONE '{zone}')"),
                            format!("t.{column} < ($4 AT TIME ZONE '{zone}')"),
                        )
                    }
                    ChangeKind::Integer => (
                        format!("t.{column}::int8"),
                        "$1::text::int8".to_owned(),
                        "$4::timestamptz IS NOT NULL".to_owned(),
                    ),
                };
                render(template)
                    .replace("{position}", &position)
                    .replace("{after}", &after)
                    .replace("{before_horizon}", &before_horizon)
                    .replace("{changed_by}", column)
            })
        }
    }
}

/// The lag query of a table followed by a timestamp (a version number has no age).
fn unseen_age_sql(table: &Table) -> Option<String> {
    let integer = matches!(
        table.changed_by.as_ref().map(|c| &c.kind),
        None | Some(ChangeKind::Integer)
    );
    if integer {
        return None;
    }
    TableSql::cursor_sql(table, include_str!("sql/unseen_age.sql"))
}

/// How long a diagnostic connection may take (see `Postgres::why_no_connection`).
const WHY_NO_CONNECTION: std::time::Duration = std::time::Duration::from_secs(5);

/// The position before every row: the cursor of a table that had no rows yet.
/// (Postgres cannot take chrono's minimum date, so this is 4000 BC, before any real row.)
pub(crate) fn start_cursor(table: &Table) -> Cursor {
    let at = match table.changed_by.as_ref().map(|c| &c.kind) {
        Some(ChangeKind::Integer) => Position::Version(i64::MIN),
        _ => Position::Time(
            chrono::NaiveDate::from_ymd_opt(-4000, 1, 1)
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .map(|naive| naive.and_utc())
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        ),
    };
    let parts: Vec<&str> = table
        .key_types
        .iter()
        .map(|key_type| match key_type.as_str() {
            "uuid" => "00000000-0000-0000-0000-000000000000",
            "bigint" => "-9223372036854775808",
            "integer" => "-2147483648",
            "smallint" => "-32768",
            _ => "",
        })
        .collect();
    Cursor {
        at,
        id: Key::from(composite::encode(&parts)),
    }
}

#[derive(Clone)]
pub(crate) struct Postgres {
    pool: PgPool,
    retry: RetryPolicy,
    /// `host:port/database`, for errors.
    server: String,
    /// To ask a single connection why the pool has none.
    options: PgConnectOptions,
}

/// What a document holds must not depend on the server's or the role's defaults: `to_jsonb`
/// writes a timestamp inside an array or jsonb in the session's zone and an interval in its
/// style (README, "What a document holds").
async fn session(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    use sqlx::Executor;
    conn.execute("SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'")
        .await
        .map(drop)
}

impl Postgres {
    /// A lazily connecting pool: the first query connects, behind retry.
    pub fn new(config: &PostgresConfig, retry: RetryPolicy) -> Result<Self, PgError> {
        let options = connect_options(config)?;
        let server = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.connect_timeout)
            .after_connect(|conn, _| Box::pin(async move { session(conn).await }))
            .connect_lazy_with(options.clone());
        Ok(Self {
            pool,
            retry,
            server,
            options,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// pg2es's own DDL on a followed table, in one transaction that waits at most
    /// [`error::DDL_LOCK_TIMEOUT`] for other transactions' locks, then is tried again with
    /// backoff (each attempt logged): DDL queued behind a long transaction would hold up every
    /// later query of the table.
    pub(crate) async fn ddl(&self, what: &'static str, sql: &str) -> Result<(), PgError> {
        let timeout = format!("SET LOCAL lock_timeout = '{}'", error::DDL_LOCK_TIMEOUT);
        let script = format!("{timeout};\n{sql}");
        self.call(what, || async {
            use sqlx::Executor;
            let mut tx = self.pool.begin().await?;
            // A `&str` without arguments is sent as a simple query: several statements.
            (&mut *tx).execute(script.as_str()).await?;
            tx.commit().await
        })
        .await
    }

    /// Every Postgres request goes through here: sent again for as long as its error says
    /// another attempt may work; a failure names `what` was asked.
    pub(crate) async fn call<T, Fut>(
        &self,
        what: &'static str,
        request: impl Fn() -> Fut,
    ) -> Result<T, PgError>
    where
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        retry(&self.retry, what, || async {
            let source = match request().await {
                Ok(answer) => return Ok(answer),
                Err(sqlx::Error::PoolTimedOut) => self.why_no_connection().await,
                Err(source) => source,
            };
            Err(PgError {
                what,
                server: Some(self.server.clone()),
                source,
            })
        })
        .await
    }

    /// The pool only says it timed out, whether the port is closed, the password wrong or the
    /// server still starting: one connection of its own says which.
    async fn why_no_connection(&self) -> sqlx::Error {
        let attempt =
            <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(&self.options);
        match tokio::time::timeout(WHY_NO_CONNECTION, attempt).await {
            Ok(Err(cause)) => cause,
            // It connects (the pool was only busy), or hangs: the timeout is all we know.
            Ok(Ok(_)) | Err(_) => sqlx::Error::PoolTimedOut,
        }
    }

    pub async fn ping(&self) -> Result<(), PgError> {
        self.call("ping", || sqlx::query("SELECT 1").execute(&self.pool))
            .await
            .map(|_| ())
    }

    /// The [`Version`] of documents whose statements start after this call returns: read from
    /// the current snapshot, which each of their snapshots includes.
    pub async fn snapshot_version(&self) -> Result<Version, PgError> {
        let sql = include_str!("sql/snapshot_version.sql");
        let (xmax, running): (String, i64) = self
            .call("read the snapshot's version", || {
                sqlx::query_as(sql).fetch_one(&self.pool)
            })
            .await?;
        let decode = |err: Box<dyn std::error::Error + Send + Sync>| PgError {
            what: "read the snapshot's version",
            server: Some(self.server.clone()),
            source: sqlx::Error::Decode(err),
        };
        let xmax: u64 = xmax.parse().map_err(|err| decode(Box::new(err)))?;
        Version::of_snapshot(xmax, running.max(0) as u64).map_err(|err| decode(Box::new(err)))
    }

    /// Commits a transaction of its own that only takes a transaction id, so that documents
    /// built after it carry a larger version than any built before: a repair then outranks a
    /// document someone else wrote into the index, which raised the version it found by one
    /// (see [`Version`]). `false` where no transaction id can be taken (a standby, a read-only
    /// session): what others wrote since the primary's last commit may then refuse the repair.
    pub async fn outrank_earlier_snapshots(&self) -> Result<bool, PgError> {
        let sql = include_str!("sql/outrank.sql");
        let answer = self
            .call("take a transaction id", || {
                sqlx::query_scalar::<_, Option<String>>(sql).fetch_one(&self.pool)
            })
            .await;
        match answer {
            Ok(taken) => Ok(taken.is_some()),
            Err(err) if err.is_read_only() => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Changed rows of `table` after `after` and before `horizon`, oldest first; nothing for
    /// a table without a `changed_by` column.
    pub async fn changes(
        &self,
        table: &Table,
        after: &Cursor,
        horizon: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Cursor>, PgError> {
        let Some(sql) = TableSql::new(table).changes else {
            return Ok(Vec::new());
        };
        let position = after.at.to_string();
        self.call("read changes", || async {
            let rows = sqlx::query(&sql)
                .bind(&position)
                .bind(after.id.as_str())
                .bind(i64::from(limit))
                .bind(horizon)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(|row| cursor_of(table, row)).collect()
        })
        .await
    }

    /// The newest row of `table`, or the start when it is empty (or not followed by polling).
    pub async fn latest(&self, table: &Table) -> Result<Cursor, PgError> {
        let Some(sql) = TableSql::new(table).latest else {
            return Ok(start_cursor(table));
        };
        self.call("read latest change", || async {
            let row = sqlx::query(&sql).fetch_optional(&self.pool).await?;
            row.as_ref()
                .map_or(Ok(start_cursor(table)), |row| cursor_of(table, row))
        })
        .await
    }

    /// One page of root keys in key order, after `after` (from the start when `None`).
    pub async fn root_ids(
        &self,
        table: &Table,
        after: Option<&Key>,
        limit: u32,
    ) -> Result<Vec<Key>, PgError> {
        let sql = TableSql::new(table);
        let (sql, from) = match after {
            Some(id) => (sql.next_ids, Some(id.as_str())),
            None => (sql.first_ids, None),
        };
        self.call("read root ids", || async {
            sqlx::query_scalar::<_, String>(&sql)
                .bind(from)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map(keys)
        })
        .await
    }

    /// One page of the root keys that changed keys (`changed`) reach through `sql`.
    pub async fn fan_out(
        &self,
        sql: &str,
        changed: &[Key],
        after: Option<&Key>,
        limit: u32,
    ) -> Result<Vec<Key>, PgError> {
        let changed: Vec<&str> = changed.iter().map(Key::as_str).collect();
        let after = after.map(Key::as_str);
        self.call("read affected documents", || async {
            sqlx::query_scalar::<_, String>(sql)
                .bind(&changed)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map(keys)
        })
        .await
    }

    /// The subset of `ids` that still has a row in `table`.
    pub async fn existing_ids(&self, table: &Table, ids: &[Key]) -> Result<Vec<Key>, PgError> {
        let sql = TableSql::new(table).existing;
        let ids: Vec<&str> = ids.iter().map(Key::as_str).collect();
        self.call("check rows exist", || async {
            sqlx::query_scalar::<_, String>(&sql)
                .bind(&ids)
                .fetch_all(&self.pool)
                .await
                .map(keys)
        })
        .await
    }

    pub async fn count(&self, table: &Table) -> Result<i64, PgError> {
        let sql = TableSql::new(table).count;
        self.call("count rows", || {
            sqlx::query_scalar(&sql).fetch_one(&self.pool)
        })
        .await
    }
}

fn keys(texts: Vec<String>) -> Vec<Key> {
    texts.into_iter().map(Key::from).collect()
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

fn cursor_of(table: &Table, row: &sqlx::postgres::PgRow) -> Result<Cursor, sqlx::Error> {
    let at = match table.changed_by.as_ref().map(|c| &c.kind) {
        Some(ChangeKind::Integer) => Position::Version(row.try_get("changed_at")?),
        _ => Position::Time(row.try_get("changed_at")?),
    };
    let id = row.try_get::<String, _>("id")?;
    Ok(Cursor {
        at,
        id: Key::from(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_the_table() {
        let table = Table {
            relation: "content.person".into(),
            key: vec!["id".into()],
            key_types: vec!["uuid".into()],
            changed_by: Some(ChangedBy {
                column: "updated_at".into(),
                kind: ChangeKind::Timestamptz,
            }),
            fan_out: None,
            captured: vec!["id".into()],
        };
        let sql = TableSql::new(&table);
        let changes = sql.changes.unwrap();
        assert!(changes.contains("FROM content.person"), "{changes}");
        assert!(
            changes.contains("(t.updated_at, t.id) > ($1::text::timestamptz, $2::text::uuid)"),
            "{changes}"
        );
        assert!(
            sql.next_ids.contains("WHERE (t.id) > ($1::text::uuid)"),
            "{}",
            sql.next_ids
        );
        assert!(sql.first_ids.contains("WHERE $1::text IS NULL"));
        assert!(!sql.latest.unwrap().contains('{'));
    }

    #[test]
    fn a_composite_key_is_a_keyset_over_its_parts() {
        let table = Table {
            relation: "bib.credit".into(),
            key: vec!["book_isbn".into(), "author_id".into()],
            key_types: vec!["text".into(), "integer".into()],
            changed_by: Some(ChangedBy {
                column: "updated_at".into(),
                kind: ChangeKind::Timestamptz,
            }),
            fan_out: None,
            captured: vec!["book_isbn".into()],
        };
        let changes = TableSql::new(&table).changes.unwrap();
        let part = |n: u8, cast: &str| {
            format!(
                "replace(replace(split_part($2::text, '/', {n}), '%2F', '/'), '%25', '%')::{cast}"
            )
        };
        let after = format!(
            "($1::text::timestamptz, {}, {})",
            part(1, "text"),
            part(2, "integer")
        );
        assert!(
            changes.contains(&format!(
                "(t.updated_at, t.book_isbn, t.author_id) > {after}"
            )),
            "{changes}"
        );
        assert!(
            changes.contains("ORDER BY t.updated_at, t.book_isbn, t.author_id"),
            "{changes}"
        );
        let latest = TableSql::new(&table).latest.unwrap();
        assert!(
            latest.contains("t.book_isbn DESC, t.author_id DESC"),
            "{latest}"
        );
        let went_back = TableSql::cursor_sql(&table, include_str!("sql/went_back.sql")).unwrap();
        assert!(
            went_back.contains("WHERE (t.book_isbn, t.author_id) = ("),
            "{went_back}"
        );
        assert_eq!(start_cursor(&table).id, Key::from("/-2147483648"));
        assert!(table.accepts("978%2F1/7") && !table.accepts("978/1/7") && !table.accepts("a/b"));
    }

    #[test]
    fn a_timestamp_without_zone_is_read_in_its_declared_zone() {
        let table = Table {
            relation: "shop.orders".into(),
            key: vec!["order_id".into()],
            key_types: vec!["bigint".into()],
            changed_by: Some(ChangedBy {
                column: "modified".into(),
                kind: ChangeKind::Timestamp {
                    zone: "Europe/Moscow".into(),
                },
            }),
            fan_out: None,
            captured: vec![],
        };
        let changes = TableSql::new(&table).changes.unwrap();
        assert!(changes.contains("(t.modified AT TIME ZONE 'Europe/Moscow') AS changed_at"));
        assert!(changes.contains("(t.modified, t.order_id) > (($1::text::timestamptz AT TIME ZONE 'Europe/Moscow'), $2::text::bigint)"), "{changes}");
        assert!(
            changes.contains("ORDER BY t.modified, t.order_id"),
            "{changes}"
        );
        assert_eq!(start_cursor(&table).id, Key::from("-9223372036854775808"));
    }
}

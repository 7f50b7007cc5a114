//! Which database this is, and whether it went back in time: a state file's cursors and the
//! index it fed mean nothing for another database, or for this one restored from a backup.

use sqlx::Row;

use super::{PgError, Postgres, Table, TableSql};
use crate::state::{Cursor, Source};

impl Postgres {
    /// The cluster, timeline and database connected to.
    pub async fn source(&self) -> Result<Source, PgError> {
        self.call("identify the database", || async {
            let row = sqlx::query(include_str!("sql/source.sql"))
                .fetch_one(self.pool())
                .await?;
            let timeline: i64 = row.try_get("timeline")?;
            let oid: i64 = row.try_get("database_oid")?;
            Ok(Source {
                system_identifier: row.try_get("system_identifier")?,
                timeline: u32::try_from(timeline).unwrap_or_default(),
                database: row.try_get("database")?,
                database_oid: u32::try_from(oid).unwrap_or_default(),
            })
        })
        .await
    }

    /// Whether the row `cursor` stands on is now older than the cursor (see `went_back.sql`);
    /// `false` for a table followed without a `changed_by` column, or a row deleted since.
    pub async fn went_back(&self, table: &Table, cursor: &Cursor) -> Result<bool, PgError> {
        let Some(sql) = TableSql::cursor_sql(table, include_str!("sql/went_back.sql")) else {
            return Ok(false);
        };
        let (at, id) = (cursor.at.to_string(), cursor.id.as_str().to_owned());
        self.call("compare a cursor with its row", || async {
            let older: Option<Option<bool>> = sqlx::query_scalar(&sql)
                .bind(&at)
                .bind(&id)
                .fetch_optional(self.pool())
                .await?;
            Ok(older.flatten().unwrap_or(false))
        })
        .await
    }
}

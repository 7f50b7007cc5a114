//! How long the oldest change the index has not seen yet has been waiting in Postgres.

use super::{PgError, Postgres, Table};
use crate::state::Cursor;

impl Postgres {
    /// Seconds since the oldest row of `table` changed after `after`; `None` when none did.
    pub async fn unseen_age(&self, table: &Table, after: &Cursor) -> Result<Option<f64>, PgError> {
        let Some(sql) = super::unseen_age_sql(table) else {
            return Ok(None);
        };
        let position = after.at.to_string();
        self.call("measure lag", || {
            sqlx::query_scalar::<_, f64>(&sql)
                .bind(&position)
                .bind(after.id.as_str())
                .fetch_optional(self.pool())
        })
        .await
    }

    /// Seconds since the oldest recorded change still waiting was recorded; `None` when none.
    pub async fn recorded_age(&self, consumer: &str) -> Result<Option<f64>, PgError> {
        self.call("measure lag", || {
            sqlx::query_scalar(include_str!("sql/recorded_age.sql"))
                .bind(consumer)
                .fetch_one(self.pool())
        })
        .await
    }
}

//! How long the oldest change the index has not seen yet has been waiting in Postgres.

use super::{PgError, Postgres, Table};
use crate::retry::retry;
use crate::state::Cursor;

impl Postgres {
    /// Seconds since the oldest row of `table` changed after `after`; `None` when none did.
    pub async fn unseen_age(&self, table: &Table, after: Cursor) -> Result<Option<f64>, PgError> {
        let sql = include_str!("sql/unseen_age.sql")
            .replace("{relation}", table.relation)
            .replace("{cursor_column}", table.cursor_column);
        retry(self.retry_policy(), "measure lag", || async {
            sqlx::query_scalar::<_, f64>(&sql)
                .bind(after.at)
                .bind(after.id)
                .fetch_optional(self.pool())
                .await
                .map_err(PgError::new("measure lag"))
        })
        .await
    }

    /// Seconds since the oldest recorded change still waiting was recorded; `None` when none.
    pub async fn recorded_age(&self) -> Result<Option<f64>, PgError> {
        retry(self.retry_policy(), "measure lag", || async {
            sqlx::query_scalar::<_, Option<f64>>(include_str!("sql/recorded_age.sql"))
                .fetch_one(self.pool())
                .await
                .map_err(PgError::new("measure lag"))
        })
        .await
    }
}

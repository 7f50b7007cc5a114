//! A logical slot on a hot standby (Postgres 16+): the standby decodes its own replayed log
//! and serves the document queries, and pg2es writes nothing there. A cycle's fence is the
//! standby's replay position; what must be written on the primary (a publication, replica
//! identities, the record a new slot waits for) goes through `postgres.primary_url`.

use std::time::Duration;

use sqlx::Row;

use super::Slot;
use crate::config::PostgresConfig;
use crate::extract::{PgError, Postgres};
use crate::retry::RetryPolicy;

/// How often the primary is asked for the record a slot being made on a standby waits for.
const NUDGE_EVERY: Duration = Duration::from_millis(500);

/// What a hot standby needs for a slot of its own.
pub(crate) struct StandbySettings {
    /// `hot_standby_feedback`: without it, the primary may remove catalog rows the slot still
    /// decodes with, and Postgres invalidates the slot (then: a new slot and a rebuild).
    pub feedback: bool,
    /// `primary_slot_name`: without a physical slot, the primary may recycle log the standby
    /// has not received.
    pub primary_slot: Option<String>,
}

impl Postgres {
    /// The primary of `config.url`'s standby (`postgres.primary_url`), with the same TLS
    /// settings; `None` when not configured.
    pub fn primary_of(
        config: &PostgresConfig,
        retry: RetryPolicy,
    ) -> Result<Option<Postgres>, PgError> {
        let Some(url) = &config.primary_url else {
            return Ok(None);
        };
        let primary = PostgresConfig {
            url: url.clone(),
            url_file: None,
            primary_url: None,
            ..config.clone()
        };
        Postgres::new(&primary, retry).map(Some)
    }

    /// A hot standby's replay position: the fence of a cycle reading a slot there.
    pub async fn replayed(&self) -> Result<String, PgError> {
        self.call("read the replay position", || {
            sqlx::query_scalar(include_str!("sql/replayed.sql")).fetch_one(self.pool())
        })
        .await
    }

    pub async fn standby_settings(&self) -> Result<StandbySettings, PgError> {
        self.call("read the standby's settings", || async {
            let row = sqlx::query(include_str!("sql/standby_settings.sql"))
                .fetch_one(self.pool())
                .await?;
            let primary_slot: String = row.try_get("primary_slot_name")?;
            Ok(StandbySettings {
                feedback: row.try_get("hot_standby_feedback")?,
                primary_slot: Some(primary_slot).filter(|name| !name.is_empty()),
            })
        })
        .await
    }

    /// Creates the slot unless it is there. On a hot standby this waits for the primary's
    /// next record of running transactions (logged every 15 s while the primary is busy);
    /// given the `primary`, pg2es asks it for one at once, and again until the slot is made.
    pub async fn create_slot_nudged(
        &self,
        slot: &Slot,
        primary: Option<&Postgres>,
    ) -> Result<bool, PgError> {
        let Some(primary) = primary else {
            return self.create_slot(slot).await;
        };
        let create = self.create_slot(slot);
        let mut create = std::pin::pin!(create);
        loop {
            tokio::select! {
                made = &mut create => return made,
                () = tokio::time::sleep(NUDGE_EVERY) => {
                    if let Err(err) = primary.log_standby_snapshot().await {
                        tracing::warn!(error = %err, "cannot ask the primary for a record of running transactions: the slot on the standby waits for the next one (up to 15 s)");
                    }
                }
            }
        }
    }

    /// `pg_log_standby_snapshot()` (16+): a record of running transactions now.
    async fn log_standby_snapshot(&self) -> Result<(), PgError> {
        self.call("log a standby snapshot", || {
            sqlx::query("SELECT pg_log_standby_snapshot()").execute(self.pool())
        })
        .await
        .map(|_| ())
    }
}

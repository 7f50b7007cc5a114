//! The late-commit guard of polling: the start of the oldest transaction still open, and the
//! session that holds it, so that a session left idle in a transaction is named, not guessed.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{PgError, Postgres};

/// The instant before which every row change is committed or rolled back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Horizon {
    /// The server's `now()` when it was read.
    pub now: DateTime<Utc>,
    /// The oldest transaction open in the database (`None`: none is, or none is visible).
    pub oldest: Option<OpenTransaction>,
}

/// A transaction open in the database, as `pg_stat_activity` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct OpenTransaction {
    pub pid: i32,
    pub application_name: String,
    pub client_addr: Option<String>,
    /// `idle in transaction`, `active`, …
    pub state: Option<String>,
    pub started_at: DateTime<Utc>,
}

impl Horizon {
    /// Where polling may read up to: the start of the oldest open transaction, else now.
    pub fn at(&self) -> DateTime<Utc> {
        self.oldest
            .as_ref()
            .map_or(self.now, |open| open.started_at)
    }

    /// How long the horizon has stood behind now.
    pub fn age(&self) -> std::time::Duration {
        (self.now - self.at()).to_std().unwrap_or_default()
    }

    /// The open transaction holding polling back for longer than `after`, if one does.
    pub fn held_back(&self, after: std::time::Duration) -> Option<&OpenTransaction> {
        self.oldest.as_ref().filter(|_| self.age() > after)
    }
}

impl std::fmt::Display for OpenTransaction {
    /// `pid 4242 (application "etl", client 10.0.0.5, idle in transaction)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} (application {:?}, client {}, {})",
            self.pid,
            self.application_name,
            self.client_addr.as_deref().unwrap_or("local socket"),
            self.state.as_deref().unwrap_or("state unknown")
        )
    }
}

impl Postgres {
    /// The commit horizon and the transaction that sets it (see `horizon.sql`).
    pub async fn horizon(&self) -> Result<Horizon, PgError> {
        let row = self
            .call("read the commit horizon", || {
                sqlx::query(include_str!("sql/horizon.sql")).fetch_one(self.pool())
            })
            .await?;
        horizon_of(&row).map_err(PgError::new("read the commit horizon"))
    }

    /// Whether the role sees every role's transactions, and its name: without that the guard
    /// cannot see a late commit coming.
    pub async fn sees_all_sessions(&self) -> Result<(bool, String), PgError> {
        self.call("check pg_read_all_stats", || {
            sqlx::query_as(include_str!("sql/sees_all_sessions.sql")).fetch_one(self.pool())
        })
        .await
    }
}

fn horizon_of(row: &sqlx::postgres::PgRow) -> Result<Horizon, sqlx::Error> {
    let started_at: Option<DateTime<Utc>> = row.try_get("xact_start")?;
    let oldest = match started_at {
        None => None,
        Some(started_at) => Some(OpenTransaction {
            pid: row.try_get("pid")?,
            application_name: row.try_get("application_name")?,
            client_addr: row.try_get("client_addr")?,
            state: row.try_get("state")?,
            started_at,
        }),
    };
    Ok(Horizon {
        now: row.try_get("now")?,
        oldest,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn open_since(seconds: i64, now: DateTime<Utc>) -> OpenTransaction {
        OpenTransaction {
            pid: 4242,
            application_name: "etl".into(),
            client_addr: Some("10.0.0.5".into()),
            state: Some("idle in transaction".into()),
            started_at: now - chrono::Duration::seconds(seconds),
        }
    }

    #[test]
    fn the_oldest_open_transaction_sets_the_horizon_and_is_named_once_held_long() {
        let now = Utc::now();
        let horizon = Horizon {
            now,
            oldest: Some(open_since(90, now)),
        };
        assert_eq!(horizon.at(), now - chrono::Duration::seconds(90));
        assert_eq!(horizon.age(), Duration::from_secs(90));
        assert!(horizon.held_back(Duration::from_secs(120)).is_none());
        let holder = horizon.held_back(Duration::from_secs(60)).unwrap();
        assert_eq!(
            holder.to_string(),
            "pid 4242 (application \"etl\", client 10.0.0.5, idle in transaction)"
        );
    }

    #[test]
    fn without_an_open_transaction_the_horizon_is_now() {
        let now = Utc::now();
        let horizon = Horizon { now, oldest: None };
        assert_eq!(horizon.at(), now);
        assert!(horizon.held_back(Duration::ZERO).is_none());
    }
}

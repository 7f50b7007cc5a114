//! Failover slots (Postgres 17+): a slot made with `failover = true` is copied to a standby
//! that synchronizes slots and outlives that standby's promotion. This file makes them so,
//! reads whether a slot is one and whether a standby keeps it, and reads the timeline history
//! of a promoted server: where it forked from the timeline the positions were read on.

use pgwire_replication::{Lsn, ReplicationClient};
use sqlx::Row;

use super::stream::{replication_config, LogicalError};
use super::Slot;
use crate::config::PostgresConfig;
use crate::extract::{PgError, Postgres};

/// `server_version_num` of the first release whose slots a standby can synchronize.
pub(crate) const FIRST_WITH_FAILOVER: i32 = 170_000;

/// A slot's failover properties as `pg_replication_slots` shows them (Postgres 17+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailoverSlot {
    /// Made (or altered) with `failover = true`: standbys that synchronize slots copy it.
    pub failover: bool,
    /// Copied from a primary: on a promoted standby, the slot that outlived the failover.
    pub synced: bool,
    /// Why Postgres invalidated the slot (`wal_removed`, `rows_removed`, …), if it did.
    pub invalidation: Option<String>,
}

/// Whether a standby keeps the failover slots (read on the primary, Postgres 17+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StandbySync {
    /// `synchronized_standby_slots`: the physical slots of the standbys that must have a
    /// change before a logical reader gets it.
    pub standby_slots: Vec<String>,
    /// Those of them that exist and that a walsender reads now.
    pub active: Vec<String>,
    /// `synchronous_standby_names` is set: a commit is visible only once a standby has it.
    pub synchronous: bool,
}

impl Postgres {
    /// `server_version_num`.
    pub async fn server_version_num(&self) -> Result<i32, PgError> {
        self.call("read the server version", || {
            sqlx::query_scalar(include_str!("sql/server_version.sql")).fetch_one(self.pool())
        })
        .await
    }

    /// Whether the server's slots can outlive a failover: Postgres 17+, and a primary (a slot
    /// made on a standby cannot be a failover slot: Postgres refuses it).
    pub async fn keeps_slots_across_failover(&self) -> Result<bool, PgError> {
        Ok(self.server_version_num().await? >= FIRST_WITH_FAILOVER && !self.is_standby().await?)
    }

    /// The slot's failover properties; `None` when there is no such slot. Postgres 17+ only.
    pub async fn failover_slot(&self, slot: &Slot) -> Result<Option<FailoverSlot>, PgError> {
        let row = self
            .call("read the replication slot's failover", || {
                sqlx::query(include_str!("sql/slot_failover.sql"))
                    .bind(&slot.name)
                    .fetch_optional(self.pool())
            })
            .await?;
        let Some(row) = row else { return Ok(None) };
        let read = || {
            Ok::<_, sqlx::Error>(FailoverSlot {
                failover: row.try_get("failover")?,
                synced: row.try_get("synced")?,
                invalidation: row.try_get("invalidation_reason")?,
            })
        };
        read()
            .map(Some)
            .map_err(PgError::new("read the replication slot's failover"))
    }

    /// Which standbys keep the failover slots. Postgres 17+ only.
    pub async fn standby_sync(&self) -> Result<StandbySync, PgError> {
        let row = self
            .call("read the standbys that synchronize slots", || {
                sqlx::query(include_str!("sql/standby_sync.sql")).fetch_one(self.pool())
            })
            .await?;
        let read = || {
            Ok::<_, sqlx::Error>(StandbySync {
                standby_slots: row.try_get("standby_slots")?,
                active: row.try_get("active")?,
                synchronous: row.try_get("synchronous")?,
            })
        };
        read().map_err(PgError::new("read the standbys that synchronize slots"))
    }
}

/// A replication session that runs commands and never streams (it ends when dropped).
async fn replication_session(
    config: &PostgresConfig,
    slot: &Slot,
) -> Result<ReplicationClient, LogicalError> {
    let settings = replication_config(config, slot)?;
    ReplicationClient::connect_gated(settings)
        .await
        .map_err(|source| LogicalError::Stream {
            slot: slot.name.clone(),
            source,
        })
}

/// The server's current timeline and its history file (empty on timeline 1), read with
/// IDENTIFY_SYSTEM and TIMELINE_HISTORY on a replication session: they need only the
/// REPLICATION attribute logical capture needs anyway, where reading `pg_wal/*.history` with
/// `pg_read_file` would need a superuser or `pg_read_server_files`.
pub(crate) async fn timeline_history(
    config: &PostgresConfig,
    slot: &Slot,
) -> Result<(u32, String), LogicalError> {
    let failed = |source| LogicalError::Stream {
        slot: slot.name.clone(),
        source,
    };
    let mut session = replication_session(config, slot).await?;
    let timeline = session.identify_system().await.map_err(failed)?.timeline;
    if timeline == 1 {
        return Ok((timeline, String::new()));
    }
    let history = session.timeline_history(timeline).await.map_err(failed)?;
    Ok((
        timeline,
        String::from_utf8_lossy(&history.content).into_owned(),
    ))
}

/// Turns `failover` on for a slot made before (by Postgres 16, or an earlier release of
/// pg2es): ALTER_REPLICATION_SLOT, a replication command of Postgres 17. Postgres refuses it
/// while a reader holds the slot.
pub(crate) async fn enable_failover(
    config: &PostgresConfig,
    slot: &Slot,
) -> Result<(), LogicalError> {
    let mut session = replication_session(config, slot).await?;
    session
        .simple_query(&format!(
            "ALTER_REPLICATION_SLOT \"{}\" ( FAILOVER true )",
            slot.name
        ))
        .await
        .map_err(|source| LogicalError::Stream {
            slot: slot.name.clone(),
            source,
        })?;
    Ok(())
}

/// Where `timeline` ended in a timeline history file: the switch point of its line
/// (`<timeline>\t<switch point>\t<reason>`); `None` when the history does not pass through it.
pub(crate) fn switch_point(history: &str, timeline: u32) -> Option<Lsn> {
    for line in history.lines() {
        let mut fields = line.split_whitespace();
        let Some(parent) = fields.next().and_then(|f| f.parse::<u32>().ok()) else {
            continue;
        };
        if parent == timeline {
            return fields.next().and_then(|lsn| Lsn::parse(lsn).ok());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const HISTORY: &str = "1\t0/3000198\tno recovery target specified\n\
                           \n\
                           2\t0/5A0000A0\tno recovery target specified\n";

    #[test]
    fn the_switch_point_is_where_the_timeline_ended() {
        assert_eq!(switch_point(HISTORY, 1), Lsn::parse("0/3000198").ok());
        assert_eq!(switch_point(HISTORY, 2), Lsn::parse("0/5A0000A0").ok());
    }

    #[test]
    fn a_timeline_the_history_does_not_pass_through_has_no_switch_point() {
        assert_eq!(switch_point(HISTORY, 3), None);
        assert_eq!(switch_point("", 1), None);
        assert_eq!(switch_point("# a comment\n1\tnot-a-position\tx\n", 1), None);
    }
}

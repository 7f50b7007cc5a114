//! A promoted standby as the new server of the slot (Postgres 17+): when it kept the slot
//! (synchronized as a failover slot) and forked from the old primary's timeline at or after
//! everything the index holds from the stream, streaming goes on from the slot there without
//! a rebuild. Anything else (another server, an older Postgres, no synchronized slot, changes
//! in the index past the fork) is what it was before: a new slot and a rebuild behind the alias.

use pgwire_replication::Lsn;
use tracing::warn;

use crate::extract::{parse_lsn, switch_point, FailoverSlot, FIRST_WITH_FAILOVER};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::Engine;
use crate::state::Source;

/// What was known and what is found when the server changed under the slot.
#[derive(Debug, Clone)]
pub(super) struct ServerChange<'a> {
    /// The state's server, `<system identifier>/<timeline>`.
    pub known: &'a str,
    /// The server now.
    pub server: &'a str,
    pub server_version_num: i32,
    /// The slot on the server now (`None`: there is none, or the server is older than 17).
    pub slot: Option<&'a FailoverSlot>,
    /// No change the index holds from the stream lies past this (the state's `slot_through`).
    pub through: Option<Lsn>,
    /// The history file of the server's current timeline.
    pub history: &'a str,
    /// The server holds the slot of the name, not invalidated (any kind, any version).
    pub own_slot: bool,
}

/// Whether the slot is read on after the server changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The server is the old primary's promoted standby and has all the index holds: the slot
    /// it kept is read on. `fork` is where its timeline left the known one.
    Keep { fork: Lsn },
    /// The hot standby whose own slot was read was promoted: the slot is still there, and the
    /// index holds only what that server had replayed, all of it in its new timeline's history.
    KeepOwn,
    /// A new slot and a rebuild behind the alias, for this reason.
    Rebuild(String),
}

/// How the server identity ends on a hot standby (its slots are its own).
const STANDBY: &str = " standby";

fn identity(text: &str) -> Option<(&str, u32)> {
    let (system, timeline) = text.strip_suffix(STANDBY).unwrap_or(text).split_once('/')?;
    Some((system, timeline.parse().ok()?))
}

/// The state's database after a promotion that kept the slot: the same cluster and database,
/// on the promoted server's timeline (else the start would take it for another database).
pub(super) fn follow_promotion(source: Option<&mut Source>, server: &str) {
    let (Some(source), Some((system, timeline))) = (source, identity(server)) else {
        return;
    };
    if source.system_identifier == system {
        source.timeline = timeline;
    }
}

/// Keep the slot or rebuild: the first condition that fails names the reason.
pub(super) fn verdict(change: &ServerChange) -> Verdict {
    if let Some(verdict) = own_slot_promoted(change) {
        return verdict;
    }
    let checked = promotion(change.known, change.server)
        .and_then(|timelines| slot_kept(change, timelines).map(|()| timelines))
        .and_then(|timelines| index_before_fork(change, timelines));
    match checked {
        Ok(fork) => Verdict::Keep { fork },
        Err(reason) => Verdict::Rebuild(reason),
    }
}

/// The standby that was read, promoted (same system identifier, a newer timeline, no longer
/// in recovery): its own slot is read on if it is still there; `None` for any other change.
fn own_slot_promoted(change: &ServerChange) -> Option<Verdict> {
    change.known.strip_suffix(STANDBY)?;
    if change.server.ends_with(STANDBY) {
        return None;
    }
    let ((known_system, known_timeline), (system, timeline)) =
        (identity(change.known)?, identity(change.server)?);
    if known_system != system || timeline <= known_timeline {
        return None;
    }
    Some(match change.own_slot {
        true => Verdict::KeepOwn,
        false => Verdict::Rebuild(format!("timeline {known_timeline} → {timeline}: the hot standby read was promoted, and its slot is gone or invalidated")),
    })
}

/// The known and the current timeline when the server is a promotion of the known one's
/// cluster: the same system identifier, a newer timeline, neither a standby's own slots.
fn promotion(known: &str, server: &str) -> Result<(u32, u32), String> {
    if known.ends_with(STANDBY) || server.ends_with(STANDBY) {
        return Err("postgres.url moved between a primary and its hot standby: a standby's slots are its own, never failover slots".into());
    }
    let (Some((known_system, known_timeline)), Some((system, timeline))) =
        (identity(known), identity(server))
    else {
        return Err(format!(
            "the server identity {known} → {server} cannot be read"
        ));
    };
    if known_system != system {
        return Err(format!(
            "another server (system identifier {known_system} → {system}): a restore or a new cluster"
        ));
    }
    if timeline <= known_timeline {
        return Err(format!(
            "timeline {known_timeline} → {timeline}: the server went back in its history (a restore)"
        ));
    }
    Ok((known_timeline, timeline))
}

/// The promoted server kept the slot: Postgres 17+, synchronized from the old primary, valid.
fn slot_kept(change: &ServerChange, (known, timeline): (u32, u32)) -> Result<(), String> {
    let failover = format!("timeline {known} → {timeline} (a failover)");
    if change.server_version_num < FIRST_WITH_FAILOVER {
        return Err(format!(
            "{failover}, and Postgres before 17 keeps no slot across a failover"
        ));
    }
    let Some(slot) = change.slot else {
        return Err(format!("{failover}, and the promoted server has no such slot: no standby synchronized it (failover slot, sync_replication_slots)"));
    };
    if let Some(invalidation) = &slot.invalidation {
        return Err(format!(
            "{failover}, and the slot the promoted server kept is invalidated ({invalidation})"
        ));
    }
    if !slot.synced {
        return Err(format!("{failover}, and the slot on the promoted server was not synchronized from the old primary"));
    }
    Ok(())
}

/// Where the promoted server's timeline left the known one, when no change the index holds
/// lies past it.
fn index_before_fork(change: &ServerChange, (known, timeline): (u32, u32)) -> Result<Lsn, String> {
    let failover = format!("timeline {known} → {timeline} (a failover)");
    let Some(through) = change.through else {
        return Err(format!(
            "{failover}, and the state file does not say how far the index holds the stream"
        ));
    };
    let Some(fork) = switch_point(change.history, known) else {
        return Err(format!(
            "timeline {known} is not in the history of timeline {timeline}"
        ));
    };
    if through > fork {
        return Err(format!("{failover} forked at {fork}, and the index holds changes up to {through}, which the promoted server never had (set synchronized_standby_slots on the primary)"));
    }
    Ok(fork)
}

impl<P: Pipeline> Engine<P> {
    /// Reads what the verdict needs from the server that replaced `known` and gives it.
    pub(super) async fn after_server_change(
        &mut self,
        known: &str,
        server: &str,
    ) -> Result<Verdict, SyncError> {
        let slot = self.reader().slot.clone();
        let server_version_num = self.pg.server_version_num().await?;
        let failover_slot = match server_version_num >= FIRST_WITH_FAILOVER {
            true => self.pg.failover_slot(&slot).await?,
            false => None,
        };
        let history = match &failover_slot {
            Some(_) => {
                let postgres = self.reader().postgres.clone();
                crate::extract::timeline_history(&postgres, &slot).await?.1
            }
            None => String::new(),
        };
        let through = self.state.slot_through.as_deref().and_then(parse_lsn);
        let own_slot = self
            .pg
            .slot_state(&slot)
            .await?
            .is_some_and(|state| state.wal_status.as_deref() != Some("lost"));
        let verdict = verdict(&ServerChange {
            known,
            server,
            server_version_num,
            slot: failover_slot.as_ref(),
            through,
            history: &history,
            own_slot,
        });
        if verdict == Verdict::KeepOwn {
            warn!(slot = slot.name, known, server, "the Postgres server is the hot standby whose slot was read, promoted: streaming goes on from its slot, without a rebuild");
        }
        if let Verdict::Keep { fork } = &verdict {
            warn!(slot = slot.name, known, server, fork = %fork, through = ?through.map(|t| t.to_string()), "the Postgres server is a promoted standby that kept the slot and has every change the index holds: streaming goes on from the slot, without a rebuild");
        }
        Ok(verdict)
    }

    /// On Postgres 17+, before the documents of changes up to `commit` are written: the state
    /// says no change the index holds lies past it.
    pub(super) async fn note_through(&mut self, commit: Lsn) -> Result<(), SyncError> {
        if !self.reader().keeps_slot_on_failover {
            return Ok(());
        }
        let known = self.state.slot_through.as_deref().and_then(parse_lsn);
        if known.is_some_and(|known| known >= commit) {
            return Ok(());
        }
        self.state.slot_through = Some(commit.to_string());
        self.save().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HISTORY: &str = "1\t0/3000198\tno recovery target specified\n";

    fn synced() -> FailoverSlot {
        FailoverSlot {
            failover: true,
            synced: true,
            invalidation: None,
        }
    }

    fn lsn(text: &str) -> Lsn {
        Lsn::parse(text).unwrap()
    }

    fn promotion(slot: &FailoverSlot) -> ServerChange<'_> {
        ServerChange {
            known: "7300000000000000001/1",
            server: "7300000000000000001/2",
            server_version_num: 170_004,
            slot: Some(slot),
            through: Some(lsn("0/3000100")),
            history: HISTORY,
            own_slot: false,
        }
    }

    #[test]
    fn the_standby_read_promoted_keeps_its_own_slot_when_it_is_there() {
        let promoted = ServerChange {
            known: "7300000000000000001/1 standby",
            server: "7300000000000000001/2",
            server_version_num: 160_004,
            slot: None,
            through: None,
            history: "",
            own_slot: true,
        };
        assert_eq!(verdict(&promoted), Verdict::KeepOwn);
        let gone = ServerChange {
            own_slot: false,
            ..promoted.clone()
        };
        assert!(
            reason(&gone).contains("its slot is gone"),
            "{}",
            reason(&gone)
        );
        let its_primary = ServerChange {
            server: "7300000000000000001/1",
            ..promoted.clone()
        };
        assert!(reason(&its_primary).contains("moved between a primary and its hot standby"));
        let another = ServerChange {
            server: "7300000000000000002/2",
            ..promoted
        };
        assert!(reason(&another).contains("hot standby"));
    }

    fn reason(change: &ServerChange) -> String {
        match verdict(change) {
            Verdict::Rebuild(reason) => reason,
            keep => panic!("expected a rebuild, got {keep:?}"),
        }
    }

    #[test]
    fn a_promoted_standby_that_kept_the_slot_and_has_all_the_index_holds_keeps_it() {
        let slot = synced();
        let fork = lsn("0/3000198");
        assert_eq!(verdict(&promotion(&slot)), Verdict::Keep { fork });
        let at_the_fork = ServerChange {
            through: Some(fork),
            ..promotion(&slot)
        };
        assert_eq!(verdict(&at_the_fork), Verdict::Keep { fork });
        let two_promotions = ServerChange {
            server: "7300000000000000001/3",
            history: "1\t0/3000198\tx\n2\t0/4000000\tx\n",
            ..promotion(&slot)
        };
        assert_eq!(verdict(&two_promotions), Verdict::Keep { fork });
    }

    #[test]
    fn the_database_follows_a_promotion_of_its_cluster_only() {
        let mut source = Source {
            system_identifier: "7300000000000000001".into(),
            timeline: 1,
            database: "films".into(),
            database_oid: 16384,
        };
        follow_promotion(Some(&mut source), "7300000000000000002/2");
        assert_eq!(source.timeline, 1, "another cluster");
        follow_promotion(Some(&mut source), "7300000000000000001/2");
        assert_eq!(source.timeline, 2);
        follow_promotion(None, "7300000000000000001/3");
    }

    #[test]
    fn changes_in_the_index_past_the_fork_rebuild() {
        let slot = synced();
        let past = ServerChange {
            through: Some(lsn("0/3000199")),
            ..promotion(&slot)
        };
        assert!(reason(&past).contains("never had"), "{}", reason(&past));
    }

    #[test]
    fn another_server_or_history_rebuilds() {
        let slot = synced();
        let restored = ServerChange {
            server: "7300000000000000002/2",
            ..promotion(&slot)
        };
        assert!(reason(&restored).contains("another server"));
        let back = ServerChange {
            known: "7300000000000000001/3",
            ..promotion(&slot)
        };
        assert!(reason(&back).contains("went back"));
        let elsewhere = ServerChange {
            history: "3\t0/3000198\tx\n",
            ..promotion(&slot)
        };
        assert!(reason(&elsewhere).contains("not in the history"));
        let from_standby = ServerChange {
            known: "7300000000000000001/1 standby",
            ..promotion(&slot)
        };
        assert!(reason(&from_standby).contains("hot standby"));
        let to_standby = ServerChange {
            server: "7300000000000000001/1 standby",
            known: "7300000000000000001/1",
            ..promotion(&slot)
        };
        assert!(reason(&to_standby).contains("hot standby"));
        let unreadable = ServerChange {
            known: "1234",
            ..promotion(&slot)
        };
        assert!(reason(&unreadable).contains("cannot be read"));
    }

    #[test]
    fn a_slot_not_kept_across_the_failover_rebuilds() {
        let slot = synced();
        let older = ServerChange {
            server_version_num: 160_004,
            ..promotion(&slot)
        };
        assert!(reason(&older).contains("before 17"));
        let missing = ServerChange {
            slot: None,
            ..promotion(&slot)
        };
        assert!(reason(&missing).contains("no such slot"));
        let made_there = FailoverSlot {
            synced: false,
            ..synced()
        };
        assert!(reason(&promotion(&made_there)).contains("not synchronized"));
        let invalidated = FailoverSlot {
            invalidation: Some("rows_removed".into()),
            ..synced()
        };
        assert!(reason(&promotion(&invalidated)).contains("rows_removed"));
        let unknown = ServerChange {
            through: None,
            ..promotion(&slot)
        };
        assert!(reason(&unknown).contains("how far"));
    }
}

//! Logical mode's slot: usable at start (`setup` was run, the same server, the same name as
//! the positions were read from), and made again when Postgres dropped or invalidated it;
//! each time it is, the index is rebuilt behind the alias.

use tracing::{error, warn};

use super::failover::{follow_promotion, Verdict};
use crate::extract::{Member, Slot};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::Engine;

/// Why the slot's position does not follow the index's: the state names another slot, or
/// (a state file of an earlier release) the index was filled from the slot's earlier name.
fn renamed_slot(known: Option<&str>, slot: &Slot, backfill_done: bool) -> Option<String> {
    match (known, &slot.legacy) {
        (Some(known), _) if known != slot.name => Some(format!(
            "the replication slot is now {} (the positions were read from {known})",
            slot.name
        )),
        (None, Some(legacy)) if backfill_done => Some(format!(
            "the replication slot is now {} (earlier releases read from {legacy}, a name another pipeline could share: drop it once no earlier worker reads it)",
            slot.name
        )),
        _ => None,
    }
}

impl<P: Pipeline> Engine<P> {
    /// At start: the server can stream, `setup` was run, and the slot is usable. A slot that
    /// is gone or invalidated is made again; the first cycle then rebuilds the index.
    pub(in crate::pipeline) async fn check_slot(&mut self) -> Result<(), SyncError> {
        let missing = self.pg.logical_requirements().await?.missing();
        if !missing.is_empty() {
            return Err(SyncError::LogicalUnavailable(missing));
        }
        let slot = self.reader().slot.clone();
        if !self.pg.publication_exists(&slot).await? {
            return Err(SyncError::CaptureMissing(vec![format!(
                "publication {}",
                slot.name
            )]));
        }
        let trees = self.pg.partition_trees(self.pipeline.tables()).await?;
        if crate::extract::any_partitioned(&trees) && !self.pg.publishes_via_root(&slot).await? {
            return Err(SyncError::LogicalUnavailable(vec![format!(
                "publication {} does not send the changes of partitions through their root, so they would be missed: run `pg2es setup`",
                slot.name
            )]));
        }
        let mut short = self.pg.short_identities(self.pipeline.tables()).await?;
        if short.iter().any(|s| s.relation != s.followed) {
            // Partitions that appeared while no worker ran: given an identity as a running
            // worker gives them (an error here leaves them short, and said below).
            let _ = self
                .ddl_target()
                .widen_identities(self.pipeline.tables())
                .await;
            short = self.pg.short_identities(self.pipeline.tables()).await?;
        }
        if let Some(short) = short.first() {
            return Err(SyncError::LogicalUnavailable(vec![format!(
                "the replica identity of {} does not carry {}: run `pg2es setup`",
                short.relation,
                short.missing.join(", ")
            )]));
        }
        self.reader().keeps_slot_on_failover = self.pg.keeps_slots_across_failover().await?;
        let lost = match self.server_changed().await? {
            Some(reason) => Some(reason),
            None => self.renew_slot_if_lost().await?,
        };
        let lost = lost.or(self.slot_renamed().await?);
        let lost = lost.or(self.publication_remade().await?);
        if let Some(reason) = lost {
            if self.state.backfill.done {
                self.reader().lost = Some(reason);
            }
        }
        Ok(())
    }

    /// A server with another system identifier or timeline than the slot was read on (a
    /// restore, a failover). A promoted standby that kept the slot and has every change the
    /// index holds is read on (`failover::verdict`); otherwise the slot's position means
    /// nothing there: a new slot is made, and the state file learns the server with the
    /// rebuild that follows.
    pub(super) async fn server_changed(&mut self) -> Result<Option<String>, SyncError> {
        let server = self.pg.server_identity().await?;
        let Some(known) = self.state.slot_server.clone() else {
            self.state.slot_server = Some(server);
            self.save().await?;
            return Ok(None);
        };
        if known == server {
            return Ok(None);
        }
        let why = match self.after_server_change(&known, &server).await? {
            Verdict::Keep { .. } | Verdict::KeepOwn => {
                follow_promotion(self.state.source.as_mut(), &server);
                self.state.slot_server = Some(server);
                self.save().await?;
                return Ok(None);
            }
            Verdict::Rebuild(why) => why,
        };
        self.state.slot_server = Some(server.clone());
        self.state.slot_through = None;
        let slot = self.reader().slot.clone();
        let reason = format!(
            "the Postgres server changed (system identifier/timeline {known} → {server}: {why})"
        );
        error!(slot = slot.name, reason, "changes may have been missed: a new slot is made and the index rebuilt behind the alias");
        // Our own reader lets go of the slot first; its walsender ends a moment later.
        self.reader().stream = None;
        self.pg.drop_slot(&slot).await?;
        self.make_slot(&slot).await?;
        Ok(Some(reason))
    }

    /// A slot of another name than the one the positions were read from (a release that
    /// named it otherwise): its position says nothing about what the index holds.
    async fn slot_renamed(&mut self) -> Result<Option<String>, SyncError> {
        let slot = self.reader().slot.clone();
        let known = self.state.slot.replace(slot.name.clone());
        let reason = renamed_slot(known.as_deref(), &slot, self.state.backfill.done);
        if known.as_deref() != Some(slot.name.as_str()) {
            self.save().await?;
        }
        if let Some(reason) = &reason {
            error!(
                slot = slot.name,
                reason, "changes may have been missed: the index is rebuilt behind the alias"
            );
        }
        Ok(reason)
    }

    /// A publication made again since the positions were read (dropped, then `pg2es setup`):
    /// the changes made while it was gone were never decoded (Postgres 18 skips them, earlier
    /// releases stop the stream at them), so a new slot is made and the index rebuilt.
    async fn publication_remade(&mut self) -> Result<Option<String>, SyncError> {
        let slot = self.reader().slot.clone();
        let Some(oid) = self.pg.publication_oid(&slot).await? else {
            return Ok(None);
        };
        let known = self.state.publication.replace(oid);
        if known == Some(oid) {
            return Ok(None);
        }
        self.save().await?;
        let Some(known) = known else {
            return Ok(None);
        };
        let reason = format!(
            "publication {} was dropped and made again (oid {known} → {oid}): changes made while it was gone were not streamed",
            slot.name
        );
        error!(slot = slot.name, reason, "changes may have been missed: a new slot is made and the index rebuilt behind the alias");
        self.reader().stream = None;
        self.pg.drop_slot(&slot).await?;
        self.make_slot(&slot).await?;
        Ok(Some(reason))
    }

    /// The publication is still the one the positions are decoded with: once it is dropped,
    /// Postgres 18 streams on without the changes of its tables (earlier releases stop with
    /// an error), so each cycle looks first.
    pub(super) async fn check_publication(&mut self) -> Result<(), SyncError> {
        let slot = self.reader().slot.clone();
        match (
            self.pg.publication_oid(&slot).await?,
            self.state.publication,
        ) {
            (Some(oid), Some(known)) if oid == known => return Ok(()),
            (Some(oid), None) => {
                // A state file from before the publication was noted: noted now.
                self.state.publication = Some(oid);
                return Ok(());
            }
            _ => {}
        }
        error!(publication = slot.name, "the publication was dropped under the running worker: its tables' changes are not streamed; run `pg2es setup`, then the index is rebuilt behind the alias");
        Err(SyncError::CaptureMissing(vec![format!(
            "publication {} (dropped under the running worker)",
            slot.name
        )]))
    }

    /// Makes a new slot when the slot is gone or invalidated; says why it had to.
    pub(super) async fn renew_slot_if_lost(&mut self) -> Result<Option<String>, SyncError> {
        let slot = self.reader().slot.clone();
        let reason = match self.pg.slot_state(&slot).await? {
            None => format!("replication slot {} is gone", slot.name),
            Some(state) if state.wal_status.as_deref() == Some("lost") => {
                self.pg.drop_slot(&slot).await?;
                format!(
                    "replication slot {} was invalidated by Postgres (max_slot_wal_keep_size)",
                    slot.name
                )
            }
            Some(_) => return Ok(None),
        };
        error!(slot = slot.name, reason, "changes may have been missed: a new slot is made and the index rebuilt behind the alias");
        self.make_slot(&slot).await?;
        self.reader().stream = None;
        Ok(Some(reason))
    }

    /// The slot's retained log, for `/metrics`.
    pub(super) async fn record_slot(&mut self) -> Result<(), SyncError> {
        let slot = self.reader().slot.clone();
        if let Some(state) = self.pg.slot_state(&slot).await? {
            crate::metrics::get().slot(self.pipeline.name(), state.retained_bytes.unwrap_or(0));
        }
        Ok(())
    }

    /// A replica identity that carries the recorded columns on partitions that joined a
    /// followed table.
    pub(in crate::pipeline) async fn identify_new_partitions(
        &mut self,
        new: &[(String, Member)],
    ) -> Result<(), SyncError> {
        let tables = self.pipeline.tables().to_vec();
        let names = || -> String {
            let names: Vec<&str> = new.iter().map(|(_, m)| m.name.as_str()).collect();
            names.join(", ")
        };
        match self.ddl_target().widen_identities(&tables).await {
            Ok(set) => {
                for (partition, identity) in set {
                    warn!(
                        partition,
                        identity, "replica identity set on a new partition"
                    );
                }
                Ok(())
            }
            Err(err) if err.is_lock_timeout() => {
                error!(partitions = names(), "new partitions of a followed table: their replica identity waited for other transactions' locks past sync.retry.max_attempts; end those transactions");
                Err(err.into())
            }
            Err(err) => {
                error!(partitions = names(), error = %err, "cannot give new partitions a replica identity that carries the recorded columns: run `pg2es setup`");
                Err(SyncError::LogicalUnavailable(vec![format!(
                    "the replica identity of the new partitions {} does not carry the recorded columns: run `pg2es setup`",
                    names()
                )]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_named_otherwise_than_the_positions_rebuilds() {
        let kept = Slot::of("movies", "movies");
        let renamed = Slot::of("order_lines", "orders-v2");
        assert_eq!(renamed_slot(None, &kept, true), None);
        assert_eq!(renamed_slot(Some(&kept.name), &kept, true), None);
        assert_eq!(renamed_slot(None, &renamed, false), None);
        assert_eq!(renamed_slot(Some(&renamed.name), &renamed, true), None);
        let upgraded = renamed_slot(None, &renamed, true).expect("an earlier release's slot");
        assert!(
            upgraded.contains("pg2es_order_lines_orders_v2"),
            "{upgraded}"
        );
        assert!(renamed_slot(Some("pg2es_other"), &kept, false).is_some());
    }
}

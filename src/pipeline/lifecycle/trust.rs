//! Whether what pg2es finds can be trusted: the database the state file was written for, the
//! index the alias is on, writes into it that pg2es did not send, and the refusals of a
//! rebuild that is about to take the alias.

use std::collections::BTreeSet;

use chrono::Utc;
use tracing::{debug, error, info, warn};

use crate::load::{DeadLetters, Elastic, EsError, Live};
use crate::lock::{repair_key, try_hold_for_look};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::repair::verify::{verify, VerifyMode};
use crate::pipeline::Engine;
use crate::state::{ForeignWrites, Rebuild, RebuildReason, RepairLedger, Source, State};

/// The operations the live index had applied, and who sent them, at one look (see
/// `load/writes.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::pipeline) struct Look {
    /// Operations the live index had applied since it was created.
    pub applied: u64,
    /// Those this worker's bulk answers counted.
    pub sent: u64,
    /// Those the repair ledger counts for `verify --repair` (`None`: it could not be read).
    pub repaired: Option<u64>,
}

impl Look {
    /// Operations the index applied between `earlier` and this look that no pg2es sent (fewer
    /// than pg2es sent: negative). An unreadable ledger at either look counts no repair: what
    /// repairs wrote meanwhile then reads as someone else's (the safe side: a comparison).
    pub fn theirs_since(&self, earlier: &Look) -> i64 {
        let grown = |now: u64, then: u64| now as i64 - then as i64;
        let repaired = match (self.repaired, earlier.repaired) {
            (Some(now), Some(then)) => grown(now, then),
            _ => 0,
        };
        grown(self.applied, earlier.applied) - grown(self.sent, earlier.sent) - repaired
    }
}

/// What tells writes into the live index that pg2es did not make from its own.
pub(in crate::pipeline) struct Watch {
    /// Operations the live index had applied, and those pg2es had sent it, at the last look
    /// (see `load/writes.rs`); `None` until the first look after start or a swap.
    pub look: Option<Look>,
    /// What `verify --repair` beside this worker had the index apply (`state/repairs.rs`).
    pub repair_ledger: std::path::PathBuf,
}

impl<P: Pipeline> Engine<P> {
    /// The database is not the one the state file's cursors and the index belong to: another
    /// database or server, a restore or a failover (another timeline), or rows older than the
    /// cursors that stood on them (a backup restored in place). Said at error level.
    pub(in crate::pipeline) async fn database_changed(
        &self,
        source: &Source,
    ) -> Result<bool, SyncError> {
        if let Some(recorded) = &self.state.source {
            if recorded != source {
                error!(state_file = %self.store.describe(), written_for = %recorded, now = %source, "the state file belongs to another database: its cursors mean nothing here and the index holds that database's rows; rebuilding behind the alias");
                return Ok(true);
            }
        }
        if !self.state.backfill.done {
            return Ok(false);
        }
        for table in self.pipeline.tables() {
            let Some(cursor) = self.state.cursors.get(&table.relation) else {
                continue;
            };
            if self.pg.went_back(table, cursor).await? {
                error!(table = table.relation, cursor = %cursor.at, row = %cursor.id, "the row the change cursor stood on is older than the cursor now: the database was restored from a backup (or the row's change column set back); rebuilding behind the alias");
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Changes are followed from the newest row of each table now (for a rebuild from scratch).
    pub(in crate::pipeline) async fn reset_cursors(&mut self) -> Result<(), SyncError> {
        for table in self.pipeline.tables() {
            let cursor = self.pg.latest(table).await?;
            self.state.cursors.insert(table.relation.clone(), cursor);
        }
        Ok(())
    }

    /// Noticed at every cycle: the alias gone (no index answers) or found elsewhere than where
    /// pg2es left it (moved by hand, or a concrete index that took its name).
    pub(in crate::pipeline) async fn check_alias(&self) -> Result<(), SyncError> {
        let alias = self.es.index_name().to_owned();
        let live = self.es.live().await?;
        let reason = match (&live, self.state.live_index.as_deref()) {
            (Live::Missing, _) => {
                let reason = "no alias and no index of that name".into();
                return Err(EsError::IndexGone { alias, reason }.into());
            }
            (Live::Alias(on), Some(ours)) if on.as_slice() != [ours] => {
                format!("it is on {}, pg2es left it on {ours}", on.join(", "))
            }
            (Live::Concrete, Some(ours)) => {
                format!("a concrete index took its name, pg2es left the alias on {ours}")
            }
            _ => return Ok(()),
        };
        Err(SyncError::AliasMoved { alias, reason })
    }

    /// Noticed at every cycle, when no write is in flight: the live index applied more (or
    /// fewer) operations since the last look than pg2es sent it, this worker or a repair beside
    /// it (the repair ledger). Said at error level, recorded in the state file (`status`,
    /// `check`), then healed: every document is compared with Postgres and what differs written
    /// again (as `pg2es verify --repair` does).
    pub(in crate::pipeline) async fn watch_writes(&mut self) -> Result<(), SyncError> {
        let Some(looked) = self.look_at_writes().await? else {
            debug!("a repair is writing into the index: looking at the next cycle");
            return Ok(());
        };
        let Some(before) = self.trust.look.replace(looked) else {
            return Ok(());
        };
        let theirs = looked.theirs_since(&before);
        if theirs == 0 {
            return Ok(());
        }
        error!(alias = self.es.index_name(), operations = theirs, "the index applied writes pg2es did not send (someone wrote into it, or a bulk request whose answer was lost was applied twice): comparing every document with Postgres and writing again what differs");
        self.state.foreign_writes = Some(ForeignWrites {
            operations: theirs,
            noticed_at: Utc::now(),
            repaired_at: None,
            written_again: 0,
        });
        self.save().await?;
        let pipeline = std::sync::Arc::clone(&self.pipeline);
        let report = verify(
            &*pipeline,
            &self.pg,
            &self.es,
            self.batch_size,
            VerifyMode::Repair,
        )
        .await?;
        let written_again = report.missing.count + report.stale.count + report.extra.count;
        info!(
            written_again,
            missing = report.missing.count,
            stale = report.stale.count,
            extra = report.extra.count,
            "the index equals Postgres again"
        );
        if let Some(noted) = self.state.foreign_writes.as_mut() {
            noted.repaired_at = Some(Utc::now());
            noted.written_again = written_again;
        }
        // The look before the repair stays the baseline: the repair's own writes are counted
        // as pg2es's, and a write by someone else during it shows at the next look.
        self.save().await
    }

    /// Reads the index's operations and the repair ledger under the repair lock, so not
    /// between a repair's write and its entry; `None` while a repair holds the lock (the last
    /// look stays the baseline, and the repair's writes are all in the ledger by the next).
    async fn look_at_writes(&self) -> Result<Option<Look>, SyncError> {
        let (pipeline, alias) = (self.pipeline.name(), self.es.index_name());
        let Some(lock) = try_hold_for_look(&self.pg, repair_key(pipeline, alias)).await? else {
            return Ok(None);
        };
        let applied = self.es.applied_in_all().await?;
        let repaired = match RepairLedger::load(&self.trust.repair_ledger, pipeline, alias) {
            Ok(ledger) => Some(ledger.operations),
            Err(err) => {
                warn!(error = %err, "cannot read the repair ledger: writes of repairs beside the worker read as someone else's");
                None
            }
        };
        lock.release().await;
        Ok(Some(Look {
            applied,
            sent: self.es.applied_by_us(),
            repaired,
        }))
    }

    /// Whether a rebuild that refused documents may still take the alias: when the live index
    /// cannot be trusted (gone, foreign, another database's), or when every document it
    /// refused is absent from the live index too (the live one refused it, or lost it). A
    /// config that makes the new index refuse what the live one holds keeps the alias put.
    pub(in crate::pipeline) async fn refusals_forgiven(
        &self,
        rebuild: &Rebuild,
    ) -> Result<bool, SyncError> {
        let untrusted = matches!(
            rebuild.reason,
            RebuildReason::AliasMoved | RebuildReason::DatabaseChanged | RebuildReason::Migration
        );
        let live = self.es.live().await?;
        let on_ours = match (&live, self.state.live_index.as_deref()) {
            (Live::Alias(on), Some(ours)) => on.iter().map(String::as_str).eq([ours]),
            _ => false,
        };
        if untrusted || !on_ours {
            warn!(index = rebuild.index, refused = rebuild.dead_lettered, "the rebuilt index refused documents (see the dead-letter file), but the live index is gone or not trusted: the alias moves to the rebuilt one");
            return Ok(true);
        }
        let path = self.es.dead_letters().path().to_owned();
        let (file, index) = (path.clone(), rebuild.index.clone());
        let read = tokio::task::spawn_blocking(move || DeadLetters::ids_refused_by(&file, &index))
            .await
            .map_err(std::io::Error::other)
            .and_then(|read| read);
        let refused: BTreeSet<String> = match read {
            Ok(ids) => ids.into_iter().collect(),
            Err(err) => {
                warn!(path = %path.display(), error = %err, "cannot read which documents the rebuilt index refused");
                return Ok(false);
            }
        };
        let ids: Vec<String> = refused.into_iter().collect();
        if ids.is_empty() || self.es.holds_any(&ids).await? {
            return Ok(false);
        }
        warn!(index = rebuild.index, refused = ids.len(), "the rebuilt index refused documents that the live index does not hold either (see the dead-letter file): the alias moves to the rebuilt one");
        Ok(true)
    }
}

/// What is wrong with where the alias is, for `status`, `check` and `verify` (`None`: it is
/// on the index pg2es left it on, or on the rebuild pg2es just moved it to).
pub(crate) async fn alias_trouble(es: &Elastic, state: &State) -> Result<Option<String>, EsError> {
    let alias = es.index_name();
    let on = match es.live().await? {
        Live::Missing => {
            return Ok(Some(format!(
                "no index answers for {alias}: deleted, or the alias removed (the worker rebuilds it)"
            )))
        }
        Live::Concrete => {
            return Ok(Some(format!(
                "{alias} is a concrete index pg2es did not build (foreign, no pg2es _meta): the next start replaces it by a migration behind the alias"
            )))
        }
        Live::Alias(on) => on,
    };
    let [on] = on.as_slice() else {
        return Ok(Some(format!(
            "{alias} is on several indexes: {}",
            on.join(", ")
        )));
    };
    let indexes = es.versioned_indexes().await?;
    let ours = indexes
        .iter()
        .find(|index| &index.name == on)
        .and_then(|index| index.meta.as_ref())
        .is_some_and(|meta| meta.alias == alias);
    if !ours {
        return Ok(Some(format!(
            "{alias} is on {on}, which pg2es did not build for it (foreign): the worker rebuilds behind the alias"
        )));
    }
    let rebuilt = state.rebuild.as_ref().is_some_and(|r| &r.index == on);
    match state.live_index.as_deref() {
        Some(left) if left != on && !rebuilt => Ok(Some(format!(
            "{alias} was moved by hand: it is on {on}, pg2es left it on {left} (the worker rebuilds behind the alias)"
        ))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(applied: u64, sent: u64, repaired: Option<u64>) -> Look {
        Look {
            applied,
            sent,
            repaired,
        }
    }

    #[test]
    fn writes_are_theirs_unless_this_worker_or_a_repair_sent_them() {
        let before = look(100, 40, Some(7));
        for (now, theirs) in [
            // Only this worker wrote.
            (look(110, 50, Some(7)), 0),
            // A repair beside it wrote 5.
            (look(115, 50, Some(12)), 0),
            // Someone else wrote 2, besides the worker and a repair.
            (look(117, 50, Some(12)), 2),
            // A bulk answer counted by the worker that the index did not apply.
            (look(109, 50, Some(7)), -1),
            // The ledger unreadable: the repair's 5 read as someone else's.
            (look(115, 50, None), 5),
        ] {
            assert_eq!(now.theirs_since(&before), theirs, "{now:?}");
        }
    }
}

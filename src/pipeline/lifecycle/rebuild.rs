//! Carrying a rebuild through. The new index is back-filled in key order, a slice at a time,
//! and the changes are followed between slices and written to both indexes. Every write builds
//! its documents from rows read after the writes before it were acknowledged, so the last
//! write of each document in the new index holds its newest row, and when the back-fill ends
//! the new index is up to date. Then its settings are restored, it is refreshed, and the
//! swap (`swap.rs`) moves the alias to it in one request and drops earlier indexes beyond
//! `index.keep_previous`. The alias only ever moves to a complete index: a crash at any point
//! leaves it where it was.

use std::time::{Duration, Instant};

use chrono::Utc;
use tracing::info;

use crate::load::{Elastic, IdScroll, WriteReport};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::lifecycle::swap::{self, Ended};
use crate::pipeline::repair::verify::without_rows;
use crate::pipeline::stages::backfill::Target;
use crate::pipeline::Engine;
use crate::state::RebuildReason;
use crate::transform::Action;

/// What a rebuild keeps in the engine besides its part of the state (`State::rebuild`).
pub(in crate::pipeline) struct Rebuilding {
    /// The index a rebuild fills, which every change is written to as well; set exactly while
    /// the state holds a rebuild.
    pub es: Option<Elastic>,
    /// A rollback's pass over the earlier index's ids, looking for rows gone meanwhile.
    pub extras: Option<IdScroll>,
    /// Earlier indexes kept for a rollback (`index.keep_previous`).
    pub keep_previous: u32,
}

/// How long the back-fill of a new index runs before the changes are followed again: the
/// extra delay of changes while a rebuild runs.
const SLICE: Duration = Duration::from_secs(1);

impl<P: Pipeline> Engine<P> {
    pub(in crate::pipeline) async fn rebuild(&mut self) -> Result<(), SyncError> {
        let Some(new) = self.rebuilding.es.clone() else {
            return Ok(());
        };
        self.tune_index(Target::Rebuild, &new).await?;
        while self.rebuild_slice(&new).await? {
            self.follow_changes().await?;
        }
        self.finish_rebuild(&new).await
    }

    /// One slice of work on the new index; `false` when none is left.
    async fn rebuild_slice(&mut self, new: &Elastic) -> Result<bool, SyncError> {
        let until = Instant::now() + SLICE;
        let Some(rebuild) = &self.state.rebuild else {
            return Ok(false);
        };
        if !rebuild.backfill.done {
            if self
                .backfill_pages(Target::Rebuild, new, Some(until))
                .await?
            {
                self.end_rebuild_backfill().await?;
            }
            return Ok(true);
        }
        if rebuild.reason == RebuildReason::Rollback && !rebuild.extras_done {
            self.delete_extras(new, until).await?;
            return Ok(true);
        }
        Ok(false)
    }

    async fn end_rebuild_backfill(&mut self) -> Result<(), SyncError> {
        let backfill = self.backfill_mut(Target::Rebuild);
        backfill.done = true;
        backfill.finished_at = Some(Utc::now());
        let indexed = backfill.indexed;
        self.save().await?;
        info!(indexed, "rebuild back-fill finished");
        Ok(())
    }

    /// A rollback's earlier index may hold documents whose row was deleted since it was live:
    /// its ids are scrolled (a slice at a time) and those without a row deleted.
    async fn delete_extras(&mut self, new: &Elastic, until: Instant) -> Result<(), SyncError> {
        if self.rebuilding.extras.is_none() {
            new.refresh().await?;
            self.rebuilding.extras = Some(new.scroll_ids(self.batch_size));
        }
        while Instant::now() < until {
            let Some(scroll) = self.rebuilding.extras.as_mut() else {
                return Ok(());
            };
            let ids = match new.next_ids(scroll).await {
                Ok(ids) => ids,
                Err(err) => {
                    self.close_extras(new).await;
                    return Err(err.into());
                }
            };
            if ids.is_empty() {
                self.close_extras(new).await;
                if let Some(rebuild) = self.state.rebuild.as_mut() {
                    rebuild.extras_done = true;
                }
                self.save().await?;
                info!("documents deleted since the earlier index was live are gone from it");
                return Ok(());
            }
            let gone = self.rows_gone(&ids).await?;
            self.totals += new.write(gone).await?;
        }
        Ok(())
    }

    async fn close_extras(&mut self, new: &Elastic) {
        if let Some(scroll) = self.rebuilding.extras.take() {
            new.close_scroll(scroll).await;
        }
    }

    /// Deletes for the ids whose root row is gone; ids that are no key pg2es writes stay.
    async fn rows_gone(&self, ids: &[String]) -> Result<Vec<Action>, SyncError> {
        Ok(without_rows(&self.pg, self.pipeline.root(), ids)
            .await?
            .deletes())
    }

    async fn finish_rebuild(&mut self, new: &Elastic) -> Result<(), SyncError> {
        let Some(rebuild) = self.state.rebuild.clone() else {
            self.rebuilding.es = None;
            return Ok(());
        };
        self.restore_index(Target::Rebuild, new).await?;
        new.refresh().await?;
        let forgiven = rebuild.dead_lettered == 0 || self.refusals_forgiven(&rebuild).await?;
        match swap::end_rebuild(&self.es, &mut self.state, forgiven).await? {
            Some(Ended::Swapped) => {
                // An older concrete index of the name is gone with the swap: an alias only.
                self.es = self.es.clone().requiring_alias(true);
                self.after_swap().await
            }
            Some(Ended::Refused) | None => {
                self.rebuilding.es = None;
                self.save().await
            }
        }
    }

    /// The alias was found on the rebuilt index (a crash after the swap): the rebuild is over.
    pub(in crate::pipeline) async fn swapped(&mut self) -> Result<(), SyncError> {
        swap::swapped_in(&mut self.state);
        self.after_swap().await
    }

    /// Forgets the rebuild's handles, records the swap, then drops earlier indexes.
    async fn after_swap(&mut self) -> Result<(), SyncError> {
        self.trust.look = None;
        self.rebuilding.es = None;
        self.rebuilding.extras = None;
        self.save().await?;
        swap::drop_earlier(&self.es, self.rebuilding.keep_previous).await?;
        Ok(())
    }

    /// Documents the new index refused, during its back-fill or as a change.
    pub(in crate::pipeline) fn count_rebuild_refusals(&mut self, report: WriteReport) {
        if let Some(rebuild) = self.state.rebuild.as_mut() {
            rebuild.dead_lettered += report.dead_lettered;
        }
    }
}

//! The back-fill: every root row in key order, as a pipeline of overlapping stages. The next
//! pages are read and built while earlier ones are being indexed, several bulk requests are in
//! flight, and the position saved is always the end of the last page acknowledged in order.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::{Stream, StreamExt};
use tracing::{info, warn};

use crate::load::{backfill_settings, Elastic, Sink, WriteReport};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::repair::verify;
use crate::pipeline::stages::in_order::in_order;
use crate::pipeline::stages::pages::{root_pages, Stop};
use crate::pipeline::stages::progress::Progress;
use crate::pipeline::stages::source::Source;
use crate::pipeline::stages::spawned::Spawned;
use crate::pipeline::stages::units::{self, Built, Unit};
use crate::pipeline::Engine;
use crate::state::{Backfill, RebuildReason};
use crate::transform::Key;

/// The position is saved at most this often (and at the end): each save is an fsync, and a
/// crash only means re-sending what was acknowledged since.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// How the back-fill writes: bulk requests in flight, and whether refreshes are switched off
/// meanwhile (`sync.bulk_concurrency`, `sync.tune_backfill`).
pub(in crate::pipeline) struct Filling {
    pub concurrency: usize,
    pub tune: bool,
}

/// Which index a back-fill fills: the live one, or the one a rebuild builds next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::pipeline) enum Target {
    Live,
    Rebuild,
}

impl<P: Pipeline> Engine<P> {
    /// The back-fill of the live index, in one go; changes are followed after it.
    pub(in crate::pipeline) async fn backfill(&mut self) -> Result<(), SyncError> {
        if self.state.backfill.started_at.is_none() {
            self.start_cursors().await?;
        } else {
            info!(
                after = ?self.state.backfill.after,
                already_indexed = self.state.backfill.indexed,
                "resuming back-fill"
            );
        }
        let live = self.es.clone();
        self.tune_index(Target::Live, &live).await?;
        self.backfill_pages(Target::Live, &live, None).await?;
        self.restore_index(Target::Live, &live).await?;
        self.state.backfill.done = true;
        self.state.backfill.finished_at = Some(Utc::now());
        self.save().await?;
        info!(indexed = self.state.backfill.indexed, "back-fill finished");
        Ok(())
    }

    pub(in crate::pipeline) fn backfill_mut(&mut self, target: Target) -> &mut Backfill {
        match target {
            Target::Live => &mut self.state.backfill,
            Target::Rebuild => {
                &mut self
                    .state
                    .rebuild
                    .as_mut()
                    .expect("a rebuild target is only used while the state holds a rebuild")
                    .backfill
            }
        }
    }

    /// Writes the pages after the saved position into `es`, saving the position after each
    /// acknowledged page, until the end of the table or (for a slice) `until`, when no page
    /// is started any more and those in flight are finished. `true` when it reached the end.
    pub(in crate::pipeline) async fn backfill_pages(
        &mut self,
        target: Target,
        es: &Elastic,
        until: Option<Instant>,
    ) -> Result<bool, SyncError> {
        let stop = Stop::at(until);
        let reached_end = stop.reached_end();
        let after = self.backfill_mut(target).after.clone();
        let batches = built_batches(self.rows(), after, self.batch_size, stop);
        let only_stale = self.only_stale(target);
        let written = written_batches(batches, es.clone(), self.filling.concurrency, only_stale);
        let mut written = std::pin::pin!(written);
        let total = self.pg.count(self.pipeline.root()).await?;
        let done = self.backfill_mut(target).indexed;
        let mut progress = Progress::start(self.pipeline.name(), total.max(0) as u64, done);
        let mut last_save = Instant::now();
        while let Some(batch) = written.next().await {
            let (last, report) = batch?;
            self.acknowledged(target, last, report);
            if last_save.elapsed() >= SAVE_EVERY {
                self.save().await?;
                last_save = Instant::now();
            }
            progress.advance(report.indexed + report.dead_lettered + report.stale);
        }
        progress.finish();
        self.save().await?;
        Ok(reached_end.load(Ordering::SeqCst))
    }

    /// A rollback fills an index that holds most documents already: only what differs is sent.
    fn only_stale(&self, target: Target) -> bool {
        let rolling_back = self
            .state
            .rebuild
            .as_ref()
            .is_some_and(|rebuild| rebuild.reason == RebuildReason::Rollback);
        target == Target::Rebuild && rolling_back
    }

    /// Everything up to `last` is in the index: the position moves there (saved by the caller).
    fn acknowledged(&mut self, target: Target, last: Key, report: WriteReport) {
        self.totals += report;
        if target == Target::Rebuild {
            self.count_rebuild_refusals(report);
        }
        advance(self.backfill_mut(target), last, report);
    }

    /// Changes are followed from the newest row of each table at the start of the back-fill:
    /// whatever changes while it runs is picked up after it.
    async fn start_cursors(&mut self) -> Result<(), SyncError> {
        for table in self.pipeline.tables() {
            let cursor = self.pg.latest(table).await?;
            self.state.cursors.insert(table.relation.clone(), cursor);
        }
        self.state.backfill.started_at = Some(Utc::now());
        self.save().await?;
        info!(pipeline = self.pipeline.name(), "back-fill starting");
        Ok(())
    }

    /// Switches refreshes off, first saving what to put back in the state file so that a crash
    /// in the middle still ends with the index restored. (Replicas are left as they are.)
    pub(in crate::pipeline) async fn tune_index(
        &mut self,
        target: Target,
        es: &Elastic,
    ) -> Result<(), SyncError> {
        if !self.filling.tune {
            return Ok(());
        }
        let tuned = backfill_settings();
        if self.backfill_mut(target).restore_settings.is_none() {
            let mut current = es.settings().await?;
            if current.refresh_interval == tuned.refresh_interval {
                // Left so by a back-fill whose state file was reset: back to the defaults.
                warn!("index found with refreshes off from an earlier back-fill; they are restored to the default when this one ends");
                current = Default::default();
            }
            self.backfill_mut(target).restore_settings = Some(current);
            self.save().await?;
        }
        es.put_settings(&tuned).await?;
        Ok(())
    }

    /// Puts back the settings saved by `tune_index` and makes everything searchable.
    pub(in crate::pipeline) async fn restore_index(
        &mut self,
        target: Target,
        es: &Elastic,
    ) -> Result<(), SyncError> {
        let Some(saved) = self.backfill_mut(target).restore_settings.clone() else {
            return Ok(());
        };
        es.put_settings(&saved).await?;
        es.refresh().await?;
        self.backfill_mut(target).restore_settings = None;
        self.save().await?;
        info!(
            index = es.index_name(),
            "index settings restored after the back-fill"
        );
        Ok(())
    }
}

/// A page ending at `last` was acknowledged, and every page before it: the position moves
/// past it.
fn advance(backfill: &mut Backfill, last: Key, report: WriteReport) {
    backfill.after = Some(last);
    backfill.indexed += report.indexed;
}

/// Pages turned into documents by the shared build stage, in order; each carries its last id.
pub(in crate::pipeline) fn built_batches<S: Source>(
    source: S,
    after: Option<Key>,
    batch_size: u32,
    stop: Stop,
) -> impl Stream<Item = Result<Built<Key>, SyncError>> {
    let pages = root_pages(source.clone(), after, batch_size, stop).map(|page| {
        let ids = page?;
        let last = ids.last().cloned();
        Ok(Unit { ids, mark: last })
    });
    units::built(source, pages)
}

/// Batches written with `concurrency` bulk requests in flight: a new one starts as soon as any
/// finishes, and the answers are handed on in the order of the batches. With `only_stale`,
/// documents the index holds as built are not sent again.
fn written_batches<K: Sink>(
    batches: impl Stream<Item = Result<Built<Key>, SyncError>>,
    es: K,
    concurrency: usize,
    only_stale: bool,
) -> impl Stream<Item = Result<(Key, WriteReport), SyncError>> {
    let completed = batches
        .enumerate()
        .map(move |(seq, batch)| {
            let es = es.clone();
            Spawned::new(async move {
                let mut batch = batch?;
                if only_stale {
                    batch.actions = verify::stale_only(&es, batch.actions).await?;
                }
                let last = batch.mark.expect("pages are never empty");
                let report = es.write(batch.actions).await?;
                Ok((seq as u64, (last, report)))
            })
        })
        .buffer_unordered(concurrency)
        .map(|joined| joined.and_then(|written| written));
    in_order(completed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::memory::MemoryIndex;
    use crate::pipeline::stages::memory::MemoryRows;
    use crate::state::{MemoryStore, State, StateStore};

    const PAGE: u32 = 10;

    /// The back-fill's data path from the stored position on, with `concurrency` bulk requests
    /// in flight, storing each position handed on as the engine does; what it wrote in all.
    async fn fill(
        rows: &MemoryRows,
        index: &MemoryIndex,
        store: &MemoryStore,
        concurrency: usize,
    ) -> Result<WriteReport, SyncError> {
        let stored = store.stored().last().cloned();
        let mut state = stored.unwrap_or_else(|| State::new("test", "test"));
        let after = state.backfill.after.clone();
        let batches = built_batches(rows.clone(), after, PAGE, Stop::at_the_end());
        let written = written_batches(batches, index.clone(), concurrency, false);
        let mut written = std::pin::pin!(written);
        let mut total = WriteReport::default();
        while let Some(page) = written.next().await {
            let (last, report) = page?;
            advance(&mut state.backfill, last, report);
            total += report;
            store.store(&state).await?;
        }
        Ok(total)
    }

    /// Every key up to the stored position is in the index.
    fn nothing_stored_past_the_index(rows: &MemoryRows, index: &MemoryIndex, store: &MemoryStore) {
        let documents = index.documents();
        for state in store.stored() {
            let after = state.backfill.after.expect("a stored position").to_string();
            for key in rows.documents().keys().filter(|key| **key <= after) {
                assert!(
                    documents.contains_key(key),
                    "position {after} stored while {key} was not acknowledged"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_backfill_writes_every_row_and_stores_each_page_end_in_order() {
        let rows = MemoryRows::numbered(95);
        let (index, store) = (MemoryIndex::default(), MemoryStore::default());
        let total = fill(&rows, &index, &store, 3).await.expect("the back-fill");
        assert_eq!(total.indexed, 95);
        assert_eq!(index.documents(), rows.documents());
        let positions: Vec<String> = store
            .stored()
            .iter()
            .map(|state| state.backfill.after.clone().unwrap().to_string())
            .collect();
        let ends: Vec<String> = (1..=10)
            .map(|page| format!("k{:04}", (page * 10).min(95)))
            .collect();
        assert_eq!(positions, ends);
    }

    #[tokio::test]
    async fn a_backfill_stopped_by_a_failed_request_resumes_from_its_stored_position() {
        let rows = MemoryRows::numbered(95);
        let (index, store) = (MemoryIndex::default(), MemoryStore::default());
        index.fail_request(4);
        let stopped = fill(&rows, &index, &store, 3).await;
        assert!(stopped.is_err(), "the failed request stops the back-fill");
        nothing_stored_past_the_index(&rows, &index, &store);
        let stored = store
            .stored()
            .last()
            .cloned()
            .expect("pages before it stored");
        assert_eq!(stored.backfill.after.unwrap().as_str(), "k0030");
        // A row changed after its page was written, before the restart: resuming from the
        // stored position sends the pages after it again, with the rows as they are now.
        rows.set("k0050", r#"{"n":"changed"}"#);
        rows.remove("k0060");
        fill(&rows, &index, &store, 3)
            .await
            .expect("the resumed back-fill");
        assert_eq!(index.documents(), rows.documents());
        nothing_stored_past_the_index(&rows, &index, &store);
    }

    #[tokio::test]
    async fn a_refused_document_is_counted_and_the_rest_are_written() {
        let rows = MemoryRows::numbered(25);
        let (index, store) = (MemoryIndex::default(), MemoryStore::default());
        index.refuse("k0007");
        let total = fill(&rows, &index, &store, 2).await.expect("the back-fill");
        assert_eq!((total.indexed, total.dead_lettered), (24, 1));
        assert_eq!(index.refused(), ["k0007"]);
        let mut expected = rows.documents();
        expected.remove("k0007");
        assert_eq!(index.documents(), expected);
        let last = store.stored().last().cloned().unwrap();
        assert_eq!(
            last.backfill.after.unwrap().as_str(),
            "k0025",
            "the position passes it"
        );
    }
}

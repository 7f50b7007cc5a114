//! `verify`: rebuild every document from Postgres and compare it with the index, streaming in
//! batches (memory bounded by the batch size); as a repair, write what differs.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::value::RawValue;
use tracing::warn;

use futures_util::StreamExt;

use crate::extract::{PgError, Postgres, Table};
use crate::load::{Elastic, EsError, IdScroll, Sink, WriteReport};
use crate::pipeline::documents::{build_actions, Pipeline};
use crate::pipeline::error::SyncError;
use crate::pipeline::stages::pages::{root_pages, Stop};
use crate::pipeline::stages::source::Roots;
use crate::state::RepairRecord;
use crate::transform::{same_json, Action, Key, Version};

/// How many ids of each kind a report lists (the counts are always complete).
const LISTED: usize = 100;

#[derive(Debug, Default, Serialize)]
pub(crate) struct Found {
    pub count: u64,
    pub ids: Vec<String>,
}

impl Found {
    fn add(&mut self, id: String) {
        self.count += 1;
        if self.ids.len() < LISTED {
            self.ids.push(id);
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct VerifyReport {
    /// Documents built from Postgres and compared.
    pub checked: u64,
    /// In Postgres, not in the index.
    pub missing: Found,
    /// In both, but the index holds another version.
    pub stale: Found,
    /// In the index, not in Postgres.
    pub extra: Found,
    pub repaired: bool,
    /// What the repair wrote.
    #[serde(skip)]
    pub written: WriteReport,
}

/// What a verification does with the differences it finds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VerifyMode<'a> {
    /// Lists them.
    Compare,
    /// Writes them, from the worker (whose client counts what the index applied for it).
    Repair,
    /// Writes them, and enters what the index applied for them in the repair ledger after each
    /// write (`verify --repair`, beside a worker that reads the ledger).
    RepairRecorded(&'a RepairRecord),
}

impl VerifyMode<'_> {
    fn repairs(self) -> bool {
        !matches!(self, VerifyMode::Compare)
    }
}

impl VerifyReport {
    pub fn equal(&self) -> bool {
        self.missing.count + self.stale.count + self.extra.count == 0
    }
}

pub(crate) async fn verify<P: Pipeline>(
    pipeline: &P,
    pg: &Postgres,
    es: &Elastic,
    batch_size: u32,
    mode: VerifyMode<'_>,
) -> Result<VerifyReport, SyncError> {
    let verifier = Verifier {
        pipeline,
        pg,
        es,
        batch_size,
        mode,
    };
    let mut report = VerifyReport {
        repaired: mode.repairs(),
        ..VerifyReport::default()
    };
    if mode.repairs() && !pg.outrank_earlier_snapshots().await? {
        warn!("no transaction id can be taken here (a standby or a read-only session): a document someone else wrote into the index since the primary's last commit outranks the repair, which then counts it as stale");
    }
    verifier.compare_postgres_rows(&mut report).await?;
    verifier.find_extra_documents(&mut report).await?;
    Ok(report)
}

/// What both passes of a verification work with.
struct Verifier<'a, P> {
    pipeline: &'a P,
    pg: &'a Postgres,
    es: &'a Elastic,
    batch_size: u32,
    mode: VerifyMode<'a>,
}

impl<P: Pipeline> Verifier<'_, P> {
    /// Writes `actions` when repairing; a recorded repair enters what the index applied for it
    /// so far, also after a write that failed half-way.
    async fn repair(&self, actions: Vec<Action>) -> Result<WriteReport, SyncError> {
        let written = match self.mode {
            VerifyMode::Compare => return Ok(WriteReport::default()),
            VerifyMode::Repair | VerifyMode::RepairRecorded(_) => self.es.write(actions).await,
        };
        if let VerifyMode::RepairRecorded(record) = self.mode {
            record.record(self.es.applied_by_us())?;
        }
        Ok(written?)
    }

    /// Every root row: its document must be in the index, as built now.
    async fn compare_postgres_rows(&self, report: &mut VerifyReport) -> Result<(), SyncError> {
        let Verifier {
            pipeline,
            pg,
            es,
            batch_size,
            ..
        } = *self;
        let roots = Roots {
            root: pipeline.root().clone(),
            pg: pg.clone(),
        };
        let pages = root_pages(roots, None, batch_size, Stop::at_the_end());
        let mut pages = std::pin::pin!(pages);
        while let Some(ids) = pages.next().await {
            let ids = ids?;
            let actions = build_actions(pipeline, pg, &ids).await?;
            let wanted: Vec<String> = actions
                .iter()
                .map(|action| action.id().to_string())
                .collect();
            let live = es.sources(&wanted).await?;
            let mut fixes = Vec::new();
            for action in actions {
                let Action::Index(document) = &action else {
                    continue; // deleted since the page was read
                };
                report.checked += 1;
                let id = document.id.to_string();
                match live.get(&id) {
                    None => report.missing.add(id),
                    Some(source) if !same(source, &document.body) => report.stale.add(id),
                    Some(_) => continue,
                }
                fixes.push(action);
            }
            report.written += self.repair(fixes).await?;
        }
        Ok(())
    }

    /// Every indexed document: its root row must still exist. The scroll is closed however
    /// the sweep ends (a failure of Postgres or of a repair too).
    async fn find_extra_documents(&self, report: &mut VerifyReport) -> Result<(), SyncError> {
        self.es.refresh().await?;
        let mut scroll = self.es.scroll_ids(self.batch_size);
        let swept = self.sweep(&mut scroll, report).await;
        self.es.close_scroll(scroll).await;
        swept
    }

    async fn sweep(
        &self,
        scroll: &mut IdScroll,
        report: &mut VerifyReport,
    ) -> Result<(), SyncError> {
        loop {
            let ids = self.es.next_ids(scroll).await?;
            if ids.is_empty() {
                return Ok(());
            }
            let rowless = without_rows(self.pg, self.pipeline.root(), &ids).await?;
            let deletes = rowless.deletes();
            for id in rowless
                .gone
                .iter()
                .map(Key::to_string)
                .chain(rowless.foreign)
            {
                report.extra.add(id);
            }
            report.written += self.repair(deletes).await?;
        }
    }
}

/// Indexed ids with no root row: keys whose row is gone, and ids that are no key of the root
/// at all (never written by pg2es: reported, left for a person to look at).
pub(in crate::pipeline) struct Rowless {
    pub gone: Vec<Key>,
    pub foreign: Vec<String>,
    /// That of the snapshot read before the rows were looked for: the deletes carry it.
    pub version: Version,
}

impl Rowless {
    /// A delete of each key whose row is gone.
    pub fn deletes(&self) -> Vec<Action> {
        let version = Some(self.version);
        let delete = |key: &Key| Action::Delete(key.clone(), version);
        self.gone.iter().map(delete).collect()
    }
}

/// The sweep verify and a rollback share: which of these indexed ids have no row any more.
pub(in crate::pipeline) async fn without_rows(
    pg: &Postgres,
    root: &Table,
    ids: &[String],
) -> Result<Rowless, PgError> {
    let (keys, foreign): (Vec<&String>, Vec<&String>) = ids.iter().partition(|id| root.accepts(id));
    let keys: Vec<Key> = keys.into_iter().map(|id| Key::from(id.as_str())).collect();
    let version = pg.snapshot_version().await?;
    let existing: HashSet<Key> = pg.existing_ids(root, &keys).await?.into_iter().collect();
    Ok(Rowless {
        gone: keys
            .into_iter()
            .filter(|key| !existing.contains(key))
            .collect(),
        foreign: foreign.into_iter().cloned().collect(),
        version,
    })
}

/// The actions whose document the index does not hold exactly as built, and every delete.
pub(in crate::pipeline) async fn stale_only<K: Sink>(
    es: &K,
    actions: Vec<Action>,
) -> Result<Vec<Action>, EsError> {
    let ids: Vec<String> = actions
        .iter()
        .filter(|action| matches!(action, Action::Index(_)))
        .map(|action| action.id().to_string())
        .collect();
    let live = es.sources(&ids).await?;
    Ok(actions
        .into_iter()
        .filter(|action| match action {
            Action::Index(document) => !live
                .get(&document.id.to_string())
                .is_some_and(|source| same(source, &document.body)),
            Action::Delete(..) => true,
        })
        .collect())
}

fn same(live: &RawValue, body: &[u8]) -> bool {
    same_json(live.get().as_bytes(), body)
}

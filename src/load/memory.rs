//! An index in memory that keeps the [`Sink`] contract, for the engine's unit tests: it
//! refuses the documents it is told to (counted as dead-lettered, the rest written), fails
//! whole requests where it is told to, as a node that stopped answering would, and compares
//! versions as Elasticsearch's `external_gte` does (a write below the version it holds for an
//! id, deletes included, is stale).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;

use super::{EsError, Sink, WriteReport};
use crate::transform::{Action, Version};

#[derive(Clone, Default)]
pub(crate) struct MemoryIndex {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    documents: BTreeMap<String, String>,
    /// The version each id was last written (or deleted) with; deletes are never forgotten.
    versions: HashMap<String, Version>,
    /// Ids whose documents are refused, and those refused so far (the dead letters).
    refuse: BTreeSet<String>,
    refused: Vec<String>,
    /// Request numbers (from 1) that fail whole, and how many requests came.
    failing: BTreeSet<usize>,
    requests: usize,
}

impl MemoryIndex {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("the memory index")
    }

    /// Documents of this id are refused from now on, as a mapping conflict would.
    pub fn refuse(&self, id: &str) {
        self.inner().refuse.insert(id.to_owned());
    }

    /// The `number`th request from now on (1: the next) fails whole.
    pub fn fail_request(&self, number: usize) {
        let mut inner = self.inner();
        let at = inner.requests + number;
        inner.failing.insert(at);
    }

    /// What the index holds: id → source.
    pub fn documents(&self) -> BTreeMap<String, String> {
        self.inner().documents.clone()
    }

    /// The ids refused so far, in the order they were.
    pub fn refused(&self) -> Vec<String> {
        self.inner().refused.clone()
    }
}

impl Sink for MemoryIndex {
    async fn write(&self, actions: Vec<Action>) -> Result<WriteReport, EsError> {
        let mut inner = self.inner();
        inner.requests += 1;
        let number = inner.requests;
        if inner.failing.remove(&number) {
            return Err(EsError::Status {
                what: "bulk",
                status: 503,
                body: "the memory index fails this request".into(),
                retry_after: None,
            });
        }
        let mut report = WriteReport::default();
        for action in actions {
            let id = action.id().to_string();
            let held = inner.versions.get(&id).copied();
            if let Some(version) = action.version() {
                if held.is_some_and(|held| held > version) {
                    report.stale += 1;
                    continue;
                }
            }
            match action {
                Action::Index(_) if inner.refuse.contains(&id) => {
                    inner.refused.push(id);
                    report.dead_lettered += 1;
                }
                Action::Index(document) => {
                    let body = String::from_utf8_lossy(&document.body).into_owned();
                    if let Some(version) = document.version {
                        inner.versions.insert(id.clone(), version);
                    }
                    inner.documents.insert(id, body);
                    report.indexed += 1;
                }
                Action::Delete(_, version) => {
                    if let Some(version) = version {
                        inner.versions.insert(id.clone(), version);
                    }
                    inner.documents.remove(&id);
                    report.deleted += 1;
                }
            }
        }
        Ok(report)
    }

    async fn sources(&self, ids: &[String]) -> Result<HashMap<String, Box<RawValue>>, EsError> {
        let inner = self.inner();
        Ok(ids
            .iter()
            .filter_map(|id| {
                let source = inner.documents.get(id)?;
                let raw = RawValue::from_string(source.clone()).ok()?;
                Some((id.clone(), raw))
            })
            .collect())
    }
}

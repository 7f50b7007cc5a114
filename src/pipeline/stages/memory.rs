//! Literal rows that keep the [`Source`] contract, for the stages' unit tests: each row's
//! document is its text, read at the time of the call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::pipeline::error::SyncError;
use crate::pipeline::stages::source::{RootKeys, Source};
use crate::transform::{actions_for, Action, Document, Key};

#[derive(Clone, Default)]
pub(in crate::pipeline) struct MemoryRows {
    rows: Arc<Mutex<BTreeMap<Key, String>>>,
    /// Fan-outs by name (the `sql` a `Touch::FanOut` carries): changed key → root keys.
    links: Arc<Mutex<Links>>,
}

/// (fan-out name, changed key) → the root keys it touches.
type Links = BTreeMap<(String, String), Vec<Key>>;

impl MemoryRows {
    /// `count` rows keyed `k0001`, `k0002`, … whose documents are `{"n":1}`, `{"n":2}`, …
    pub fn numbered(count: usize) -> Self {
        let rows = Self::default();
        for n in 1..=count {
            rows.set(&format!("k{n:04}"), &format!(r#"{{"n":{n}}}"#));
        }
        rows
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, String>> {
        self.rows.lock().expect("the memory rows")
    }

    pub fn set(&self, key: &str, document: &str) {
        self.rows().insert(Key::from(key), document.to_owned());
    }

    pub fn remove(&self, key: &str) {
        self.rows().remove(&Key::from(key));
    }

    /// The row `key` of the table whose fan-out is named `fan_out` touches these roots.
    pub fn link(&self, fan_out: &str, key: &str, roots: &[&str]) {
        let roots = roots.iter().map(|root| Key::from(*root)).collect();
        let mut links = self.links.lock().expect("the memory links");
        links.insert((fan_out.to_owned(), key.to_owned()), roots);
    }

    /// What an index equal to these rows holds: id → source.
    pub fn documents(&self) -> BTreeMap<String, String> {
        let rows = self.rows();
        rows.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

impl RootKeys for MemoryRows {
    async fn root_keys(&self, after: Option<&Key>, limit: u32) -> Result<Vec<Key>, SyncError> {
        let rows = self.rows();
        let keys = rows
            .keys()
            .filter(|key| after.is_none_or(|after| *key > after))
            .take(limit as usize)
            .cloned()
            .collect();
        Ok(keys)
    }
}

impl Source for MemoryRows {
    async fn actions(&self, keys: &[Key]) -> Result<Vec<Action>, SyncError> {
        let documents = {
            let rows = self.rows();
            keys.iter()
                .filter_map(|key| {
                    let body = rows.get(key)?;
                    Some(Document {
                        id: key.clone(),
                        body: Bytes::from(body.clone()),
                    })
                })
                .collect()
        };
        Ok(actions_for(keys, documents))
    }

    async fn fan_out(
        &self,
        sql: &str,
        changed: &[Key],
        after: Option<&Key>,
        limit: u32,
    ) -> Result<Vec<Key>, SyncError> {
        let links = self.links.lock().expect("the memory links");
        let mut roots: Vec<Key> = changed
            .iter()
            .filter_map(|key| links.get(&(sql.to_owned(), key.to_string())))
            .flatten()
            .filter(|root| after.is_none_or(|after| *root > after))
            .cloned()
            .collect();
        roots.sort_unstable();
        roots.dedup();
        roots.truncate(limit as usize);
        Ok(roots)
    }
}

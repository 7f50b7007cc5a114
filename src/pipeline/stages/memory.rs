//! Literal rows that keep the [`Source`] contract, for the stages' unit tests: each row's
//! document is its text, read at the time of the call, with the count of writes to the rows
//! so far as its version (a later read, a larger version, as a later snapshot's).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::extract::Table;
use crate::pipeline::error::SyncError;
use crate::pipeline::stages::source::{RootKeys, Source};
use crate::state::{Cursor, Position};
use crate::transform::{actions_for, Action, Document, Key, Version};

#[derive(Clone, Default)]
pub(in crate::pipeline) struct MemoryRows {
    rows: Arc<Mutex<BTreeMap<Key, String>>>,
    /// Fan-outs by name (the `sql` a `Touch::FanOut` carries): changed key → root keys.
    links: Arc<Mutex<Links>>,
    /// Each table's rows by the position they were last changed at: relation → key → position.
    changed: Arc<Mutex<Changed>>,
    /// Writes to the rows so far: the version of what is read now.
    writes: Arc<std::sync::atomic::AtomicU64>,
}

type Changed = BTreeMap<String, BTreeMap<Key, Position>>;

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
        self.wrote();
        self.rows().insert(Key::from(key), document.to_owned());
    }

    pub fn remove(&self, key: &str) {
        self.wrote();
        self.rows().remove(&Key::from(key));
    }

    fn wrote(&self) {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The version documents read now are written with.
    pub fn version(&self) -> Version {
        let writes = self.writes.load(std::sync::atomic::Ordering::SeqCst);
        Version::from_raw(writes)
    }

    /// The row `key` of the table whose fan-out is named `fan_out` touches these roots.
    pub fn link(&self, fan_out: &str, key: &str, roots: &[&str]) {
        let roots = roots.iter().map(|root| Key::from(*root)).collect();
        let mut links = self.links.lock().expect("the memory links");
        links.insert((fan_out.to_owned(), key.to_owned()), roots);
    }

    /// The row `key` of `relation` was changed at `at` (its `changed_by` column now holds it).
    pub fn changed(&self, relation: &str, key: &str, at: Position) {
        let mut changed = self.changed.lock().expect("the memory changes");
        let table = changed.entry(relation.to_owned()).or_default();
        table.insert(Key::from(key), at);
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
        let version = self.version();
        let documents = {
            let rows = self.rows();
            keys.iter()
                .filter_map(|key| {
                    let body = rows.get(key)?;
                    Some(Document {
                        id: key.clone(),
                        body: Bytes::from(body.clone()),
                        version: None,
                    })
                })
                .collect()
        };
        Ok(actions_for(keys, documents, Some(version)))
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

    async fn changes(
        &self,
        table: &Table,
        after: &Cursor,
        horizon: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Cursor>, SyncError> {
        let changed = self.changed.lock().expect("the memory changes");
        let Some(rows) = changed.get(&table.relation) else {
            return Ok(Vec::new());
        };
        let before_horizon = |at: &Position| match at {
            Position::Time(time) => *time < horizon,
            Position::Version(_) => true,
        };
        let mut changes: Vec<(Position, Key)> = rows
            .iter()
            .filter(|(key, at)| before_horizon(at) && (**at, *key) > (after.at, &after.id))
            .map(|(key, at)| (*at, key.clone()))
            .collect();
        changes.sort_unstable();
        changes.truncate(limit as usize);
        Ok(changes
            .into_iter()
            .map(|(at, id)| Cursor { at, id })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::memory::MemoryIndex;
    use crate::load::Sink;

    /// The contract's versioned clause, as the engine meets it after a handover: a batch built
    /// before a change and delivered after the newer one changes nothing, counted as stale.
    #[tokio::test]
    async fn a_batch_built_earlier_and_delivered_later_changes_nothing() {
        let rows = MemoryRows::numbered(2);
        let keys = [Key::from("k0001"), Key::from("k0002")];
        let earlier = rows.actions(&keys).await.unwrap();
        rows.set("k0001", r#"{"n":"renamed"}"#);
        rows.remove("k0002");
        let later = rows.actions(&keys).await.unwrap();
        let index = MemoryIndex::default();
        let written = index.write(later).await.unwrap();
        assert_eq!((written.indexed, written.deleted), (1, 1));
        let held = index.write(earlier.clone()).await.unwrap();
        assert_eq!((held.indexed, held.deleted, held.stale), (0, 0, 2));
        assert_eq!(index.documents(), rows.documents());
        // Without versions the earlier batch lands: what the clause keeps from happening.
        let unversioned = earlier.into_iter().map(|action| match action {
            Action::Index(document) => Action::Index(crate::transform::Document {
                version: None,
                ..document
            }),
            Action::Delete(id, _) => Action::Delete(id, None),
        });
        index.write(unversioned.collect()).await.unwrap();
        assert_ne!(index.documents(), rows.documents());
    }
}

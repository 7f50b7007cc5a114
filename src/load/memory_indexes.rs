//! Indexes in memory that keep the [`Indexes`] contract, for the engine's unit tests: an alias,
//! the indexes beside it with what pg2es recorded in them, and requests that fail where they
//! are told to, as a node that stopped answering would.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};

use super::{EsError, IndexInfo, IndexMeta, Indexes, Live};

#[derive(Clone)]
pub(crate) struct MemoryIndexes {
    alias: String,
    inner: Arc<Mutex<Cluster>>,
}

#[derive(Default)]
struct Cluster {
    indexes: BTreeMap<String, Option<IndexMeta>>,
    aliased: Vec<String>,
    /// Request numbers (from 1) that fail, and how many requests that change something came.
    failing: BTreeSet<usize>,
    requests: usize,
}

impl MemoryIndexes {
    pub fn new(alias: &str) -> Self {
        Self {
            alias: alias.to_owned(),
            inner: Arc::default(),
        }
    }

    fn cluster(&self) -> std::sync::MutexGuard<'_, Cluster> {
        self.inner.lock().expect("the memory indexes")
    }

    /// An index pg2es built for the alias from the config `config_hash`, at second `built`.
    pub fn built(&self, index: &str, config_hash: &str, built: u32) -> &Self {
        let meta = IndexMeta {
            alias: self.alias.clone(),
            config_hash: config_hash.to_owned(),
            built_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, built).unwrap(),
        };
        self.cluster().indexes.insert(index.to_owned(), Some(meta));
        self
    }

    /// An index named like the alias that pg2es did not build.
    pub fn foreign(&self, index: &str) -> &Self {
        self.cluster().indexes.insert(index.to_owned(), None);
        self
    }

    pub fn alias_on(&self, index: &str) -> &Self {
        self.cluster().aliased = vec![index.to_owned()];
        self
    }

    /// The `number`th request that changes something (1: the next) fails.
    pub fn fail_request(&self, number: usize) {
        let mut cluster = self.cluster();
        let at = cluster.requests + number;
        cluster.failing.insert(at);
    }

    pub fn names(&self) -> Vec<String> {
        self.cluster().indexes.keys().cloned().collect()
    }

    pub fn aliased(&self) -> Vec<String> {
        self.cluster().aliased.clone()
    }

    fn request(&self, what: &'static str) -> Result<std::sync::MutexGuard<'_, Cluster>, EsError> {
        let mut cluster = self.cluster();
        cluster.requests += 1;
        let number = cluster.requests;
        if cluster.failing.remove(&number) {
            return Err(EsError::Status {
                what,
                status: 503,
                body: "the memory indexes fail this request".into(),
                retry_after: None,
            });
        }
        Ok(cluster)
    }
}

impl Indexes for MemoryIndexes {
    fn alias_name(&self) -> &str {
        &self.alias
    }

    async fn live(&self) -> Result<Live, EsError> {
        let cluster = self.cluster();
        Ok(match cluster.aliased.is_empty() {
            false => Live::Alias(cluster.aliased.clone()),
            true if cluster.indexes.contains_key(&self.alias) => Live::Concrete,
            true => Live::Missing,
        })
    }

    async fn versioned_indexes(&self) -> Result<Vec<IndexInfo>, EsError> {
        let prefix = format!("{}_", self.alias);
        let cluster = self.cluster();
        Ok(cluster
            .indexes
            .iter()
            .filter(|(name, _)| **name == self.alias || name.starts_with(&prefix))
            .map(|(name, meta)| IndexInfo {
                name: name.clone(),
                meta: meta.clone(),
            })
            .collect())
    }

    async fn move_alias(&self, target: &str) -> Result<(), EsError> {
        let mut cluster = self.request("move alias")?;
        if !cluster.indexes.contains_key(target) {
            return Err(EsError::Status {
                what: "move alias",
                status: 404,
                body: format!("no such index [{target}]"),
                retry_after: None,
            });
        }
        cluster.aliased = vec![target.to_owned()];
        Ok(())
    }

    async fn delete_index(&self, index: &str) -> Result<(), EsError> {
        let mut cluster = self.request("delete index")?;
        cluster.indexes.remove(index);
        cluster.aliased.retain(|aliased| aliased != index);
        Ok(())
    }
}

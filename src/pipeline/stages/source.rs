//! The source contract: what the data path reads. Root keys in key order, and the documents
//! of given keys, built from rows read now. [`Rows`] reads them from Postgres through the
//! pipeline's declaration; the stages' unit tests feed literal rows (`stages/memory.rs`).

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::extract::{Postgres, Table};
use crate::pipeline::documents::{build_actions, Pipeline};
use crate::pipeline::error::SyncError;
use crate::state::Cursor;
use crate::transform::{Action, Key};

/// Where root keys and documents come from. Contract, on which the back-fill's resume and
/// the rebuild's "the last write holds the newest row" rest:
/// - `root_keys(after, limit)` gives at most `limit` keys greater than `after`, ascending; fewer
///   than `limit` means none are left;
/// - `actions(keys)` builds each key's document from rows read during the call, and a delete
///   for each key without a row: one action per distinct key;
/// - `fan_out(sql, changed, after, limit)` gives the root keys that the changed keys of
///   another table touch (`sql`: that table's fan-out, as the declaration derived it), at most
///   `limit` greater than `after`, ascending: fewer than `limit` means none are left;
/// - `changes(table, after, horizon, limit)` gives the `(position, key)` of the rows of
///   `table` changed after `after` (position, then key: rows sharing a position are told
///   apart), ascending, only those changed before `horizon`, at most `limit`: fewer than
///   `limit` means none are left; a row changed twice is there once, at its newest position.
pub(in crate::pipeline) trait Source: RootKeys {
    fn actions(&self, keys: &[Key]) -> impl Future<Output = Result<Vec<Action>, SyncError>> + Send;

    fn fan_out(
        &self,
        sql: &str,
        changed: &[Key],
        after: Option<&Key>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Key>, SyncError>> + Send;

    fn changes(
        &self,
        table: &Table,
        after: &Cursor,
        horizon: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Cursor>, SyncError>> + Send;
}

/// The keys half of [`Source`].
pub(in crate::pipeline) trait RootKeys: Clone + Send + Sync + 'static {
    fn root_keys(
        &self,
        after: Option<&Key>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Key>, SyncError>> + Send;
}

/// The keys of a root table in Postgres.
#[derive(Clone)]
pub(in crate::pipeline) struct Roots {
    pub root: Table,
    pub pg: Postgres,
}

impl RootKeys for Roots {
    async fn root_keys(&self, after: Option<&Key>, limit: u32) -> Result<Vec<Key>, SyncError> {
        Ok(self.pg.root_ids(&self.root, after, limit).await?)
    }
}

/// The pipeline's root rows and documents in Postgres.
pub(in crate::pipeline) struct Rows<P> {
    pub pipeline: Arc<P>,
    pub pg: Postgres,
}

impl<P> Clone for Rows<P> {
    fn clone(&self) -> Self {
        Self {
            pipeline: Arc::clone(&self.pipeline),
            pg: self.pg.clone(),
        }
    }
}

impl<P: Pipeline> RootKeys for Rows<P> {
    async fn root_keys(&self, after: Option<&Key>, limit: u32) -> Result<Vec<Key>, SyncError> {
        Ok(self.pg.root_ids(self.pipeline.root(), after, limit).await?)
    }
}

impl<P: Pipeline> Source for Rows<P> {
    async fn actions(&self, keys: &[Key]) -> Result<Vec<Action>, SyncError> {
        Ok(build_actions(&*self.pipeline, &self.pg, keys).await?)
    }

    async fn fan_out(
        &self,
        sql: &str,
        changed: &[Key],
        after: Option<&Key>,
        limit: u32,
    ) -> Result<Vec<Key>, SyncError> {
        Ok(self.pg.fan_out(sql, changed, after, limit).await?)
    }

    async fn changes(
        &self,
        table: &Table,
        after: &Cursor,
        horizon: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Cursor>, SyncError> {
        Ok(self.pg.changes(table, after, horizon, limit).await?)
    }
}

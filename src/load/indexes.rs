//! The index-administration contract: the alias users search and the versioned indexes behind
//! it, as the end of a rebuild counts on them. [`Elastic`] keeps it against Elasticsearch and
//! OpenSearch; the engine's unit tests use indexes in memory (`memory_indexes.rs`).

use std::future::Future;

use super::{Elastic, EsError, IndexInfo, Live};

/// The alias and the indexes named like it. Contract:
/// - `move_alias(target)` leaves the alias on `target` alone, in one step: a search sees the
///   index before or the one after, never both or none; an `Err` leaves the alias where it
///   was, and moving it again where it already is does nothing;
/// - `delete_index(index)` of an index already gone succeeds;
/// - `live()` says what answers for the alias name now, `versioned_indexes()` which indexes
///   are named like it, with what pg2es recorded in those it built.
pub(crate) trait Indexes: Send + Sync {
    fn alias_name(&self) -> &str;

    fn live(&self) -> impl Future<Output = Result<Live, EsError>> + Send;

    fn versioned_indexes(&self) -> impl Future<Output = Result<Vec<IndexInfo>, EsError>> + Send;

    fn move_alias(&self, target: &str) -> impl Future<Output = Result<(), EsError>> + Send;

    fn delete_index(&self, index: &str) -> impl Future<Output = Result<(), EsError>> + Send;
}

impl Indexes for Elastic {
    fn alias_name(&self) -> &str {
        self.index_name()
    }

    async fn live(&self) -> Result<Live, EsError> {
        Elastic::live(self).await
    }

    async fn versioned_indexes(&self) -> Result<Vec<IndexInfo>, EsError> {
        Elastic::versioned_indexes(self).await
    }

    async fn move_alias(&self, target: &str) -> Result<(), EsError> {
        Elastic::move_alias(self, target).await
    }

    async fn delete_index(&self, index: &str) -> Result<(), EsError> {
        Elastic::delete_index(self, index).await
    }
}

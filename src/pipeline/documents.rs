//! What a pipeline tells the engine, and where a changed row's root key becomes a bulk
//! action: [`build_actions`] builds the documents of root keys through the pipeline (the
//! declaration's SQL) and makes an index action of each, a delete of each key without a row.

use std::future::Future;

use sqlx::PgPool;

use crate::declaration::{Declared, Touch};
use crate::extract::{PgError, Postgres, Table};
use crate::transform::{actions_for, Action, Document, Key};

/// What a pipeline tells the engine: which tables to follow, how a recorded change reaches
/// root documents, and how to build documents. (Implemented by declared pipelines.)
pub(crate) trait Pipeline: Send + Sync + 'static {
    /// Names the pipeline in the state file, the lock, the metrics and the change consumers.
    fn name(&self) -> &str;
    /// Every followed table, the root table (one document per row) first.
    fn tables(&self) -> &[Table];
    /// How a recorded change of `relation.column` reaches root documents (`None`: it does not).
    fn touch(&self, relation: &str, column: &str) -> Option<&Touch>;
    /// What shapes the documents, as canonical text: part of the hash that names the index.
    fn fingerprint(&self) -> &str;
    /// Whether its documents are those pg2es built before pipelines were declared (the
    /// shipped movies declaration): an index built then is kept, not rebuilt.
    fn builds_undeclared_documents(&self) -> bool;
    /// Builds the documents of these root keys; a key without a row yields no document.
    fn build(
        &self,
        pool: &PgPool,
        ids: &[Key],
    ) -> impl Future<Output = Result<Vec<Document>, sqlx::Error>> + Send;

    fn root(&self) -> &Table {
        &self.tables()[0]
    }
}

impl Pipeline for Declared {
    fn name(&self) -> &str {
        &self.name
    }

    fn tables(&self) -> &[Table] {
        &self.tables
    }

    fn touch(&self, relation: &str, column: &str) -> Option<&Touch> {
        self.recorded.get(&(relation.to_owned(), column.to_owned()))
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn builds_undeclared_documents(&self) -> bool {
        self.fingerprint == crate::declaration::shipped_movies_fingerprint()
    }

    async fn build(&self, pool: &PgPool, ids: &[Key]) -> Result<Vec<Document>, sqlx::Error> {
        Declared::build(self, pool, ids).await
    }
}

/// The bulk actions of root keys `ids`: their documents as built now, deletes for keys
/// without a row, each with the version of a snapshot read first (so the index refuses them
/// once it holds documents built from a later one).
pub(crate) async fn build_actions<P: Pipeline>(
    pipeline: &P,
    pg: &Postgres,
    ids: &[Key],
) -> Result<Vec<Action>, PgError> {
    let version = pg.snapshot_version().await?;
    let documents = pg
        .call("build documents", || pipeline.build(pg.pool(), ids))
        .await?;
    Ok(actions_for(ids, documents, Some(version)))
}

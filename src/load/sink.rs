//! The sink contract: what the engine counts on from wherever documents go. [`Elastic`]
//! keeps it against Elasticsearch and OpenSearch; the engine's unit tests use an index in
//! memory (`memory.rs`) that keeps it too and fails where it is told to.

use std::collections::HashMap;
use std::future::Future;

use serde_json::value::RawValue;

use super::{Elastic, EsError, WriteReport};
use crate::transform::Action;

/// Where documents are written. Contract:
/// - **idempotent by `_id`**: writing an action again leaves the index as writing it once,
///   so a batch whose acknowledgement was lost is simply sent again;
/// - **every item judged**: an `Ok` report counts each action once, as indexed, deleted (a
///   delete of nothing included) or dead-lettered (refused for itself, kept with its reason,
///   the rest written); transient failures are retried inside;
/// - **an `Err` promises nothing** about the batch: the caller does not move its position
///   past it, and sends it again (whole) when it goes on;
/// - within one call, the last action of an id wins;
/// - **versioned**: an action carrying a [`Version`](crate::transform::Version) below the one
///   the index holds for its id (deletes included) is not applied, and counted as stale.
///   Versions grow with the snapshot a document was built from, so a batch built before
///   another and delivered after it changes nothing.
pub(crate) trait Sink: Clone + Send + Sync + 'static {
    fn write(
        &self,
        actions: Vec<Action>,
    ) -> impl Future<Output = Result<WriteReport, EsError>> + Send;

    /// The sources the index holds for these ids (absent ids are left out).
    fn sources(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Box<RawValue>>, EsError>> + Send;
}

impl Sink for Elastic {
    async fn write(&self, actions: Vec<Action>) -> Result<WriteReport, EsError> {
        Elastic::write(self, actions).await
    }

    async fn sources(&self, ids: &[String]) -> Result<HashMap<String, Box<RawValue>>, EsError> {
        Elastic::sources(self, ids).await
    }
}

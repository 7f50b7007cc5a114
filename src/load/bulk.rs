//! Bulk requests: sent (again, for the items that may succeed later) and judged item by item
//! from typed JSON.

use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;
use elasticsearch::BulkParts;
use serde::Deserialize;

use super::body::{BodyWriter, Pending, Request};
use super::error::status_is_retryable;
use super::{checked, json, lock, Elastic, EsError, WriteReport};
use crate::retry::retry;
use crate::transform::Action;

/// What a bulk answer is asked to hold: per item its status, any error, and the sequence
/// number the shard gave the operation, in request order.
pub(crate) const FILTER_PATH: [&str; 4] = [
    "errors",
    "items.*.status",
    "items.*.error",
    "items.*._seq_no",
];

#[derive(Debug, Deserialize)]
pub(crate) struct BulkResponse {
    pub items: Vec<BulkEntry>,
}

/// One entry of `items`: a single key, the action (`{"index": {...}}`).
#[derive(Debug, Deserialize)]
pub(crate) struct BulkEntry {
    #[serde(alias = "index", alias = "create", alias = "update", alias = "delete")]
    item: BulkItem,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BulkItem {
    pub status: u16,
    #[serde(default)]
    pub error: Option<ItemError>,
    /// Present when the shard applied the operation (a delete of nothing included): each such
    /// operation takes one sequence number, which is how writes by others are noticed.
    #[serde(default, rename = "_seq_no")]
    pub seq_no: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ItemError {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub caused_by: Option<Box<ItemError>>,
}

impl ItemError {
    fn describe(&self) -> String {
        let mut text = format!("{}: {}", self.kind, self.reason.as_deref().unwrap_or(""));
        if let Some(cause) = &self.caused_by {
            text.push_str(&format!(" (caused by {})", cause.describe()));
        }
        text
    }
}

/// What happened to one action.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Indexed,
    Deleted,
    /// Overloaded or failing shard: send again.
    Retry(String),
    /// The document itself was refused: dead-letter it.
    Reject(u16, String),
    /// The index holds this id as built from a later snapshot (its version is higher): this
    /// write is stale, and the index is already as wanted.
    Stale,
    /// No index answers for the name written to (the alias and its index are gone): nothing
    /// can be written until it is rebuilt, and no document is to blame.
    IndexGone(String),
}

pub(crate) fn classify(action: &Action, item: &BulkItem) -> Outcome {
    let reason = || {
        item.error
            .as_ref()
            .map_or_else(|| format!("status {}", item.status), ItemError::describe)
    };
    let error_is = |kind: &str| item.error.as_ref().is_some_and(|error| error.kind == kind);
    let index_gone = error_is("index_not_found_exception");
    let stale = error_is("version_conflict_engine_exception");
    match (action, item.status) {
        (_, 404) if index_gone => Outcome::IndexGone(reason()),
        (_, 409) if stale && action.version().is_some() => Outcome::Stale,
        (Action::Index(_), 200 | 201) => Outcome::Indexed,
        (Action::Delete(..), 200) => Outcome::Deleted,
        // Deleting what is not there leaves the index as wanted.
        (Action::Delete(..), 404) if item.error.is_none() => Outcome::Deleted,
        (_, status) if status_is_retryable(status) => Outcome::Retry(reason()),
        (_, status) => Outcome::Reject(status, reason()),
    }
}

/// The single item of each entry (`{"index": {...}}`).
pub(crate) fn items(response: BulkResponse) -> Vec<BulkItem> {
    response.items.into_iter().map(|entry| entry.item).collect()
}

impl Elastic {
    /// Writes `actions` with bulk requests of at most `bulk_max_bytes`: 429/5xx items are sent
    /// again with backoff, other refused items go to the dead-letter file. Returns once every
    /// action has an outcome.
    pub async fn write(&self, actions: Vec<Action>) -> Result<WriteReport, EsError> {
        let mut report = WriteReport::default();
        let mut writer = BodyWriter::new(self.bulk_max_bytes);
        for action in actions {
            if let Some(request) = writer.push(action) {
                report += self.write_bulk(&request).await?;
            }
        }
        if let Some(request) = writer.finish() {
            report += self.write_bulk(&request).await?;
        }
        Ok(report)
    }

    async fn write_bulk(&self, request: &Request) -> Result<WriteReport, EsError> {
        let pending = Mutex::new(Pending::all(request));
        let report = Mutex::new(WriteReport::default());
        let written = retry(&self.retry, "bulk request", || async {
            let attempt = self.attempt_bulk(request, &pending, &report).await;
            if let Err(err) = &attempt {
                // A stall shows while it lasts: in the lag, and in /readyz after its bound.
                let metrics = crate::metrics::get();
                metrics
                    .health
                    .write_failed(crate::errors::causes(err).join(": "));
                metrics.lag_now(&self.pipeline);
            }
            attempt
        })
        .await;
        if written.is_ok() {
            crate::metrics::get().health.written();
        }
        written?;
        let report = *lock(&report);
        Ok(report)
    }

    /// One attempt at the actions of `request` still pending: the acknowledged ones counted in
    /// `report`, the refused ones dead-lettered, those to send again left in `pending` (their
    /// bytes as first encoded).
    async fn attempt_bulk(
        &self,
        request: &Request,
        pending: &Mutex<Pending>,
        report: &Mutex<WriteReport>,
    ) -> Result<(), EsError> {
        // A refcount and a list of positions: no action is copied or encoded again.
        let Pending { positions, body } = lock(pending).clone();
        let items = self.send_bulk(body, positions.len()).await?;
        let mut again = Vec::new();
        let mut refused = Vec::new();
        let mut last_reason = String::new();
        let mut done = WriteReport::default();
        let applied = items.iter().filter(|item| item.seq_no.is_some()).count();
        self.count_applied(applied as u64);
        for (at, item) in positions.into_iter().zip(items.iter()) {
            let action = &request.actions()[at];
            match classify(action, item) {
                Outcome::Indexed => done.indexed += 1,
                Outcome::Deleted => done.deleted += 1,
                Outcome::Retry(reason) => {
                    last_reason = reason;
                    again.push(at);
                }
                Outcome::Reject(status, reason) => refused.push((action, status, reason)),
                Outcome::Stale => done.stale += 1,
                Outcome::IndexGone(reason) => {
                    return Err(EsError::IndexGone {
                        alias: self.index.clone(),
                        reason,
                    })
                }
            }
        }
        self.dead_letters.write(&self.index, &refused).await?;
        for (action, status, reason) in &refused {
            tracing::warn!(id = %action.id(), status, reason = %reason, "document refused, written to the dead-letter file");
        }
        done.dead_lettered = refused.len() as u64;
        if done.stale > 0 {
            tracing::warn!(
                index = %self.index,
                stale = done.stale,
                "writes refused by the index as stale: it holds those documents as built from a later snapshot (another worker wrote them since); nothing is lost"
            );
        }
        let retried = again.len() as u64;
        let outcome = [
            done.indexed,
            done.deleted,
            retried,
            done.dead_lettered,
            done.stale,
        ];
        crate::metrics::get().items(&self.pipeline, outcome);
        *lock(report) += done;
        let count = again.len();
        lock(pending).keep(request, again);
        match count {
            0 => Ok(()),
            count => Err(EsError::ItemsToRetry {
                count,
                last: last_reason,
            }),
        }
    }

    /// Sends one bulk body of `count` actions as it is: the client is handed the bytes (a
    /// refcount), not lines to join, so a retry sends the very same buffer.
    async fn send_bulk(&self, body: Bytes, count: usize) -> Result<Vec<BulkItem>, EsError> {
        let bytes = body.len() as u64;
        let query = [
            ("filter_path", FILTER_PATH.join(",")),
            ("require_alias", self.require_alias.to_string()),
        ];
        let started = Instant::now();
        let response = self
            .client
            .send(
                Method::Post,
                &BulkParts::Index(&self.index).url(),
                HeaderMap::new(),
                Some(&query),
                Some(body),
                None,
            )
            .await
            .map_err(EsError::transport("bulk request"))?;
        crate::metrics::get().bulk_sent(count, bytes, started.elapsed());
        let parsed: BulkResponse =
            json(checked(response, "bulk request").await?, "bulk request").await?;
        let items = items(parsed);
        if items.len() != count {
            return Err(EsError::Status {
                what: "bulk request",
                status: 200,
                body: format!("{} items answered for {} sent", items.len(), count),
                retry_after: None,
            });
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use crate::transform::Key;

    #[allow(non_snake_case)]
    fn Uuid_(n: u128) -> Key {
        Key::from(uuid::Uuid::from_u128(n).to_string())
    }

    use super::*;
    use crate::transform::{Document, Version};
    use bytes::Bytes;

    fn index_action() -> Action {
        Action::Index(Document {
            id: Uuid_(1),
            body: Bytes::from_static(b"{}"),
            version: None,
        })
    }

    fn versioned(action: Action) -> Action {
        let version = Some(Version::from_raw(200));
        match action {
            Action::Index(document) => Action::Index(Document {
                version,
                ..document
            }),
            Action::Delete(id, _) => Action::Delete(id, version),
        }
    }

    /// As Elasticsearch 7.10 answers writes with `version_type=external_gte` below the
    /// version it holds.
    const STALE: &str = r#"{"took":2,"errors":true,"items":[
        {"index":{"_index":"movies","_id":"1","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[1]: version conflict, current version [300] is higher than the one provided [200]"}}},
        {"delete":{"_index":"movies","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[2]: version conflict, current version [300] is higher than the one provided [200]"}}},
        {"index":{"_index":"movies","_id":"3","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[3]: version conflict, document already exists (current version [1])"}}}
    ]}"#;

    #[test]
    fn a_versioned_write_the_index_holds_newer_is_stale_not_refused() {
        let items = items(serde_json::from_str(STALE).unwrap());
        let delete = Action::Delete(Uuid_(2), None);
        let actions = [versioned(index_action()), versioned(delete), index_action()];
        let outcomes: Vec<Outcome> = items
            .iter()
            .zip(&actions)
            .map(|(item, action)| classify(action, item))
            .collect();
        assert_eq!(outcomes[0], Outcome::Stale);
        assert_eq!(outcomes[1], Outcome::Stale);
        // A conflict on a write that carried no version is not pg2es's: dead-lettered.
        assert!(matches!(&outcomes[2], Outcome::Reject(409, _)));
    }

    const RESPONSE: &str = r#"{"took":3,"errors":true,"items":[
        {"index":{"_index":"movies","_id":"1","status":201,"result":"created"}},
        {"index":{"_index":"movies","_id":"2","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
        {"index":{"_index":"movies","_id":"3","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [imdb_rating]","caused_by":{"type":"number_format_exception","reason":"For input string: \"abc\""}}}},
        {"delete":{"_index":"movies","_id":"4","status":404,"result":"not_found"}},
        {"index":{"_index":"movies","_id":"5","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}
    ]}"#;

    #[test]
    fn items_are_judged_one_by_one() {
        let response: BulkResponse = serde_json::from_str(RESPONSE).unwrap();
        let items = items(response);
        let delete = Action::Delete(Uuid_(4), None);
        let outcomes: Vec<Outcome> = items
            .iter()
            .zip([
                &index_action(),
                &index_action(),
                &index_action(),
                &delete,
                &index_action(),
            ])
            .map(|(item, action)| classify(action, item))
            .collect();
        assert_eq!(outcomes[0], Outcome::Indexed);
        assert!(
            matches!(&outcomes[1], Outcome::Retry(r) if r.contains("es_rejected_execution_exception"))
        );
        match &outcomes[2] {
            Outcome::Reject(400, reason) => {
                assert!(reason.contains("mapper_parsing_exception"), "{reason}");
                assert!(reason.contains("number_format_exception"), "{reason}");
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(outcomes[3], Outcome::Deleted);
        assert!(matches!(&outcomes[4], Outcome::Retry(_)));
    }
}

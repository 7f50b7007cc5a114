//! The load stage: the index, bulk writes judged per item, dead letters for refused documents.

mod alias;
mod body;
mod bulk;
mod client;
mod dead_letter;
mod error;
mod index_config;
mod indexes;
pub(crate) mod mapping;
#[cfg(test)]
pub(crate) mod memory;
#[cfg(test)]
pub(crate) mod memory_indexes;
pub(crate) mod privileges;
mod probes;
mod read;
mod settings;
mod sink;
mod writes;

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use elasticsearch::http::response::Response;
use elasticsearch::indices::IndicesGetMappingParts;
use elasticsearch::{CountParts, Elasticsearch};
use serde::Deserialize;
use serde_json::Value;

pub(crate) use alias::{IndexInfo, Live};
pub(crate) use dead_letter::{limits_in, DeadLetters};
pub(crate) use error::EsError;
pub(crate) use index_config::{config_hash, index_body, index_name, read_index_config, IndexMeta};
pub(crate) use indexes::Indexes;
pub(crate) use read::IdScroll;
pub(crate) use settings::backfill_settings;
pub(crate) use sink::Sink;

use self::body::Request;
use crate::config::ElasticsearchConfig;
use crate::retry::{retry, RetryPolicy};
use crate::transform::Action;

/// What one write did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WriteReport {
    pub indexed: u64,
    pub deleted: u64,
    pub dead_lettered: u64,
    /// Refused by the index because it holds a document built from a later snapshot (a
    /// version conflict): nothing to write, nothing lost.
    pub stale: u64,
}

impl std::ops::AddAssign for WriteReport {
    fn add_assign(&mut self, other: Self) {
        self.indexed += other.indexed;
        self.deleted += other.deleted;
        self.dead_lettered += other.dead_lettered;
        self.stale += other.stale;
    }
}

#[derive(Clone)]
pub(crate) struct Elastic {
    client: Elasticsearch,
    index: String,
    /// The pipeline whose documents this client writes: the `pipeline` label of its metrics.
    pipeline: String,
    /// Bulk writes name an alias and must never create an index of that name (`require_alias`);
    /// off for a client of one concrete index (a rebuild's).
    require_alias: bool,
    retry: client::NodeRetry,
    dead_letters: DeadLetters,
    bulk_max_bytes: u64,
    /// Operations the index applied for this client (and its clones): see `writes.rs`.
    sequenced: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type")]
    kind: String,
}

impl Elastic {
    pub fn new(
        config: &ElasticsearchConfig,
        index: &str,
        retry: RetryPolicy,
        dead_letter_path: &Path,
    ) -> Result<Self, EsError> {
        let (client, retry) = client::build(config, retry)?;
        Ok(Self {
            client,
            index: index.to_owned(),
            pipeline: String::new(),
            require_alias: true,
            retry,
            dead_letters: DeadLetters::new(dead_letter_path),
            bulk_max_bytes: crate::config::DEFAULT_BULK_MAX_BYTES,
            sequenced: Default::default(),
        })
    }

    /// The refused documents kept so far.
    pub fn dead_letters(&self) -> &DeadLetters {
        &self.dead_letters
    }

    /// Whether bulk writes require the name to be an alias: not while an older indexer's
    /// concrete index of that name answers (it is migrated behind the alias).
    pub fn requiring_alias(mut self, require_alias: bool) -> Self {
        self.require_alias = require_alias;
        self
    }

    /// Counts what it writes under `pipeline`'s label.
    pub fn for_pipeline(mut self, pipeline: &str) -> Self {
        self.pipeline = pipeline.to_owned();
        self
    }

    /// Splits bulk requests before their bodies grow past `bytes`.
    pub fn with_bulk_max_bytes(mut self, bytes: u64) -> Self {
        self.bulk_max_bytes = bytes;
        self
    }

    /// The bodies `write` would send for `actions`, one per bulk request.
    pub fn bulk_bodies(&self, actions: Vec<Action>) -> Vec<Bytes> {
        body::requests(actions, self.bulk_max_bytes)
            .into_iter()
            .map(Request::into_body)
            .collect()
    }

    pub async fn ping(&self) -> Result<(), EsError> {
        self.call("ping", || self.client.ping().send())
            .await
            .map(|_| ())
    }

    /// The live mapping of the index, `None` when the index does not exist.
    pub async fn mapping(&self) -> Result<Option<Value>, EsError> {
        let body: Option<Value> = self
            .call_json_or_missing("read mapping", || async {
                self.client
                    .indices()
                    .get_mapping(IndicesGetMappingParts::Index(&[&self.index]))
                    .send()
                    .await
            })
            .await?;
        // Keyed by the concrete index name, which differs from ours behind an alias.
        Ok(body.and_then(|body| {
            body.as_object()
                .and_then(|by_index| by_index.values().next())
                .map(|index| index["mappings"].clone())
        }))
    }

    pub async fn count(&self) -> Result<Option<u64>, EsError> {
        #[derive(Deserialize)]
        struct Count {
            count: u64,
        }
        let body: Option<Count> = self
            .call_json_or_missing("count documents", || async {
                self.client
                    .count(CountParts::Index(&[&self.index]))
                    .send()
                    .await
            })
            .await?;
        Ok(body.map(|body| body.count))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn already_exists(body: &str) -> bool {
    serde_json::from_str::<ErrorBody>(body)
        .is_ok_and(|parsed| parsed.error.kind == "resource_already_exists_exception")
}

/// How much of an error answer is kept for the message.
const MAX_ERROR_BODY: usize = 4096;

/// Turns a non-2xx answer into an error carrying the status, body and any `Retry-After`.
async fn checked(response: Response, what: &'static str) -> Result<Response, EsError> {
    let status = response.status_code().as_u16();
    if status < 300 {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut body = response.text().await.unwrap_or_default();
    if body.len() > MAX_ERROR_BODY {
        let cut = (0..=MAX_ERROR_BODY)
            .rev()
            .find(|at| body.is_char_boundary(*at))
            .unwrap_or(0);
        body.truncate(cut);
    }
    Err(EsError::Status {
        what,
        status,
        body,
        retry_after,
    })
}

impl Elastic {
    /// Every Elasticsearch request goes through here: sent again (to the next node, on a
    /// connection error) for as long as its error says another attempt may work, the status
    /// checked; a failure names `what` was asked.
    pub(crate) async fn call<Fut>(
        &self,
        what: &'static str,
        send: impl Fn() -> Fut,
    ) -> Result<Response, EsError>
    where
        Fut: std::future::Future<Output = Result<Response, elasticsearch::Error>>,
    {
        retry(&self.retry, what, || async {
            let response = send().await.map_err(EsError::transport(what))?;
            checked(response, what).await
        })
        .await
    }

    /// [`Elastic::call_json`], with `None` for a 404 (no such index or alias).
    pub(crate) async fn call_json_or_missing<T, Fut>(
        &self,
        what: &'static str,
        send: impl Fn() -> Fut,
    ) -> Result<Option<T>, EsError>
    where
        T: serde::de::DeserializeOwned,
        Fut: std::future::Future<Output = Result<Response, elasticsearch::Error>>,
    {
        retry(&self.retry, what, || async {
            let response = send().await.map_err(EsError::transport(what))?;
            if response.status_code().as_u16() == 404 {
                return Ok(None);
            }
            json(checked(response, what).await?, what).await.map(Some)
        })
        .await
    }

    /// [`Elastic::call`], the answer decoded (inside the retry: a cut-off body is sent again).
    pub(crate) async fn call_json<T, Fut>(
        &self,
        what: &'static str,
        send: impl Fn() -> Fut,
    ) -> Result<T, EsError>
    where
        T: serde::de::DeserializeOwned,
        Fut: std::future::Future<Output = Result<Response, elasticsearch::Error>>,
    {
        retry(&self.retry, what, || async {
            let response = send().await.map_err(EsError::transport(what))?;
            json(checked(response, what).await?, what).await
        })
        .await
    }
}

async fn json<T: serde::de::DeserializeOwned>(
    response: Response,
    what: &'static str,
) -> Result<T, EsError> {
    let bytes = response.bytes().await.map_err(EsError::transport(what))?;
    serde_json::from_slice(&bytes).map_err(EsError::decode(what))
}

//! One index per test on the real search server.

use std::collections::BTreeMap;
use std::time::Duration;

use elasticsearch::indices::{
    IndicesCreateParts, IndicesDeleteParts, IndicesGetAliasParts, IndicesGetSettingsParts,
    IndicesPutSettingsParts, IndicesRefreshParts,
};
use elasticsearch::{CountParts, Elasticsearch, SearchParts};
use serde_json::{json, Value};

/// How long a dropped index may take to delete before the test goes on without it.
const CLEANUP_DEADLINE: Duration = Duration::from_secs(30);

pub struct SearchIndex {
    pub name: String,
    url: String,
    client: Elasticsearch,
    /// Created for the test (`new`, `on`): deleted when dropped. An `open` handle is not.
    owned: bool,
}

impl SearchIndex {
    /// A name of this test's own; any leftover index of that name is deleted.
    pub async fn new(name: &str) -> Self {
        Self::on(&super::search_url(), name).await
    }

    /// The same on another server (a test's own node).
    pub async fn on(url: &str, name: &str) -> Self {
        let mut index = Self::open_on(url, name);
        index.delete().await;
        index.owned = true;
        index
    }

    /// A handle on an index (or alias) that may exist, leaving it as it is.
    pub fn open(name: &str) -> Self {
        Self::open_on(&super::search_url(), name)
    }

    fn open_on(url: &str, name: &str) -> Self {
        let transport = super::secure::transport(url);
        Self {
            name: name.to_owned(),
            url: url.to_owned(),
            client: Elasticsearch::new(transport),
            owned: false,
        }
    }

    /// Deletes the index of this name, or the indexes behind the alias of this name, and the
    /// versioned indexes pg2es built for it (`<name>_*`).
    pub async fn delete(&self) {
        if let Err(reason) = self.try_delete().await {
            panic!("{reason}");
        }
    }

    async fn try_delete(&self) -> Result<(), String> {
        for index in self.try_concrete_indexes().await? {
            let response = self
                .client
                .indices()
                .delete(IndicesDeleteParts::Index(&[&index]))
                .send()
                .await
                .map_err(|err| format!("delete {index}: {err}"))?;
            let status = response.status_code().as_u16();
            if status >= 300 && status != 404 {
                return Err(format!("delete {index}: HTTP {status}"));
            }
        }
        Ok(())
    }

    /// The concrete indexes under this name: itself or its alias's, and `<name>_*`.
    pub async fn concrete_indexes(&self) -> Vec<String> {
        self.try_concrete_indexes().await.unwrap()
    }

    async fn try_concrete_indexes(&self) -> Result<Vec<String>, String> {
        let pattern = format!("{}_*", self.name);
        let failed = |err: elasticsearch::Error| format!("indexes under {}: {err}", self.name);
        let body: Value = self
            .client
            .indices()
            .get_alias(IndicesGetAliasParts::Index(&[&self.name, &pattern]))
            .ignore_unavailable(true)
            .send()
            .await
            .map_err(failed)?
            .json()
            .await
            .map_err(failed)?;
        Ok(body
            .as_object()
            .map(|indexes| indexes.keys().cloned().collect())
            .unwrap_or_default())
    }

    /// The indexes the alias of this name points at (empty when it is no alias).
    pub async fn aliased(&self) -> Vec<String> {
        let response = self
            .client
            .indices()
            .get_alias(IndicesGetAliasParts::Name(&[&self.name]))
            .send()
            .await
            .unwrap();
        if response.status_code().as_u16() == 404 {
            return Vec::new();
        }
        let body: Value = response.json().await.unwrap();
        body.as_object().unwrap().keys().cloned().collect()
    }

    /// The one index the alias points at.
    pub async fn alias_target(&self) -> String {
        let aliased = self.aliased().await;
        assert_eq!(aliased.len(), 1, "alias {} on {aliased:?}", self.name);
        aliased[0].clone()
    }

    /// Moves the alias of this name from wherever it is to `index`, as an operator would.
    pub async fn move_alias_to(&self, index: &str) {
        let mut actions = vec![serde_json::json!({"add": {"index": index, "alias": self.name}})];
        for on in self.aliased().await {
            actions.push(serde_json::json!({"remove": {"index": on, "alias": self.name}}));
        }
        let sent = self
            .client
            .indices()
            .update_aliases()
            .body(serde_json::json!({ "actions": actions }))
            .send()
            .await;
        succeeded(sent, "move the alias").await;
    }

    pub async fn create(&self, config: &Value) {
        let sent = self
            .client
            .indices()
            .create(IndicesCreateParts::Index(&self.name))
            .body(config.clone())
            .send()
            .await;
        succeeded(sent, "create the index").await;
    }

    /// `(refresh_interval, number_of_replicas)` as set on the index (`None`: not set).
    pub async fn tuning(&self) -> (Option<String>, Option<String>) {
        let body: Value = self
            .client
            .indices()
            .get_settings(IndicesGetSettingsParts::Index(&[&self.name]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // Keyed by the concrete index, which differs from the name behind an alias.
        let settings = &body.as_object().unwrap().values().next().unwrap()["settings"]["index"];
        let value = |key: &str| settings[key].as_str().map(str::to_owned);
        (value("refresh_interval"), value("number_of_replicas"))
    }

    /// `PUT /<name>/_settings`, as an operator would (e.g. a write block).
    pub async fn put_settings(&self, settings: Value) {
        let sent = self
            .client
            .indices()
            .put_settings(IndicesPutSettingsParts::Index(&[&self.name]))
            .body(settings)
            .send()
            .await;
        succeeded(sent, "change the index settings").await;
    }

    pub async fn refresh(&self) {
        let response = self
            .client
            .indices()
            .refresh(IndicesRefreshParts::Index(&[&self.name]))
            .send()
            .await
            .unwrap();
        assert!(response.status_code().is_success(), "refresh {}", self.name);
    }

    pub async fn count(&self) -> u64 {
        self.refresh().await;
        let body: Value = self
            .client
            .count(CountParts::Index(&[&self.name]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("count answer: {body}"))
    }

    /// Every document's `_source`, by `_id`.
    pub async fn documents(&self) -> BTreeMap<String, Value> {
        self.refresh().await;
        let body = self
            .search(json!({"query": {"match_all": {}}, "size": 10000}))
            .await;
        assert!(
            body["hits"]["total"]["value"].as_u64().unwrap() < 10000,
            "too many documents for one page"
        );
        body["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| {
                (
                    hit["_id"].as_str().unwrap().to_owned(),
                    hit["_source"].clone(),
                )
            })
            .collect()
    }

    /// Search contexts the server keeps open on the index (a scroll not cleared holds one).
    pub async fn open_contexts(&self) -> u64 {
        let path = format!("/{}/_stats/search", self.name);
        let response = self
            .client
            .send(
                elasticsearch::http::Method::Get,
                &path,
                elasticsearch::http::headers::HeaderMap::new(),
                Option::<&()>::None,
                Option::<&()>::None,
                None,
            )
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["_all"]["total"]["search"]["open_contexts"]
            .as_u64()
            .unwrap_or_else(|| panic!("search stats: {body}"))
    }

    /// `POST /<name>/<endpoint>` (`_search`, `_count`, `_analyze`): the answer, or why it failed.
    pub async fn try_request(&self, endpoint: &str, body: Value) -> Result<Value, String> {
        let path = format!("/{}/{endpoint}", self.name);
        let response = self
            .client
            .send(
                elasticsearch::http::Method::Post,
                &path,
                elasticsearch::http::headers::HeaderMap::new(),
                Option::<&()>::None,
                Some(elasticsearch::http::request::JsonBody::new(body)),
                None,
            )
            .await
            .map_err(|err| format!("{endpoint}: {err}"))?;
        let status = response.status_code();
        let text = response
            .text()
            .await
            .map_err(|err| format!("{endpoint}: {err}"))?;
        match status.is_success() {
            true => serde_json::from_str(&text).map_err(|err| format!("{endpoint}: {err}: {text}")),
            false => Err(format!("{endpoint}: HTTP {status}: {text}")),
        }
    }

    pub async fn search(&self, query: Value) -> Value {
        let response = self
            .client
            .search(SearchParts::Index(&[&self.name]))
            .body(query)
            .send()
            .await
            .unwrap();
        let status = response.status_code();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "search failed: {body}");
        body
    }

    /// The ids of the documents matching a full-text query on `field`.
    pub async fn matching_ids(&self, field: &str, text: &str) -> Vec<String> {
        self.refresh().await;
        let body = self
            .search(json!({"query": {"match": {field: text}}, "size": 10000, "_source": false}))
            .await;
        body["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| hit["_id"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl SearchIndex {
    pub async fn exists(&self) -> bool {
        self.client
            .indices()
            .exists(elasticsearch::indices::IndicesExistsParts::Index(&[
                &self.name
            ]))
            .send()
            .await
            .unwrap()
            .status_code()
            .is_success()
    }
}

impl SearchIndex {
    /// Every document's `_source` as the text the index keeps (numbers with all their digits),
    /// by `_id`.
    pub async fn source_texts(&self) -> BTreeMap<String, String> {
        #[derive(serde::Deserialize)]
        struct Hit {
            #[serde(rename = "_id")]
            id: String,
            #[serde(rename = "_source")]
            source: Box<serde_json::value::RawValue>,
        }
        #[derive(serde::Deserialize)]
        struct Hits {
            hits: Vec<Hit>,
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            hits: Hits,
        }
        self.refresh().await;
        let response = self
            .client
            .search(SearchParts::Index(&[&self.name]))
            .body(json!({"query": {"match_all": {}}, "size": 1000}))
            .send()
            .await
            .unwrap();
        let text = response.text().await.unwrap();
        let answer: Answer =
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"));
        answer
            .hits
            .hits
            .into_iter()
            .map(|hit| (hit.id, hit.source.get().to_owned()))
            .collect()
    }

    /// Writes a document behind pg2es's back.
    pub async fn put(&self, id: &str, source: &Value) {
        let response = self
            .client
            .index(elasticsearch::IndexParts::IndexId(&self.name, id))
            .body(source.clone())
            .send()
            .await
            .unwrap();
        assert!(
            response.status_code().is_success(),
            "{}",
            response.text().await.unwrap()
        );
    }

    /// Deletes a document behind pg2es's back.
    pub async fn remove(&self, id: &str) {
        let response = self
            .client
            .delete(elasticsearch::DeleteParts::IndexId(&self.name, id))
            .send()
            .await
            .unwrap();
        assert!(
            response.status_code().is_success(),
            "{}",
            response.text().await.unwrap()
        );
    }
}

impl SearchIndex {
    /// What pg2es recorded in the mapping of the index behind this name (`_meta.pg2es`).
    pub async fn pg2es_meta(&self) -> Value {
        self.mappings().await["_meta"]["pg2es"].clone()
    }

    /// The mappings of the index behind this name.
    pub async fn mappings(&self) -> Value {
        let body: Value = self
            .client
            .indices()
            .get_mapping(elasticsearch::indices::IndicesGetMappingParts::Index(&[
                &self.name,
            ]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let index = body.as_object().unwrap().values().next().unwrap();
        index["mappings"].clone()
    }

    /// Writes documents behind pg2es's back in one bulk request, as an older indexer would.
    pub async fn put_all(&self, documents: &BTreeMap<String, Value>) {
        let mut body: Vec<elasticsearch::BulkOperation<Value>> = Vec::new();
        for (id, source) in documents {
            body.push(
                elasticsearch::BulkOperation::index(source.clone())
                    .id(id)
                    .into(),
            );
        }
        let response = self
            .client
            .bulk(elasticsearch::BulkParts::Index(&self.name))
            .body(body)
            .refresh(elasticsearch::params::Refresh::True)
            .send()
            .await
            .unwrap();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["errors"], false, "{answer}");
    }
}

impl Drop for SearchIndex {
    /// Deletes the test's index (and the versioned ones behind its alias), also when the test
    /// failed. Drop blocks the test's runtime thread, so the requests go from a thread of
    /// their own, on a runtime of its own, and are given up after [`CLEANUP_DEADLINE`].
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let (url, name) = (self.url.clone(), self.name.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| err.to_string())?;
            let index = SearchIndex::open_on(&url, &name);
            // The timer is made inside `block_on`: it needs the runtime to exist around it.
            runtime
                .block_on(async {
                    tokio::time::timeout(CLEANUP_DEADLINE, index.try_delete()).await
                })
                .map_err(|_| format!("no answer within {CLEANUP_DEADLINE:?}"))?
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => eprintln!("could not delete test index {}: {reason}", self.name),
            Err(_) => eprintln!(
                "could not delete test index {}: cleanup panicked",
                self.name
            ),
        }
    }
}

/// Asserts a request was answered with a success, showing the answer when it was not.
async fn succeeded(
    sent: Result<elasticsearch::http::response::Response, elasticsearch::Error>,
    what: &str,
) {
    let response = sent.unwrap_or_else(|err| panic!("{what}: {err}"));
    let status = response.status_code();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: HTTP {status}: {text}");
}

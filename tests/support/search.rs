//! One index per test on the real search server.

use std::collections::BTreeMap;

use elasticsearch::http::transport::Transport;
use elasticsearch::indices::{
    IndicesCreateParts, IndicesDeleteParts, IndicesGetSettingsParts, IndicesRefreshParts,
};
use elasticsearch::{CountParts, Elasticsearch, SearchParts};
use serde_json::{json, Value};

pub struct SearchIndex {
    pub name: String,
    client: Elasticsearch,
}

impl SearchIndex {
    /// A name of this test's own; any leftover index of that name is deleted.
    pub async fn new(name: &str) -> Self {
        Self::on(&super::search_url(), name).await
    }

    /// The same on another server (a test's own node).
    pub async fn on(url: &str, name: &str) -> Self {
        let transport = Transport::single_node(url).unwrap();
        let index = Self {
            name: name.to_owned(),
            client: Elasticsearch::new(transport),
        };
        index.delete().await;
        index
    }

    pub async fn delete(&self) {
        let _ = self
            .client
            .indices()
            .delete(IndicesDeleteParts::Index(&[&self.name]))
            .send()
            .await
            .unwrap();
    }

    pub async fn create(&self, config: &Value) {
        let response = self
            .client
            .indices()
            .create(IndicesCreateParts::Index(&self.name))
            .body(config.clone())
            .send()
            .await
            .unwrap();
        assert!(
            response.status_code().is_success(),
            "{}",
            response.text().await.unwrap()
        );
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
        let settings = &body[&self.name]["settings"]["index"];
        let value = |key: &str| settings[key].as_str().map(str::to_owned);
        (value("refresh_interval"), value("number_of_replicas"))
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

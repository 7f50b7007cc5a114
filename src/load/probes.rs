//! `pg2es check` on OpenSearch with its security plugin, which has no API that tells what a user
//! may do: each index privilege is probed with a request of its own that needs it and changes
//! nothing. The plugin refuses a request it does not allow with 403 before anything runs; any
//! other answer (2xx, 404 for an index not made yet, 400) means the request got past it.

use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::request::JsonBody;
use elasticsearch::http::response::Response;
use elasticsearch::http::Method;
use elasticsearch::indices::{
    IndicesCreateParts, IndicesDeleteParts, IndicesGetMappingParts, IndicesRefreshParts,
};
use elasticsearch::{BulkParts, SearchParts};
use serde_json::{json, Value};

use super::error::status_is_retryable;
use super::{checked, Elastic, EsError};
use crate::retry::retry;

/// The document id the write probe deletes: no document has it, so the delete finds nothing.
const PROBE_ID: &str = "pg2es-privilege-probe";

impl Elastic {
    /// `GET /_plugins/_security/authinfo` answers only where the OpenSearch security plugin is.
    pub(super) async fn opensearch_security(&self) -> Result<bool, EsError> {
        let status = self
            .status_of("read security plugin info", || async {
                self.client
                    .send(
                        Method::Get,
                        "/_plugins/_security/authinfo",
                        HeaderMap::new(),
                        Option::<&()>::None,
                        Option::<JsonBody<Value>>::None,
                        None,
                    )
                    .await
            })
            .await?;
        Ok(status == 200)
    }

    /// The privileges of [`super::privileges::INDEX_PRIVILEGES`] whose probe was refused.
    pub(super) async fn probe_privileges(&self) -> Result<Vec<String>, EsError> {
        let index = self.index.as_str();
        let mut refused = Vec::new();
        // The versioned indexes pg2es makes are named `<alias>_...`. Zero shards is refused
        // after the permission check, so no index is made.
        let probe_index = format!("{index}_{PROBE_ID}");
        let create = self
            .status_of("probe create_index", || async {
                self.client
                    .indices()
                    .create(IndicesCreateParts::Index(&probe_index))
                    .body(json!({"settings": {"index": {"number_of_shards": 0}}}))
                    .send()
                    .await
            })
            .await?;
        if (200..300).contains(&create) {
            // A server that took zero shards after all: remove what the probe made.
            self.call("remove the probe index", || async {
                self.client
                    .indices()
                    .delete(IndicesDeleteParts::Index(&[&probe_index]))
                    .send()
                    .await
            })
            .await?;
        }
        if create == 403 {
            refused.push("create_index");
        }
        // Deleting an id that no document has: a bulk delete never creates an index.
        let delete = json!({"delete": {"_index": index, "_id": PROBE_ID}});
        if self
            .status_of("probe write", || async {
                self.client
                    .bulk(BulkParts::None)
                    .body(vec![JsonBody::new(delete.clone())])
                    .send()
                    .await
            })
            .await?
            == 403
        {
            refused.push("write");
        }
        if self
            .status_of("probe read", || async {
                self.client
                    .search(SearchParts::Index(&[index]))
                    .size(0)
                    .send()
                    .await
            })
            .await?
            == 403
        {
            refused.push("read");
        }
        if self
            .status_of("probe view_index_metadata", || async {
                self.client
                    .indices()
                    .get_mapping(IndicesGetMappingParts::Index(&[index]))
                    .send()
                    .await
            })
            .await?
            == 403
        {
            refused.push("view_index_metadata");
        }
        if self
            .status_of("probe manage", || async {
                self.client
                    .indices()
                    .refresh(IndicesRefreshParts::Index(&[index]))
                    .send()
                    .await
            })
            .await?
            == 403
        {
            refused.push("manage");
        }
        Ok(refused.into_iter().map(str::to_owned).collect())
    }

    /// The status of a request whose answer is judged by its status alone; retried like any
    /// other call while the server is unreachable, overloaded or failing (429, 5xx).
    async fn status_of<Fut>(
        &self,
        what: &'static str,
        send: impl Fn() -> Fut,
    ) -> Result<u16, EsError>
    where
        Fut: std::future::Future<Output = Result<Response, elasticsearch::Error>>,
    {
        retry(&self.retry, what, || async {
            let response = send().await.map_err(EsError::transport(what))?;
            let status = response.status_code().as_u16();
            if status_is_retryable(status) || status == 401 {
                // A wrong password is the caller's to fix, not a missing privilege.
                return checked(response, what).await.map(|_| status);
            }
            Ok(status)
        })
        .await
    }
}

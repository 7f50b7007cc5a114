//! Whether the configured user may do on the index what pg2es does (`pg2es check`), asked
//! through Elasticsearch's security API, or probed on OpenSearch with its security plugin
//! (`probes.rs`); servers without security (Elasticsearch OSS, OpenSearch without the plugin,
//! security off) check nothing.

use std::collections::BTreeMap;

use elasticsearch::security::SecurityHasPrivilegesParts;
use serde::Deserialize;
use serde_json::json;

use super::{checked, json, Elastic, EsError};
use crate::retry::retry;

/// What pg2es does on its index: create it, write and read documents, change its settings
/// during a back-fill and refresh it.
pub(crate) const INDEX_PRIVILEGES: [&str; 5] = [
    "create_index",
    "write",
    "read",
    "view_index_metadata",
    "manage",
];

#[derive(Debug, PartialEq)]
pub(crate) enum Privileges {
    /// The server has no security API, or security is off: nothing to check.
    Unchecked,
    /// The index privileges the user lacks (empty: all there).
    Missing(Vec<String>),
}

#[derive(Deserialize)]
struct Info {
    features: Features,
}

#[derive(Deserialize)]
struct Features {
    security: Option<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    enabled: bool,
}

#[derive(Deserialize)]
struct HasPrivileges {
    index: BTreeMap<String, BTreeMap<String, bool>>,
}

impl Elastic {
    pub async fn missing_privileges(&self) -> Result<Privileges, EsError> {
        if !self.security_enabled().await? {
            if self.opensearch_security().await? {
                return Ok(Privileges::Missing(self.probe_privileges().await?));
            }
            return Ok(Privileges::Unchecked);
        }
        let body = json!({"index": [{"names": [&self.index], "privileges": INDEX_PRIVILEGES}]});
        let answer: HasPrivileges = self
            .call_json("check privileges", || async {
                self.client
                    .security()
                    .has_privileges(SecurityHasPrivilegesParts::None)
                    .body(body.clone())
                    .send()
                    .await
            })
            .await?;
        Ok(Privileges::Missing(missing(&answer)))
    }

    /// `GET /_xpack`: a 4xx means no X-Pack (OpenSearch, OSS builds).
    async fn security_enabled(&self) -> Result<bool, EsError> {
        retry(&self.retry, "read server features", || async {
            let response = self
                .client
                .xpack()
                .info()
                .send()
                .await
                .map_err(EsError::transport("read server features"))?;
            if response.status_code().is_client_error() {
                return Ok(false);
            }
            let info: Info = json(
                checked(response, "read server features").await?,
                "read server features",
            )
            .await?;
            Ok(info
                .features
                .security
                .is_some_and(|security| security.enabled))
        })
        .await
    }
}

fn missing(answer: &HasPrivileges) -> Vec<String> {
    let mut missing = Vec::new();
    for privileges in answer.index.values() {
        for (privilege, granted) in privileges {
            if !granted {
                missing.push(privilege.clone());
            }
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_privileges_not_granted() {
        let answer: HasPrivileges = serde_json::from_str(
            r#"{"username":"pg2es","has_all_requested":false,"cluster":{},
                "index":{"movies":{"create_index":true,"write":false,"read":true,"manage":false}},
                "application":{}}"#,
        )
        .unwrap();
        assert_eq!(missing(&answer), ["manage", "write"]);
    }

    #[test]
    fn security_off_reads_as_disabled() {
        let info: Info =
            serde_json::from_str(r#"{"features":{"security":{"available":true,"enabled":false}}}"#)
                .unwrap();
        assert!(!info.features.security.unwrap().enabled);
    }
}

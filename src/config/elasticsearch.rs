//! The `elasticsearch` section: where the nodes are, how to authenticate, how to trust TLS.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use validator::Validate;

use super::{duration, rules, Secret, DEFAULT_REQUEST_TIMEOUT};

pub const DEFAULT_ELASTICSEARCH_URL: &str = "http://localhost:9200";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
#[validate(schema(function = "rules::elasticsearch"))]
pub struct ElasticsearchConfig {
    /// One node or several (`[a, b]` or `"a,b"`), tried in order: on a connection error or a
    /// 502/503/504 pg2es moves to the next. Unset: `http://localhost:9200`, unless `cloud_id`.
    #[validate(custom(function = "rules::node_urls"))]
    pub url: Option<NodeUrls>,
    /// Elastic Cloud deployment id (`name:base64`), instead of `url`.
    pub cloud_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// A file whose trimmed content is the password (instead of `password`).
    pub password_file: Option<PathBuf>,
    /// An API key: the base64 `encoded` value, or `id:api_key`.
    pub api_key: Option<Secret>,
    /// A file whose trimmed content is the API key (instead of `api_key`).
    pub api_key_file: Option<PathBuf>,
    /// PEM file with the certificate authority that signed the server's certificate.
    #[validate(custom(function = "rules::readable_file"))]
    pub ca_cert: Option<PathBuf>,
    /// Accept any server certificate. For tests only: a warning is logged at every start.
    pub insecure_skip_verify: bool,
    #[serde(with = "duration")]
    #[validate(custom(function = "rules::positive_duration"))]
    pub timeout: Duration,
}

impl Default for ElasticsearchConfig {
    fn default() -> Self {
        Self {
            url: None,
            cloud_id: None,
            username: None,
            password: None,
            password_file: None,
            api_key: None,
            api_key_file: None,
            ca_cert: None,
            insecure_skip_verify: false,
            timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl ElasticsearchConfig {
    /// The node URLs in fail-over order (the default node when none is set).
    pub fn node_urls(&self) -> Vec<String> {
        match &self.url {
            Some(urls) => urls.0.clone(),
            None => vec![DEFAULT_ELASTICSEARCH_URL.to_owned()],
        }
    }

    /// Where pg2es connects, safe to log: the cloud deployment or the nodes without passwords.
    pub fn describe(&self) -> String {
        if let Some(cloud_id) = &self.cloud_id {
            let name = cloud_id.split(':').next().unwrap_or_default();
            return format!("elastic cloud deployment {name}");
        }
        let urls: Vec<String> = self
            .node_urls()
            .iter()
            .map(|url| super::redact_url(url))
            .collect();
        urls.join(", ")
    }
}

/// One or more node URLs; written as a YAML list, one URL, or URLs separated by commas (the
/// form an environment variable can hold).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct NodeUrls(pub Vec<String>);

/// URLs may carry a password: `Debug` shows them redacted.
impl fmt::Debug for NodeUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = self.0.iter().map(|url| super::redact_url(url));
        f.debug_list().entries(redacted).finish()
    }
}

impl<'de> Deserialize<'de> for NodeUrls {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeUrlsVisitor)
    }
}

struct NodeUrlsVisitor;

impl<'de> Visitor<'de> for NodeUrlsVisitor {
    type Value = NodeUrls;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a URL, URLs separated by commas, or a list of URLs")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<NodeUrls, E> {
        let urls = text
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(str::to_owned);
        Ok(NodeUrls(urls.collect()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeUrls, A::Error> {
        let mut urls = Vec::new();
        while let Some(url) = seq.next_element::<String>()? {
            urls.push(url.trim().to_owned());
        }
        Ok(NodeUrls(urls))
    }
}

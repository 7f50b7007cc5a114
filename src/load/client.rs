//! The Elasticsearch client built from config: the nodes with fail-over between them (or an
//! Elastic Cloud id), basic auth or an API key, and the TLS trust (a CA file, or none at all).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::transport::{
    CloudConnectionPool, Connection, ConnectionPool, TransportBuilder,
};
use elasticsearch::Elasticsearch;
use tracing::warn;

use super::{Elastic, EsError};
use crate::config::ElasticsearchConfig;
use crate::retry::{Policy, RetryPolicy};

/// After moving to another node, failures of requests already sent to the old one are not
/// a reason to move again.
const FAIL_OVER_SETTLE: Duration = Duration::from_secs(1);

/// Builds the client and the retry policy that moves to the next node on node failures.
pub(super) fn build(
    config: &ElasticsearchConfig,
    policy: RetryPolicy,
) -> Result<(Elasticsearch, NodeRetry), EsError> {
    let nodes = FailOverPool::new(&config.node_urls())?;
    let mut builder = match &config.cloud_id {
        Some(cloud_id) => TransportBuilder::new(
            CloudConnectionPool::new(cloud_id)
                .map_err(|err| EsError::Client(format!("elasticsearch.cloud_id: {err}")))?,
        ),
        None => TransportBuilder::new(nodes.clone()),
    };
    builder = builder.timeout(config.timeout);
    if let Some(credentials) = credentials(config) {
        builder = builder.auth(credentials);
    }
    if let Some(validation) = validation(config)? {
        builder = builder.cert_validation(validation);
    }
    let transport = builder
        .build()
        .map_err(|err| EsError::Client(err.to_string()))?;
    let retry = NodeRetry {
        policy,
        nodes: (config.cloud_id.is_none()).then_some(nodes),
    };
    Ok((Elasticsearch::new(transport), retry))
}

fn credentials(config: &ElasticsearchConfig) -> Option<Credentials> {
    if let Some(key) = &config.api_key {
        return Some(match key.expose().split_once(':') {
            Some((id, key)) => Credentials::ApiKey(id.to_owned(), key.to_owned()),
            None => Credentials::EncodedApiKey(key.expose().to_owned()),
        });
    }
    let username = config.username.clone()?;
    let password = config.password.as_ref().map(|p| p.expose().to_owned());
    Some(Credentials::Basic(username, password.unwrap_or_default()))
}

fn validation(config: &ElasticsearchConfig) -> Result<Option<CertificateValidation>, EsError> {
    if config.insecure_skip_verify {
        // Once per process, however many clients are built.
        static WARNED: Once = Once::new();
        WARNED.call_once(|| warn!("elasticsearch.insecure_skip_verify is on: the server's TLS certificate is NOT checked, anyone on the network path can read and change what pg2es sends; use elasticsearch.ca_cert instead"));
        return Ok(Some(CertificateValidation::None));
    }
    let Some(path) = &config.ca_cert else {
        return Ok(None);
    };
    let invalid = |reason: String| {
        EsError::Client(format!(
            "elasticsearch.ca_cert: {}: {reason}",
            path.display()
        ))
    };
    let pem = std::fs::read(path).map_err(|err| invalid(err.to_string()))?;
    let certificate = Certificate::from_pem(&pem).map_err(|err| invalid(err.to_string()))?;
    Ok(Some(CertificateValidation::Full(certificate)))
}

/// The nodes in order; requests go to the current one until it fails.
#[derive(Debug, Clone)]
pub(crate) struct FailOverPool {
    connections: Arc<[Connection]>,
    urls: Arc<[String]>,
    current: Arc<AtomicUsize>,
    switched_at: Arc<Mutex<Option<Instant>>>,
}

impl FailOverPool {
    fn new(urls: &[String]) -> Result<Self, EsError> {
        let mut connections = Vec::with_capacity(urls.len());
        for url in urls {
            let parsed = url::Url::parse(url)
                .map_err(|err| EsError::Client(format!("elasticsearch.url {url:?}: {err}")))?;
            connections.push(Connection::new(parsed));
        }
        Ok(Self {
            connections: connections.into(),
            urls: urls
                .iter()
                .map(|url| crate::config::redact_url(url))
                .collect(),
            current: Arc::new(AtomicUsize::new(0)),
            switched_at: Arc::new(Mutex::new(None)),
        })
    }

    /// Moves to the next node, unless it moved a moment ago (several requests in flight fail
    /// together when a node goes away; only the first moves).
    fn fail_over(&self, now: Instant) -> Option<(usize, usize)> {
        if self.connections.len() < 2 {
            return None;
        }
        let mut switched_at = self
            .switched_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if switched_at.is_some_and(|at| now.duration_since(at) < FAIL_OVER_SETTLE) {
            return None;
        }
        *switched_at = Some(now);
        let from = self.current.load(Ordering::SeqCst);
        let to = (from + 1) % self.connections.len();
        self.current.store(to, Ordering::SeqCst);
        Some((from, to))
    }
}

impl ConnectionPool for FailOverPool {
    fn next(&self) -> Connection {
        let index = self.current.load(Ordering::SeqCst) % self.connections.len();
        self.connections[index].clone()
    }
}

/// The retry policy of the Elasticsearch client: before another attempt after a node failure
/// (no answer, or 502/503/504), requests move to the next node.
#[derive(Debug, Clone)]
pub(crate) struct NodeRetry {
    policy: RetryPolicy,
    nodes: Option<FailOverPool>,
}

impl Policy<EsError> for NodeRetry {
    fn backoff_policy(&self) -> &RetryPolicy {
        &self.policy
    }

    fn before_retry(&self, error: &EsError) {
        let Some(nodes) = &self.nodes else {
            return;
        };
        if !error.is_node_failure() {
            return;
        }
        if let Some((from, to)) = nodes.fail_over(Instant::now()) {
            warn!(from = %nodes.urls[from], to = %nodes.urls[to], "elasticsearch node failed, moving to the next");
        }
    }
}

impl Elastic {
    /// The same client and nodes with another retry policy (health checks try briefly).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry.policy = policy;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> FailOverPool {
        let urls = ["http://a:9200".to_owned(), "http://b:9200".to_owned()];
        FailOverPool::new(&urls).unwrap()
    }

    #[test]
    fn requests_stay_on_a_node_until_it_fails_then_move_in_order() {
        let pool = pool();
        assert_eq!(pool.next().url().host_str(), Some("a"));
        assert_eq!(pool.next().url().host_str(), Some("a"));
        let start = Instant::now();
        assert_eq!(pool.fail_over(start), Some((0, 1)));
        assert_eq!(pool.next().url().host_str(), Some("b"));
        // Failures of requests sent before the move do not move again at once.
        assert_eq!(pool.fail_over(start + Duration::from_millis(10)), None);
        assert_eq!(pool.fail_over(start + FAIL_OVER_SETTLE), Some((1, 0)));
        assert_eq!(pool.next().url().host_str(), Some("a"));
    }

    #[test]
    fn a_single_node_never_moves() {
        let pool = FailOverPool::new(&["http://a:9200".to_owned()]).unwrap();
        assert_eq!(pool.fail_over(Instant::now()), None);
    }

    #[test]
    fn api_key_is_sent_encoded_or_as_id_and_key() {
        let mut config = ElasticsearchConfig {
            api_key: Some(crate::config::Secret::new("aWQ6a2V5")),
            ..Default::default()
        };
        assert!(matches!(
            credentials(&config),
            Some(Credentials::EncodedApiKey(key)) if key == "aWQ6a2V5"
        ));
        config.api_key = Some(crate::config::Secret::new("id:key"));
        assert!(matches!(
            credentials(&config),
            Some(Credentials::ApiKey(id, key)) if id == "id" && key == "key"
        ));
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let config = ElasticsearchConfig {
            ca_cert: Some(path),
            ..Default::default()
        };
        let err = validation(&config).err().expect("refused");
        assert!(err.to_string().contains("elasticsearch.ca_cert"), "{err}");
    }
}

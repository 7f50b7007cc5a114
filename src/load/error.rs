use std::time::Duration;

use crate::retry::Retryable;

/// A failed Elasticsearch call, with what pg2es was doing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EsError {
    #[error("elasticsearch: {what} failed")]
    Transport {
        what: &'static str,
        #[source]
        source: elasticsearch::Error,
    },
    #[error("elasticsearch: {what} answered HTTP {status}: {body}")]
    Status {
        what: &'static str,
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    #[error("elasticsearch: unexpected answer to {what}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "elasticsearch: {count} bulk items still refused with retryable statuses (last: {last})"
    )]
    ItemsToRetry { count: usize, last: String },
    #[error("cannot write dead-letter file {path}")]
    DeadLetter {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("elasticsearch: cannot build the client: {0}")]
    Client(String),
    #[error("invalid index config {path}: {reason}")]
    IndexConfig {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("no index answers for {alias}: it was deleted, or the alias removed ({reason})")]
    IndexGone { alias: String, reason: String },
}

impl EsError {
    pub fn transport(what: &'static str) -> impl FnOnce(elasticsearch::Error) -> Self {
        move |source| Self::Transport { what, source }
    }

    /// The node itself failed (no answer, or a gateway/unavailable status): another node may
    /// do better.
    pub fn is_node_failure(&self) -> bool {
        match self {
            EsError::Transport { source, .. } => source.status_code().is_none(),
            EsError::Status { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }

    pub fn decode(what: &'static str) -> impl FnOnce(serde_json::Error) -> Self {
        move |source| Self::Decode { what, source }
    }
}

/// 429 and 5xx are worth another try; other statuses are the request's own fault.
pub(crate) fn status_is_retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

impl Retryable for EsError {
    fn is_retryable(&self) -> bool {
        match self {
            // No status: the connection failed or timed out, or the server's certificate was
            // refused (which another attempt would meet again).
            EsError::Transport { source, .. } => match source.status_code() {
                Some(status) => status_is_retryable(status.as_u16()),
                None => !crate::retry::refused_by_tls(source),
            },
            EsError::Status { status, .. } => status_is_retryable(*status),
            EsError::ItemsToRetry { .. } => true,
            EsError::Decode { .. }
            | EsError::DeadLetter { .. }
            | EsError::IndexConfig { .. }
            | EsError::IndexGone { .. }
            | EsError::Client(_) => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            EsError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

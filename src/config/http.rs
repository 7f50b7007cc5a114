//! The `http` section: the listener for `/metrics`, `/healthz` and `/readyz`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use validator::Validate;

use super::{duration, rules};

/// How long bulk writes may fail (while retried) before `/readyz` answers 503.
pub const DEFAULT_UNWRITABLE_AFTER: Duration = Duration::from_secs(60);

/// Off by default: several workers on one machine would fight over a fixed port.
/// `127.0.0.1:9464` is the usual choice (Prometheus exporters' port range).
pub const DEFAULT_HTTP_ADDRESS: &str = "";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `ip:port` to listen on (port 0: any free port, logged); empty turns the listener off.
    #[validate(custom(function = "rules::listen_address"))]
    pub address: String,
    /// `/readyz` answers 503 once bulk writes have failed (and been retried) for this long.
    #[serde(with = "duration")]
    #[validate(custom(function = "rules::positive_duration"))]
    pub unwritable_after: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            address: DEFAULT_HTTP_ADDRESS.to_owned(),
            unwritable_after: DEFAULT_UNWRITABLE_AFTER,
        }
    }
}

impl HttpConfig {
    /// The address to listen on, `None` when the listener is off.
    pub fn listen_address(&self) -> Option<std::net::SocketAddr> {
        self.address.trim().parse().ok()
    }
}

//! The `http` section: the listener for `/metrics`, `/healthz` and `/readyz`.

use serde::{Deserialize, Serialize};
use validator::Validate;

use super::rules;

/// Off by default: several workers on one machine would fight over a fixed port.
/// `127.0.0.1:9464` is the usual choice (Prometheus exporters' port range).
pub const DEFAULT_HTTP_ADDRESS: &str = "";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `ip:port` to listen on (port 0: any free port, logged); empty turns the listener off.
    #[validate(custom(function = "rules::listen_address"))]
    pub address: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            address: DEFAULT_HTTP_ADDRESS.to_owned(),
        }
    }
}

impl HttpConfig {
    /// The address to listen on, `None` when the listener is off.
    pub fn listen_address(&self) -> Option<std::net::SocketAddr> {
        self.address.trim().parse().ok()
    }
}

//! LISTEN/NOTIFY: the triggers' notifications wake the worker; polling stays as the safety net.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tracing::warn;

use crate::extract::PgError;
use crate::retry::{retry, RetryPolicy};

/// The channel the capture triggers notify (see `capture_setup.sql`).
const CHANNEL: &str = "pg2es_changes";

pub(super) struct Wake {
    listener: PgListener,
}

impl Wake {
    pub async fn listen(pool: &PgPool, policy: &RetryPolicy) -> Result<Self, PgError> {
        retry(policy, "listen for changes", || async {
            let mut listener = PgListener::connect_with(pool)
                .await
                .map_err(PgError::new("listen for changes"))?;
            listener
                .listen(CHANNEL)
                .await
                .map_err(PgError::new("listen for changes"))?;
            Ok(Self { listener })
        })
        .await
    }
}

/// Returns after `interval`, or earlier when a change is notified. A lost listener connection
/// also returns at once: notifications may have been missed, so the worker reads again (the
/// listener reconnects on the next call).
pub(super) async fn wait(wake: Option<&mut Wake>, interval: Duration) {
    let Some(wake) = wake else {
        tokio::time::sleep(interval).await;
        return;
    };
    tokio::select! {
        _ = tokio::time::sleep(interval) => {}
        received = wake.listener.recv() => {
            if let Err(err) = received {
                warn!(error = %err, "change listener lost its connection, reading again");
            }
        }
    }
}

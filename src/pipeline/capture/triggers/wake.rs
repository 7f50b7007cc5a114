//! LISTEN/NOTIFY: the triggers' notifications wake the worker; polling stays as the safety net.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tracing::warn;

/// The channel the capture triggers notify (see `capture_setup.sql`).
const CHANNEL: &str = "pg2es_changes";

pub(super) struct Wake {
    listener: PgListener,
}

impl Wake {
    pub async fn listen(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Self { listener })
    }

    /// Returns after `interval`, or earlier when a change is notified. A lost listener
    /// connection also returns at once: notifications may have been missed, so the worker
    /// reads again (the listener reconnects on the next call).
    pub async fn wait(&mut self, interval: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            received = self.listener.recv() => {
                if let Err(err) = received {
                    warn!(error = %err, "change listener lost its connection, reading again");
                }
            }
        }
    }
}

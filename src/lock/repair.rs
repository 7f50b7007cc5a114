//! The repair lock: a second advisory lock per pipeline and index, apart from the worker lock.
//! `verify --repair` holds it from before its first write into the index until the repair
//! ledger (`state/repairs.rs`) counts its last one; a worker holds it for the moment it reads
//! the index's applied operations and the ledger. So the worker never reads the index between
//! a repair's write and the entry that makes that write pg2es's, and never waits for a repair:
//! when one holds the lock, the worker looks at the next cycle. Postgres releases the lock
//! when its connection closes, so a repair that dies holds up nothing.

use sqlx::pool::PoolConnection;
use sqlx::PgConnection;
use tracing::{info, warn};

use crate::extract::{PgError, Postgres};

/// The repair lock's key: that of the worker lock with `repair` after the names.
pub(crate) fn repair_key(pipeline: &str, index: &str) -> i64 {
    super::hash(&[pipeline, index, "repair"])
}

/// Held by a repair while it writes; released when dropped (its connection closes).
pub(crate) struct RepairLock {
    _connection: PgConnection,
}

/// Takes the repair lock on a connection of its own, waiting (and saying so) while another
/// repair holds it, or a worker is reading the index's operations.
pub(crate) async fn hold_for_repair(pg: &Postgres, key: i64) -> Result<RepairLock, PgError> {
    let (connection, locked) = pg
        .call("take the repair lock", || async {
            let mut connection = pg.pool().acquire().await?.detach();
            let locked: bool = sqlx::query_scalar(include_str!("try_lock.sql"))
                .bind(key)
                .fetch_one(&mut connection)
                .await?;
            Ok((connection, locked))
        })
        .await?;
    let mut connection = connection;
    if !locked {
        info!(
            key,
            "waiting for the repair lock: another repair is writing into the index"
        );
        sqlx::query(include_str!("wait_lock.sql"))
            .bind(key)
            .execute(&mut connection)
            .await
            .map_err(PgError::new("wait for the repair lock"))?;
    }
    Ok(RepairLock {
        _connection: connection,
    })
}

/// Held by a worker while it reads the index's operations and the repair ledger.
pub(crate) struct LookLock {
    connection: Option<PoolConnection<sqlx::Postgres>>,
    key: i64,
}

/// Takes the repair lock for a look, on a pooled connection; `None` when a repair holds it.
pub(crate) async fn try_hold_for_look(
    pg: &Postgres,
    key: i64,
) -> Result<Option<LookLock>, PgError> {
    let (connection, locked) = pg
        .call("take the repair lock", || async {
            let mut connection = pg.pool().acquire().await?;
            let locked: bool = sqlx::query_scalar(include_str!("try_lock.sql"))
                .bind(key)
                .fetch_one(&mut *connection)
                .await?;
            Ok((connection, locked))
        })
        .await?;
    Ok(locked.then_some(LookLock {
        connection: Some(connection),
        key,
    }))
}

impl LookLock {
    /// Lets go of the lock; the connection goes back to the pool only once unlocked.
    pub async fn release(mut self) {
        let Some(mut connection) = self.connection.take() else {
            return;
        };
        let unlocked = sqlx::query_scalar::<_, bool>(include_str!("unlock.sql"))
            .bind(self.key)
            .fetch_one(&mut *connection)
            .await;
        if let Err(err) = unlocked {
            warn!(error = %err, "cannot let go of the repair lock: closing its connection instead");
            connection.close_on_drop();
        }
    }
}

impl Drop for LookLock {
    /// Not released (an error, or the look given up): the connection is closed, not pooled,
    /// so the lock goes with it.
    fn drop(&mut self) {
        if let Some(connection) = self.connection.as_mut() {
            connection.close_on_drop();
        }
    }
}

//! One active worker per pipeline and index: a session-level Postgres advisory lock, held on a
//! connection of its own for the worker's life. Postgres releases it when that connection
//! closes, so when the active worker dies (even by `kill -9`) a standing-by worker, which
//! tries again every second, takes over within about a second. The repair lock (`repair.rs`)
//! keeps a repair's writes apart from the worker's look at the index's operations.

mod repair;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tracing::{info, warn};

use crate::extract::PgError;
use crate::retry::{retry, RetryPolicy, Retryable};

pub(crate) use repair::{hold_for_repair, repair_key, try_hold_for_look};

/// How often a standing-by worker tries to take the lock.
pub(crate) const RETRY_EVERY: Duration = Duration::from_secs(1);
/// How often the active worker checks that the connection holding its lock is still there.
const WATCH_EVERY: Duration = Duration::from_secs(5);
const WATCH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error("another pg2es worker is active on this pipeline and index ({holder}); stop it first, or let it do the work")]
    Held { holder: String },
    #[error("lost the worker lock ({reason}): writes stop, so that only one worker writes")]
    Lost { reason: String },
}

/// How long to wait for the lock.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Patience {
    /// Stand by until the active worker goes away (`run`).
    Forever,
    /// Give up with [`LockError::Held`] after this long (`sync --once`).
    UpTo(Duration),
}

/// The lock of one pipeline and index, held while this value lives.
pub(crate) struct WorkerLock {
    connection: PgConnection,
}

/// The lock's key: FNV-1a (64 bits) of the pipeline and index names, so every worker of the
/// same pipeline and index, whatever its version or machine, asks for the same lock.
pub(crate) fn key(pipeline: &str, index: &str) -> i64 {
    hash(&[pipeline, index])
}

/// FNV-1a (64 bits) of `parts`, a zero byte between each two.
fn hash(parts: &[&str]) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (number, part) in parts.iter().enumerate() {
        let separator = (number > 0).then_some(0);
        for byte in separator.into_iter().chain(part.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Takes the lock, standing by (and saying so once) while another worker holds it. Reaching
/// Postgres follows `policy`, like every other query: with `max_attempts` set, an unreachable
/// server ends the wait with an error.
pub(crate) async fn acquire(
    options: &PgConnectOptions,
    key: i64,
    pipeline: &str,
    patience: Patience,
    policy: &RetryPolicy,
) -> Result<WorkerLock, LockError> {
    let mut waiting = Waiting {
        pipeline: pipeline.to_owned(),
        started: Instant::now(),
        standing_by: false,
        patience,
    };
    loop {
        let connection = retry(policy, "connect for the worker lock", || async {
            PgConnection::connect_with(options)
                .await
                .map_err(PgError::new("connect for the worker lock"))
        })
        .await?;
        if let Some(lock) = wait_on(connection, key, &mut waiting).await? {
            return Ok(lock);
        }
    }
}

/// How long this worker has been waiting, and whether it said so.
struct Waiting {
    pipeline: String,
    started: Instant,
    standing_by: bool,
    patience: Patience,
}

/// Tries every second on one connection; `None` when the connection broke (connect again).
async fn wait_on(
    mut connection: PgConnection,
    key: i64,
    waiting: &mut Waiting,
) -> Result<Option<WorkerLock>, LockError> {
    loop {
        let locked = sqlx::query_scalar::<_, bool>(include_str!("try_lock.sql"))
            .bind(key)
            .fetch_one(&mut connection)
            .await
            .map_err(PgError::new("take the worker lock"));
        match locked {
            Ok(true) => {
                info!(key, "acquired the worker lock: this worker is active");
                crate::metrics::get().active(&waiting.pipeline, true);
                return Ok(Some(WorkerLock { connection }));
            }
            Ok(false) => waiting.held(holder(&mut connection, key).await)?,
            Err(err) if err.is_retryable() => {
                warn!(error = %err, "lost the connection while standing by, connecting again");
                return Ok(None);
            }
            Err(err) => return Err(err.into()),
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

impl Waiting {
    /// Another worker holds the lock: say so once, give up when out of patience.
    fn held(&mut self, holder: String) -> Result<(), LockError> {
        if !self.standing_by {
            info!(holder = %holder, "another worker holds the lock, standing by");
            crate::metrics::get().active(&self.pipeline, false);
            self.standing_by = true;
        }
        match self.patience {
            Patience::UpTo(limit) if self.started.elapsed() >= limit => {
                Err(LockError::Held { holder })
            }
            _ => Ok(()),
        }
    }
}

/// Who holds the lock, for messages.
async fn holder(connection: &mut PgConnection, key: i64) -> String {
    match holder_row(connection, key).await {
        Ok(Some(holder)) => holder,
        Ok(None) => "released a moment ago".into(),
        Err(err) => format!("holder unknown: {err}"),
    }
}

/// The worker holding the lock of `key` in this database (`pg2es status`), `None` when none.
pub(crate) async fn active_worker(pool: &PgPool, key: i64) -> Result<Option<String>, PgError> {
    let mut connection = pool
        .acquire()
        .await
        .map_err(PgError::new("look for the active worker"))?;
    holder_row(&mut connection, key)
        .await
        .map_err(PgError::new("look for the active worker"))
}

async fn holder_row(
    connection: &mut PgConnection,
    key: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(i32, String, Option<DateTime<Utc>>)> =
        sqlx::query_as(include_str!("holder.sql"))
            .bind(key)
            .fetch_optional(connection)
            .await?;
    Ok(row.map(|(pid, client, since)| {
        let since = since.map_or(String::new(), |at| format!(" since {}", at.to_rfc3339()));
        format!("postgres backend pid {pid} from {client}{since}")
    }))
}

impl WorkerLock {
    /// Resolves when the connection holding the lock is gone: the lock is then free for
    /// another worker, and this one must stop writing.
    pub async fn lost(&mut self) -> LockError {
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            let answer = tokio::time::timeout(WATCH_TIMEOUT, self.connection.ping()).await;
            let reason = match answer {
                Ok(Ok(())) => continue,
                Ok(Err(err)) => err.to_string(),
                Err(_) => format!("no answer in {}s", WATCH_TIMEOUT.as_secs()),
            };
            return LockError::Lost { reason };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_stable_and_tells_pipelines_and_indexes_apart() {
        assert_eq!(key("movies", "movies"), key("movies", "movies"));
        assert_eq!(key("movies", "movies"), 9_019_380_069_817_387_793);
        assert_ne!(key("movies", "films"), key("movies", "movies"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(key("ab", "c"), key("a", "bc"));
        assert_ne!(repair_key("movies", "movies"), key("movies", "movies"));
    }
}

//! What `run` and `sync` put around the engine: the HTTP listener with its health checks, and
//! the worker lock (one active worker per pipeline and index; the others stand by).

use std::time::Duration;

use tokio::task::JoinHandle;
use tracing::info;

use super::{connect, AppError};
use crate::config::Config;
use crate::declaration::Declared;
use crate::extract::{connect_options, Postgres};
use crate::load::Elastic;
use crate::lock::{self, LockError, Patience, WorkerLock};
use crate::retry::RetryPolicy;

/// How often both servers are pinged for `pg2es_*_up` and `/readyz`.
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// A ping slower than this counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Two tries, so that a failed Elasticsearch node is left for the next one.
const CHECK_RETRY: RetryPolicy = RetryPolicy {
    initial_delay: Duration::from_millis(100),
    max_delay: Duration::from_millis(100),
    max_attempts: 2,
};
/// `sync --once` waits this long for a worker that was just stopped to release its lock.
const ONCE_LOCK_PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub(crate) enum WorkerError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot listen on http.address {address}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
}

/// The listener and the health checks; both stop when this is dropped.
pub(super) struct Observer {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Observer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts the listener and the health checks when `http.address` is set.
pub(super) async fn observe(
    config: &Config,
    pipeline: &Declared,
) -> Result<Option<Observer>, AppError> {
    let Some(address) = config.http.listen_address() else {
        return Ok(None);
    };
    let health = &crate::metrics::get().health;
    health.set_poll_interval(config.sync.poll_interval);
    health.set_unwritable_after(config.http.unwritable_after);
    let listener = crate::metrics::serve(address)
        .await
        .map_err(|source| WorkerError::Listen {
            address: address.to_string(),
            source,
        })?;
    let (postgres, elastic) = connect(config, CHECK_RETRY, pipeline)?;
    let checks = tokio::spawn(check_servers(postgres, elastic.with_retry(CHECK_RETRY)));
    Ok(Some(Observer {
        tasks: vec![listener, checks],
    }))
}

async fn check_servers(postgres: Postgres, elastic: Elastic) {
    loop {
        let postgres_up = tokio::time::timeout(CHECK_TIMEOUT, postgres.ping())
            .await
            .is_ok_and(|answer| answer.is_ok());
        let elasticsearch_up = tokio::time::timeout(CHECK_TIMEOUT, elastic.ping())
            .await
            .is_ok_and(|answer| answer.is_ok());
        crate::metrics::get().servers_up(postgres_up, elasticsearch_up);
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

/// Takes the worker lock of this pipeline and index. `run` stands by as long as it takes;
/// `sync --once` gives up after a few seconds. `None`: a shutdown signal came first.
pub(super) async fn take_lock(
    config: &Config,
    pipeline: &Declared,
    once: bool,
) -> Result<Option<WorkerLock>, AppError> {
    let options = connect_options(&config.postgres)?.application_name("pg2es worker lock");
    let key = lock::key(&pipeline.name, &pipeline.alias);
    let patience = match once {
        true => Patience::UpTo(ONCE_LOCK_PATIENCE),
        false => Patience::Forever,
    };
    let policy = RetryPolicy::from(&config.sync.retry);
    tokio::select! {
        lock = lock::acquire(&options, key, &pipeline.name, patience, &policy) => {
            Ok(Some(lock.map_err(WorkerError::from)?))
        }
        signal = shutdown_signal() => {
            info!(signal, "stopping while standing by");
            Ok(None)
        }
    }
}

/// SIGTERM or SIGINT, whichever comes first (never, where signals cannot be listened to).
pub(super) async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return "none";
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

//! Retry with exponential backoff and jitter, where the error decides whether to try again.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use tracing::warn;

use crate::config::RetryConfig;

/// Implemented by every I/O error type: transient faults retry, the rest fail at once.
pub(crate) trait Retryable {
    fn is_retryable(&self) -> bool;

    /// A delay the server asked for (e.g. HTTP `Retry-After`), honoured when longer than ours.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

/// What `retry` needs from its caller: the backoff, and a hook run before each new attempt
/// (the Elasticsearch client moves to another node there).
pub(crate) trait Policy<E> {
    fn backoff_policy(&self) -> &RetryPolicy;

    fn before_retry(&self, _error: &E) {}
}

impl<E> Policy<E> for RetryPolicy {
    fn backoff_policy(&self) -> &RetryPolicy {
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RetryPolicy {
    pub initial_delay: Duration,
    pub max_delay: Duration,
    /// 0 means for ever.
    pub max_attempts: u32,
}

impl From<&RetryConfig> for RetryPolicy {
    fn from(config: &RetryConfig) -> Self {
        Self {
            initial_delay: config.initial_delay,
            max_delay: config.max_delay,
            max_attempts: config.max_attempts,
        }
    }
}

impl RetryPolicy {
    fn backoff(&self) -> ExponentialBuilder {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter();
        match self.max_attempts {
            0 => builder.without_max_times(),
            attempts => builder.with_max_times(attempts.saturating_sub(1) as usize),
        }
    }
}

impl RetryPolicy {
    /// The delays between attempts, for a caller that loops itself (ends when the policy
    /// gives up).
    pub(crate) fn delays(&self) -> backon::ExponentialBackoff {
        use backon::BackoffBuilder as _;
        self.backoff().build()
    }
}

/// True when an error's chain holds an I/O error of kind `InvalidData`: what the TLS layer
/// (rustls) reports for a certificate it does not trust, a name that does not match, a broken
/// handshake. Another attempt would meet the same certificate: not transient, unlike a reset
/// or refused connection.
pub(crate) fn refused_by_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        cause = error.source();
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::InvalidData {
                return true;
            }
            // An I/O error wrapping another (the HTTPS connector wraps the TLS layer's) shows
            // the inner one only through `get_ref`: its `source` skips it.
            if let Some(inner) = io.get_ref() {
                cause = Some(inner as &(dyn std::error::Error + 'static));
            }
        }
    }
    false
}

/// Runs `operation` until it succeeds, fails with a non-retryable error, or the policy gives up.
pub(crate) async fn retry<T, E, F, Fut>(
    policy: &impl Policy<E>,
    what: &'static str,
    operation: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Retryable + std::error::Error,
{
    let mut attempt: u32 = 0;
    let result = operation
        .retry(policy.backoff_policy().backoff())
        .sleep(tokio::time::sleep)
        .when(|err: &E| err.is_retryable())
        .adjust(|err: &E, delay| {
            delay.map(|ours| err.retry_after().map_or(ours, |theirs| theirs.max(ours)))
        })
        .notify(|err: &E, delay: Duration| {
            attempt += 1;
            policy.before_retry(err);
            crate::metrics::get().retried(what);
            let delay_ms = delay.as_millis() as u64;
            // The whole chain: "ping failed" alone reads the same for a wrong port, a wrong
            // password and a server still starting.
            let error = crate::errors::causes(err).join(": ");
            crate::metrics::get().health.retrying(what, error.clone());
            warn!(
                operation = what,
                attempt, delay_ms, error, "transient failure, retrying"
            );
        })
        .await;
    if attempt > 0 {
        crate::metrics::get().health.retry_ended(what);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum TestError {
        #[error("transient")]
        Transient,
        #[error("fatal")]
        Fatal,
        #[error("slow down")]
        SlowDown,
    }

    impl Retryable for TestError {
        fn is_retryable(&self) -> bool {
            !matches!(self, TestError::Fatal)
        }
        fn retry_after(&self) -> Option<Duration> {
            matches!(self, TestError::SlowDown).then_some(Duration::from_secs(60))
        }
    }

    #[test]
    fn invalid_data_anywhere_in_the_chain_is_a_tls_refusal() {
        #[derive(Debug, thiserror::Error)]
        #[error("request failed")]
        struct Wrapper(#[source] std::io::Error);
        let refused = Wrapper(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        ));
        assert!(refused_by_tls(&refused));
        let wrapped = Wrapper(std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        )));
        assert!(refused_by_tls(&wrapped));
        let reset = Wrapper(std::io::ErrorKind::ConnectionReset.into());
        assert!(!refused_by_tls(&reset));
    }

    const POLICY: RetryPolicy = RetryPolicy {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        max_attempts: 0,
    };

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_with_growing_delays() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let result = retry(&POLICY, "test", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=3 => Err(TestError::Transient),
                _ => Ok("done"),
            }
        })
        .await;
        assert_eq!(result.unwrap(), "done");
        assert_eq!(calls.load(Ordering::SeqCst), 5);
        // 100 + 200 + 400 + 800 ms at least (jitter only adds).
        assert!(
            started.elapsed() >= Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn fatal_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry(&POLICY, "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(TestError::Fatal)
        })
        .await;
        assert!(matches!(result, Err(TestError::Fatal)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn max_attempts_bounds_the_calls() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy {
            max_attempts: 3,
            ..POLICY
        };
        let result: Result<(), _> = retry(&policy, "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(TestError::Transient)
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn server_requested_delay_is_honoured() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let result = retry(&POLICY, "test", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(TestError::SlowDown),
                _ => Ok(()),
            }
        })
        .await;
        assert!(result.is_ok());
        assert!(started.elapsed() >= Duration::from_secs(60));
    }
}

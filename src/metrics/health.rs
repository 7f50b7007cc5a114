//! `/readyz`: ready when this worker is the active one, both servers answered the last health
//! check, and the worker made progress recently (a cycle finished, or a back-fill batch was
//! acknowledged) — within `max(3 × sync.poll_interval, 60s)`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// The shortest time without progress that makes a worker not ready.
pub(crate) const MIN_STALL: Duration = Duration::from_secs(60);
/// How many poll intervals without progress make a worker not ready.
const STALL_INTERVALS: u32 = 3;

/// What the health checks and the engine last reported.
#[derive(Debug, Default)]
pub(crate) struct Health {
    checked: AtomicBool,
    postgres_up: AtomicBool,
    elasticsearch_up: AtomicBool,
    standby: AtomicBool,
    last_progress: Mutex<Option<Instant>>,
    stall_after: Mutex<Option<Duration>>,
    /// Why search answers from an incomplete index (set while it is rebuilt).
    incomplete: Mutex<Option<String>>,
    /// Since when bulk writes fail (being retried), and the last error.
    write_failing: Mutex<Option<(Instant, String)>>,
    /// How long writes may fail before the worker is not ready.
    unwritable_after: Mutex<Option<Duration>>,
    /// Operations being retried: since when, and the last error.
    retrying: Mutex<BTreeMap<&'static str, (SystemTime, String)>>,
    /// Pipelines stopped because Postgres no longer has what they read, and why.
    stopped: Mutex<BTreeMap<String, String>>,
}

/// An operation being retried, as `/status` (and so `pg2es status`) shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Retrying {
    pub operation: &'static str,
    pub since: chrono::DateTime<chrono::Utc>,
    pub last_error: String,
}

/// A copy of [`Health`] at one instant, judged by [`readiness`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    pub incomplete: Option<String>,
    /// Pipelines stopped by a schema change, and why.
    pub stopped: BTreeMap<String, String>,
    /// For how long writes have failed, and the last error.
    pub unwritable: Option<(Duration, String)>,
    pub unwritable_after: Duration,
    pub checked: bool,
    pub postgres_up: bool,
    pub elasticsearch_up: bool,
    pub standby: bool,
    pub since_progress: Option<Duration>,
    pub stall_after: Duration,
}

impl Health {
    pub fn checked(&self, postgres_up: bool, elasticsearch_up: bool) {
        self.postgres_up.store(postgres_up, Ordering::Relaxed);
        self.elasticsearch_up
            .store(elasticsearch_up, Ordering::Relaxed);
        self.checked.store(true, Ordering::Relaxed);
    }

    pub fn progressed(&self) {
        *lock(&self.last_progress) = Some(Instant::now());
    }

    /// The index is incomplete until a cycle finishes again (see [`Health::progressed`]).
    pub fn incomplete(&self, reason: String) {
        *lock(&self.incomplete) = Some(reason);
    }

    /// A bulk request failed and is retried: the first failure of a run of them starts the clock.
    pub fn write_failed(&self, error: String) {
        let mut failing = lock(&self.write_failing);
        let since = failing
            .as_ref()
            .map_or_else(Instant::now, |(since, _)| *since);
        *failing = Some((since, error));
    }

    /// A bulk request was acknowledged.
    pub fn written(&self) {
        *lock(&self.write_failing) = None;
    }

    /// `operation` failed and is retried: the first failure of a run of them starts the clock.
    pub fn retrying(&self, operation: &'static str, error: String) {
        let mut retrying = lock(&self.retrying);
        let since = retrying
            .get(operation)
            .map_or_else(SystemTime::now, |(since, _)| *since);
        retrying.insert(operation, (since, error));
    }

    /// `operation` succeeded, or was given up: no longer retried.
    pub fn retry_ended(&self, operation: &'static str) {
        lock(&self.retrying).remove(operation);
    }

    /// The operations being retried now.
    pub fn retried(&self) -> Vec<Retrying> {
        lock(&self.retrying)
            .iter()
            .map(|(operation, (since, error))| Retrying {
                operation,
                since: (*since).into(),
                last_error: error.clone(),
            })
            .collect()
    }

    /// Sets how long writes may fail before the worker is not ready.
    pub fn set_unwritable_after(&self, bound: Duration) {
        *lock(&self.unwritable_after) = Some(bound);
    }

    /// `pipeline` stopped (`Some(reason)`) because Postgres no longer has what it reads, or
    /// resumed (`None`).
    pub fn stopped(&self, pipeline: &str, reason: Option<String>) {
        let mut stopped = lock(&self.stopped);
        match reason {
            Some(reason) => stopped.insert(pipeline.to_owned(), reason),
            None => stopped.remove(pipeline),
        };
    }

    /// The pipelines stopped now, and why.
    pub fn stopped_pipelines(&self) -> BTreeMap<String, String> {
        lock(&self.stopped).clone()
    }

    /// A cycle finished: whatever was incomplete was rebuilt.
    pub fn complete(&self) {
        *lock(&self.incomplete) = None;
    }

    pub fn standby(&self, standby: bool) {
        self.standby.store(standby, Ordering::Relaxed);
    }

    /// Sets the time without progress after which the worker is not ready.
    pub fn set_poll_interval(&self, poll_interval: Duration) {
        *lock(&self.stall_after) = Some(stall_after(poll_interval));
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            incomplete: lock(&self.incomplete).clone(),
            stopped: self.stopped_pipelines(),
            unwritable: lock(&self.write_failing)
                .as_ref()
                .map(|(since, error)| (since.elapsed(), error.clone())),
            unwritable_after: lock(&self.unwritable_after).unwrap_or(MIN_STALL),
            checked: self.checked.load(Ordering::Relaxed),
            postgres_up: self.postgres_up.load(Ordering::Relaxed),
            elasticsearch_up: self.elasticsearch_up.load(Ordering::Relaxed),
            standby: self.standby.load(Ordering::Relaxed),
            since_progress: lock(&self.last_progress).map(|at| at.elapsed()),
            stall_after: lock(&self.stall_after).unwrap_or(MIN_STALL),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `max(3 × poll_interval, 60s)`.
pub(crate) fn stall_after(poll_interval: Duration) -> Duration {
    (poll_interval * STALL_INTERVALS).max(MIN_STALL)
}

/// `Ok` when ready, else the reason `/readyz` answers with its 503.
pub(crate) fn readiness(health: &Snapshot) -> Result<(), String> {
    if health.standby {
        return Err("standing by: another worker holds the pipeline's lock".into());
    }
    if !health.stopped.is_empty() {
        let stopped: Vec<String> = health
            .stopped
            .iter()
            .map(|(pipeline, reason)| format!("pipeline {pipeline} stopped: {reason}"))
            .collect();
        return Err(stopped.join("; "));
    }
    if let Some(reason) = &health.incomplete {
        return Err(reason.clone());
    }
    if let Some((failing, error)) = &health.unwritable {
        if *failing > health.unwritable_after {
            return Err(format!(
                "unable to write for {}s (limit {}s), retrying: {error}",
                failing.as_secs(),
                health.unwritable_after.as_secs()
            ));
        }
    }
    if !health.checked {
        return Err("servers not checked yet".into());
    }
    if !health.postgres_up {
        return Err("postgres did not answer the last health check".into());
    }
    if !health.elasticsearch_up {
        return Err("elasticsearch did not answer the last health check".into());
    }
    match health.since_progress {
        None => Err("no sync cycle finished yet".into()),
        Some(since) if since > health.stall_after => Err(format!(
            "no progress for {}s (limit {}s)",
            since.as_secs(),
            health.stall_after.as_secs()
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Snapshot {
        Snapshot {
            incomplete: None,
            stopped: BTreeMap::new(),
            unwritable: None,
            unwritable_after: MIN_STALL,
            checked: true,
            postgres_up: true,
            elasticsearch_up: true,
            standby: false,
            since_progress: Some(Duration::from_secs(1)),
            stall_after: MIN_STALL,
        }
    }

    #[test]
    fn a_retried_operation_keeps_its_first_failure_time_until_it_ends() {
        let health = Health::default();
        health.retrying("bulk write", "index read-only".into());
        let first = health.retried();
        health.retrying("bulk write", "still read-only".into());
        let second = health.retried();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].since, first[0].since);
        assert_eq!(second[0].last_error, "still read-only");
        health.retry_ended("bulk write");
        assert!(health.retried().is_empty());
    }

    #[test]
    fn ready_when_everything_answers_and_progress_is_recent() {
        assert_eq!(readiness(&ready()), Ok(()));
    }

    #[test]
    fn each_missing_condition_gives_its_reason() {
        for (snapshot, reason) in [
            (
                Snapshot {
                    standby: true,
                    ..ready()
                },
                "standing by",
            ),
            (
                Snapshot {
                    checked: false,
                    ..ready()
                },
                "not checked",
            ),
            (
                Snapshot {
                    postgres_up: false,
                    ..ready()
                },
                "postgres",
            ),
            (
                Snapshot {
                    elasticsearch_up: false,
                    ..ready()
                },
                "elasticsearch",
            ),
            (
                Snapshot {
                    since_progress: None,
                    ..ready()
                },
                "no sync cycle",
            ),
            (
                Snapshot {
                    since_progress: Some(Duration::from_secs(61)),
                    ..ready()
                },
                "no progress for 61s (limit 60s)",
            ),
        ] {
            let err = readiness(&snapshot).expect_err(reason);
            assert!(err.contains(reason), "{err}");
        }
    }

    #[test]
    fn a_pipeline_stopped_by_a_schema_change_is_named_until_it_resumes() {
        let health = Health::default();
        health.checked(true, true);
        health.progressed();
        health.stopped("genres", Some("document.description, line 14: gone".into()));
        let reason = readiness(&health.snapshot()).unwrap_err();
        assert_eq!(
            reason,
            "pipeline genres stopped: document.description, line 14: gone"
        );
        health.stopped("genres", None);
        assert_eq!(readiness(&health.snapshot()), Ok(()));
    }

    #[test]
    fn stall_limit_is_three_intervals_but_at_least_a_minute() {
        assert_eq!(stall_after(Duration::from_secs(5)), MIN_STALL);
        assert_eq!(
            stall_after(Duration::from_secs(30)),
            Duration::from_secs(90)
        );
    }

    #[test]
    fn writes_failing_longer_than_the_bound_make_the_worker_not_ready() {
        let mut snapshot = ready();
        snapshot.unwritable = Some((Duration::from_secs(5), "index read-only".into()));
        assert_eq!(readiness(&snapshot), Ok(()));
        snapshot.unwritable = Some((Duration::from_secs(61), "index read-only".into()));
        let reason = readiness(&snapshot).unwrap_err();
        assert!(reason.contains("unable to write for 61s"), "{reason}");
        assert!(reason.contains("index read-only"), "{reason}");
    }
}

//! Metrics: one registry for the process. The stages record into it through [`get`]; the
//! `http` listener serves it as OpenMetrics text on `/metrics`, beside `/healthz` and
//! `/readyz`, whose answer [`health`] decides.

pub(crate) mod health;
mod http;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

pub(crate) use health::Health;
pub(crate) use http::serve;

/// The label of a retry: the operation that failed, as the retry log line names it.
type Operation = [(&'static str, &'static str); 1];
/// The label of what one pipeline does: `pipeline="movies"`.
type Pipeline = [(&'static str, String); 1];

fn label(pipeline: &str) -> Pipeline {
    [("pipeline", pipeline.to_owned())]
}

pub(crate) struct Metrics {
    registry: Registry,
    indexed: Family<Pipeline, Counter>,
    deleted: Family<Pipeline, Counter>,
    retried_items: Family<Pipeline, Counter>,
    dead_lettered: Family<Pipeline, Counter>,
    stale: Family<Pipeline, Counter>,
    bulk_seconds: Histogram,
    bulk_documents: Histogram,
    bulk_bytes: Histogram,
    retries: Family<Operation, Counter>,
    lag_seconds: Family<Pipeline, Gauge<f64, AtomicU64>>,
    horizon_age: Family<Pipeline, Gauge<f64, AtomicU64>>,
    slot_retained_bytes: Family<Pipeline, Gauge>,
    backfill_done: Family<Pipeline, Gauge>,
    backfill_total: Family<Pipeline, Gauge>,
    postgres_up: Gauge,
    elasticsearch_up: Gauge,
    last_cycle: Family<Pipeline, Gauge<f64, AtomicU64>>,
    active: Family<Pipeline, Gauge>,
    stopped: Family<Pipeline, Gauge>,
    /// The lag last measured per pipeline, and when: what [`Metrics::lag_now`] ages.
    lag_measured: Mutex<HashMap<String, (f64, Instant)>>,
    pub health: Health,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The process's metrics, created on first use.
pub(crate) fn get() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

fn saturated(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn histogram(start: f64, factor: f64, buckets: u16) -> Histogram {
    Histogram::new(exponential_buckets(start, factor, buckets))
}

impl Metrics {
    fn new() -> Self {
        let metrics = Self {
            registry: Registry::with_prefix("pg2es"),
            indexed: Family::default(),
            deleted: Family::default(),
            retried_items: Family::default(),
            dead_lettered: Family::default(),
            stale: Family::default(),
            bulk_seconds: histogram(0.005, 2.0, 14),
            bulk_documents: histogram(1.0, 2.0, 17),
            bulk_bytes: histogram(1024.0, 2.0, 18),
            retries: Family::default(),
            lag_seconds: Family::default(),
            horizon_age: Family::default(),
            slot_retained_bytes: Family::default(),
            backfill_done: Family::default(),
            backfill_total: Family::default(),
            postgres_up: Gauge::default(),
            elasticsearch_up: Gauge::default(),
            last_cycle: Family::default(),
            active: Family::default(),
            stopped: Family::default(),
            lag_measured: Mutex::default(),
            health: Health::default(),
        };
        metrics.registered()
    }

    fn registered(self) -> Self {
        self.register_documents().register_bulks().register_worker()
    }

    /// What happened to documents.
    fn register_documents(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "documents_indexed",
            "Documents Elasticsearch acknowledged as indexed",
            self.indexed.clone(),
        );
        r.register(
            "documents_deleted",
            "Documents Elasticsearch acknowledged as deleted",
            self.deleted.clone(),
        );
        r.register(
            "documents_retried",
            "Bulk items refused with 429/5xx and sent again",
            self.retried_items.clone(),
        );
        r.register(
            "documents_dead_lettered",
            "Documents refused for good, written to the dead-letter file",
            self.dead_lettered.clone(),
        );
        r.register(
            "documents_stale",
            "Writes the index refused because it holds the document as built from a later snapshot (another worker's, after a handover)",
            self.stale.clone(),
        );
        self
    }

    /// Bulk requests and retries.
    fn register_bulks(mut self) -> Self {
        let r = &mut self.registry;
        r.register_with_unit(
            "bulk_request_duration",
            "Time of one bulk request, sent to answered",
            Unit::Seconds,
            self.bulk_seconds.clone(),
        );
        r.register(
            "bulk_request_documents",
            "Actions in one bulk request",
            self.bulk_documents.clone(),
        );
        r.register_with_unit(
            "bulk_request_size",
            "Body size of one bulk request",
            Unit::Bytes,
            self.bulk_bytes.clone(),
        );
        r.register(
            "retries",
            "Transient failures retried, by operation",
            self.retries.clone(),
        );
        self
    }

    /// Where the worker is: lag, back-fill, servers, cycles, lock.
    fn register_worker(mut self) -> Self {
        let r = &mut self.registry;
        r.register_with_unit(
            "lag",
            "Age of the oldest change not yet acknowledged (0: caught up)",
            Unit::Seconds,
            self.lag_seconds.clone(),
        );
        r.register_with_unit(
            "polling_horizon_age",
            "Polling: how long the oldest open transaction has held the commit horizon back (0: none)",
            Unit::Seconds,
            self.horizon_age.clone(),
        );
        r.register_with_unit(
            "slot_retained",
            "Log the replication slot keeps on the Postgres server (sync.capture: logical)",
            Unit::Bytes,
            self.slot_retained_bytes.clone(),
        );
        r.register(
            "backfill_done_documents",
            "Root rows the back-fill has written",
            self.backfill_done.clone(),
        );
        r.register(
            "backfill_total_documents",
            "Root rows counted when the back-fill (re)started",
            self.backfill_total.clone(),
        );
        r.register(
            "postgres_up",
            "1 when Postgres answered the last health check",
            self.postgres_up.clone(),
        );
        r.register(
            "elasticsearch_up",
            "1 when Elasticsearch answered the last health check",
            self.elasticsearch_up.clone(),
        );
        r.register(
            "last_cycle_timestamp_seconds",
            "Unix time the last sync cycle finished",
            self.last_cycle.clone(),
        );
        r.register(
            "active",
            "1 when this worker holds the pipeline's lock, 0 while standing by",
            self.active.clone(),
        );
        r.register(
            "stopped",
            "1 while the pipeline is stopped because Postgres no longer has what its declaration reads",
            self.stopped.clone(),
        );
        self
    }

    /// Every series of `pipeline` at zero, so that dashboards and alerts see it from the start.
    pub fn pipeline_started(&self, pipeline: &str) {
        let label = label(pipeline);
        for counter in [
            &self.indexed,
            &self.deleted,
            &self.retried_items,
            &self.dead_lettered,
            &self.stale,
        ] {
            drop(counter.get_or_create(&label));
        }
        for gauge in [
            &self.backfill_done,
            &self.backfill_total,
            &self.active,
            &self.stopped,
        ] {
            drop(gauge.get_or_create(&label));
        }
        drop(self.lag_seconds.get_or_create(&label));
        drop(self.last_cycle.get_or_create(&label));
    }

    /// One bulk request answered.
    pub fn bulk_sent(&self, documents: usize, bytes: u64, took: Duration) {
        self.bulk_seconds.observe(took.as_secs_f64());
        self.bulk_documents.observe(documents as f64);
        self.bulk_bytes.observe(bytes as f64);
    }

    /// The outcome of the items of one bulk answer of `pipeline`.
    pub fn items(&self, pipeline: &str, outcome: [u64; 5]) {
        let [indexed, deleted, retried, dead_lettered, stale] = outcome;
        let label = label(pipeline);
        self.indexed.get_or_create(&label).inc_by(indexed);
        self.deleted.get_or_create(&label).inc_by(deleted);
        self.retried_items.get_or_create(&label).inc_by(retried);
        self.dead_lettered
            .get_or_create(&label)
            .inc_by(dead_lettered);
        self.stale.get_or_create(&label).inc_by(stale);
    }

    pub fn retried(&self, operation: &'static str) {
        self.retries
            .get_or_create(&[("operation", operation)])
            .inc();
    }

    /// The lag measured now (at the start of a cycle).
    pub fn lag(&self, pipeline: &str, seconds: f64) {
        let seconds = seconds.max(0.0);
        self.lag_seconds
            .get_or_create(&label(pipeline))
            .set(seconds);
        lock(&self.lag_measured).insert(pipeline.to_owned(), (seconds, Instant::now()));
    }

    /// The lag of every pipeline that measured one, as `pg2es_lag_seconds` says it now (for
    /// `/status`: logical mode measures it only as it streams).
    pub fn lags(&self) -> std::collections::BTreeMap<String, f64> {
        let measured: Vec<String> = lock(&self.lag_measured).keys().cloned().collect();
        measured
            .into_iter()
            .map(|pipeline| {
                let seconds = self.lag_seconds.get_or_create(&label(&pipeline)).get();
                (pipeline, seconds)
            })
            .collect()
    }

    /// Polling: the age of the commit horizon measured at the start of a cycle.
    pub fn horizon_age(&self, pipeline: &str, seconds: f64) {
        self.horizon_age
            .get_or_create(&label(pipeline))
            .set(seconds.max(0.0));
    }

    /// The log a pipeline's replication slot keeps on the Postgres server's disk.
    pub fn slot(&self, pipeline: &str, retained_bytes: i64) {
        self.slot_retained_bytes
            .get_or_create(&label(pipeline))
            .set(retained_bytes);
    }

    /// While writes fail, the oldest change not yet acknowledged keeps ageing: the last lag
    /// measured plus the time since.
    pub fn lag_now(&self, pipeline: &str) {
        let Some((seconds, at)) = lock(&self.lag_measured).get(pipeline).copied() else {
            return;
        };
        let now = seconds + at.elapsed().as_secs_f64();
        self.lag_seconds.get_or_create(&label(pipeline)).set(now);
    }

    /// Where a back-fill starts (or resumes).
    pub fn backfill_started(&self, pipeline: &str, done: u64, total: u64) {
        let label = label(pipeline);
        self.backfill_done
            .get_or_create(&label)
            .set(saturated(done));
        self.backfill_total
            .get_or_create(&label)
            .set(saturated(total));
    }

    /// A back-fill batch was acknowledged: progress, for `/readyz` too.
    pub fn backfill_advanced(&self, pipeline: &str, done: u64) {
        self.backfill_done
            .get_or_create(&label(pipeline))
            .set(saturated(done));
        self.health.progressed();
    }

    pub fn servers_up(&self, postgres: bool, elasticsearch: bool) {
        self.postgres_up.set(i64::from(postgres));
        self.elasticsearch_up.set(i64::from(elasticsearch));
        self.health.checked(postgres, elasticsearch);
    }

    pub fn cycle_finished(&self, pipeline: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.last_cycle
            .get_or_create(&label(pipeline))
            .set(now.as_secs_f64());
        self.health.progressed();
        self.health.complete();
    }

    /// `pipeline` stopped because Postgres no longer has what it reads (`Some(reason)`), or
    /// resumed (`None`).
    pub fn stopped(&self, pipeline: &str, reason: Option<String>) {
        self.stopped
            .get_or_create(&label(pipeline))
            .set(i64::from(reason.is_some()));
        self.health.stopped(pipeline, reason);
    }

    pub fn active(&self, pipeline: &str, active: bool) {
        self.active
            .get_or_create(&label(pipeline))
            .set(i64::from(active));
        self.health.standby(!active);
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lag_keeps_ageing_while_writes_fail() {
        let metrics = Metrics::new();
        metrics.lag("movies", 1.0);
        std::thread::sleep(Duration::from_millis(20));
        metrics.lag_now("movies");
        let text = metrics.encode();
        let lag: f64 = text
            .lines()
            .find_map(|line| line.strip_prefix("pg2es_lag_seconds{pipeline=\"movies\"} "))
            .and_then(|value| value.parse().ok())
            .unwrap();
        assert!(lag >= 1.02, "{text}");
    }

    #[test]
    fn lags_name_only_the_pipelines_that_measured_one() {
        let metrics = Metrics::new();
        metrics.pipeline_started("films");
        metrics.lag("movies", 2.5);
        let lags = metrics.lags();
        assert_eq!(
            lags.into_iter().collect::<Vec<_>>(),
            [("movies".to_owned(), 2.5)]
        );
    }

    #[test]
    fn recorded_values_appear_in_the_exposition() {
        let metrics = Metrics::new();
        metrics.items("movies", [3, 1, 2, 1, 4]);
        metrics.items("persons", [5, 0, 0, 0, 0]);
        metrics.bulk_sent(4, 2048, Duration::from_millis(20));
        metrics.retried("bulk request");
        metrics.lag("movies", -1.0);
        metrics.horizon_age("movies", 42.5);
        metrics.servers_up(true, false);
        metrics.backfill_started("movies", 0, 40);
        metrics.backfill_advanced("movies", 10);
        let text = metrics.encode();
        for line in [
            "pg2es_documents_indexed_total{pipeline=\"movies\"} 3",
            "pg2es_documents_indexed_total{pipeline=\"persons\"} 5",
            "pg2es_documents_deleted_total{pipeline=\"movies\"} 1",
            "pg2es_documents_retried_total{pipeline=\"movies\"} 2",
            "pg2es_documents_dead_lettered_total{pipeline=\"movies\"} 1",
            "pg2es_documents_stale_total{pipeline=\"movies\"} 4",
            "pg2es_bulk_request_duration_seconds_count 1",
            "pg2es_bulk_request_documents_sum 4.0",
            "pg2es_bulk_request_size_bytes_sum 2048.0",
            "pg2es_retries_total{operation=\"bulk request\"} 1",
            "pg2es_lag_seconds{pipeline=\"movies\"} 0.0",
            "pg2es_polling_horizon_age_seconds{pipeline=\"movies\"} 42.5",
            "pg2es_postgres_up 1",
            "pg2es_elasticsearch_up 0",
            "pg2es_backfill_done_documents{pipeline=\"movies\"} 10",
            "pg2es_backfill_total_documents{pipeline=\"movies\"} 40",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}

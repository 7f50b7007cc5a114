//! Searches and counts against an alias, back to back, while something else happens: none may
//! fail and no count may fall below a floor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::json;
use tokio::task::JoinHandle;

use super::SearchIndex;

pub struct SearchMonitor {
    stop: Arc<AtomicBool>,
    task: JoinHandle<MonitorReport>,
}

#[derive(Debug, Default)]
pub struct MonitorReport {
    pub requests: u64,
    pub failures: Vec<String>,
    /// Counts and search totals below the floor.
    pub below_floor: Vec<u64>,
}

impl MonitorReport {
    /// No failure, nothing below the floor, and enough requests to have seen something.
    pub fn assert_clean(&self, at_least: u64) {
        assert!(
            self.failures.is_empty(),
            "{} failed: {:?}",
            self.failures.len(),
            &self.failures[..self.failures.len().min(5)]
        );
        assert!(
            self.below_floor.is_empty(),
            "fewer documents than before: {:?}",
            self.below_floor
        );
        assert!(
            self.requests >= at_least,
            "only {} searches ran",
            self.requests
        );
    }
}

impl SearchMonitor {
    pub fn start(alias: &str, floor: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let index = SearchIndex::open(alias);
        let flag = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let mut report = MonitorReport::default();
            while !flag.load(Ordering::SeqCst) {
                for total in [count(&index).await, search_total(&index).await] {
                    report.requests += 1;
                    match total {
                        Ok(total) if total < floor => report.below_floor.push(total),
                        Ok(_) => {}
                        Err(err) => report.failures.push(err),
                    }
                }
            }
            report
        });
        Self { stop, task }
    }

    pub async fn stop(self) -> MonitorReport {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap()
    }
}

async fn count(index: &SearchIndex) -> Result<u64, String> {
    let body = index
        .try_request("_count", json!({"query": {"match_all": {}}}))
        .await?;
    body["count"]
        .as_u64()
        .ok_or_else(|| format!("count answer: {body}"))
}

/// A full-text search through the analyzers, and a total over everything.
async fn search_total(index: &SearchIndex) -> Result<u64, String> {
    let query = json!({
        "size": 3,
        "track_total_hits": true,
        "query": {"bool": {
            "should": [{"match": {"title": "the film"}}],
            "filter": [{"match_all": {}}]
        }}
    });
    let body = index.try_request("_search", query).await?;
    if body["_shards"]["failed"].as_u64() != Some(0) {
        return Err(format!("shard failures: {body}"));
    }
    body["hits"]["total"]["value"]
        .as_u64()
        .ok_or_else(|| format!("search answer: {body}"))
}

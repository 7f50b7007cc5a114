//! Noticing writes into the index that pg2es did not make. Every operation a shard applies
//! takes the next sequence number of that shard, a delete of nothing included, so the index
//! has applied `Σ (max_seq_no + 1)` operations over its primary shards. pg2es counts the
//! operations its bulk answers carry a `_seq_no` for: when the index applied more between two
//! looks than pg2es counted, someone else wrote into it (or a bulk request whose answer was
//! lost was applied, then sent again).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use elasticsearch::indices::IndicesStatsParts;
use serde::Deserialize;

use super::{Elastic, EsError};

#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    indices: BTreeMap<String, IndexStats>,
}

#[derive(Deserialize)]
struct IndexStats {
    #[serde(default)]
    shards: BTreeMap<String, Vec<ShardCopy>>,
}

#[derive(Deserialize)]
struct ShardCopy {
    routing: Routing,
    seq_no: SeqNo,
}

#[derive(Deserialize)]
struct Routing {
    primary: bool,
}

#[derive(Deserialize)]
struct SeqNo {
    max_seq_no: i64,
}

impl Elastic {
    pub(super) fn count_applied(&self, operations: u64) {
        self.sequenced.fetch_add(operations, Ordering::Relaxed);
    }

    /// Operations the index applied for this client (and its clones) since it was made.
    pub fn applied_by_us(&self) -> u64 {
        self.sequenced.load(Ordering::Relaxed)
    }

    /// Operations the index (behind the alias) has applied since it was created.
    pub async fn applied_in_all(&self) -> Result<u64, EsError> {
        let stats: Option<Stats> = self
            .call_json_or_missing("read shard sequence numbers", || async {
                self.client
                    .indices()
                    .stats(IndicesStatsParts::IndexMetric(&[&self.index], &["docs"]))
                    .level(elasticsearch::params::Level::Shards)
                    .filter_path(&[
                        "indices.*.shards.*.routing.primary",
                        "indices.*.shards.*.seq_no.max_seq_no",
                    ])
                    .send()
                    .await
            })
            .await?;
        // Deleted since the alias was checked: said like any index gone under the worker.
        let stats = stats.ok_or_else(|| EsError::IndexGone {
            alias: self.index.clone(),
            reason: "the index was deleted while its shards were read".into(),
        })?;
        Ok(applied(&stats))
    }
}

fn applied(stats: &Stats) -> u64 {
    stats
        .indices
        .values()
        .flat_map(|index| index.shards.values().flatten())
        .filter(|copy| copy.routing.primary)
        .map(|copy| u64::try_from(copy.seq_no.max_seq_no + 1).unwrap_or(0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_counted_on_primaries_only() {
        let stats: Stats = serde_json::from_str(
            r#"{"indices":{"m_1":{"shards":{
                "0":[{"routing":{"primary":true},"seq_no":{"max_seq_no":1}},
                     {"routing":{"primary":false},"seq_no":{"max_seq_no":1}}],
                "1":[{"routing":{"primary":true},"seq_no":{"max_seq_no":-1}}],
                "2":[{"routing":{"primary":true},"seq_no":{"max_seq_no":4}}]}}}}"#,
        )
        .unwrap();
        // Shard 0: two operations, shard 1: none yet, shard 2: five.
        assert_eq!(applied(&stats), 7);
    }
}

//! The partition trees of the followed tables, as the state file remembers them between
//! cycles (read by `extract/partitions.rs`, compared by `pipeline/stages/partitions.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One relation of a followed table's partition tree, as the state file remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Member {
    /// `schema.name`, quoted where needed.
    pub name: String,
    pub oid: u32,
    /// The file its rows are in (0 for a partitioned table).
    pub filenode: u32,
    /// 0 for the followed table itself, 1 for its partitions, 2 for theirs.
    pub level: u32,
    /// Whether it holds rows itself (not partitioned further).
    pub leaf: bool,
}

impl Member {
    /// A partition of the followed table (not the table itself).
    pub fn is_partition(&self) -> bool {
        self.level > 0
    }
}

/// The partition tree of every followed relation, by relation; a plain table is a tree of one.
pub(crate) type Trees = BTreeMap<String, Vec<Member>>;

/// Whether any followed table is partitioned.
pub(crate) fn any_partitioned(trees: &Trees) -> bool {
    trees
        .values()
        .any(|members| members.iter().any(Member::is_partition))
}

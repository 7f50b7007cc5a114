//! The partition watch: rows move in and out of a followed table without a row change when a
//! partition is attached, detached or dropped, and a `TRUNCATE` of one partition reaches
//! neither the publication (it publishes through the root) nor the parent's statement
//! triggers. At every cycle the partition trees of the followed tables are compared with the
//! ones the state file remembers:
//!
//! - a partition that joined: the documents its rows touch are built again (an empty one, as
//!   `CREATE TABLE … PARTITION OF` makes, costs nothing); in triggers mode it gets its
//!   statement triggers, in logical mode a replica identity that carries the recorded columns;
//! - a partition that left and still exists (`DETACH`): the same, from its rows;
//! - a partition that is gone (`DROP`), or whose rows were replaced wholesale where capture
//!   does not see it (a new file: `TRUNCATE`, also `VACUUM FULL` or `CLUSTER`): every document
//!   is compared with Postgres and what differs is written (what a truncation does).
//!
//! The trees are remembered only once what they asked for is written.

use std::collections::BTreeMap;

use futures_util::stream;
use tracing::info;

use crate::config::Capture;
use crate::extract::{any_partitioned, Member, Trees};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::Engine;

/// What changed between two readings of the partition trees, by followed relation.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Moves {
    /// Leaves that joined: the documents their rows touch are built again.
    pub joined: Vec<(String, Member)>,
    /// Leaves that left: built again from their rows if they still exist, else a repair.
    pub left: Vec<(String, Member)>,
    /// Leaves whose rows were replaced wholesale, unseen by this capture mode.
    pub rewritten: Vec<(String, Member)>,
    /// Partitions (at any level) that joined: they need capture of their own.
    pub new_partitions: Vec<(String, Member)>,
}

/// Whether `capture` sees a leaf's rows being replaced wholesale by itself: triggers record
/// the TRUNCATE of every partition; the publication sends that of a plain table; polling
/// sees none.
fn sees_rewrites(capture: Capture, member: &Member) -> bool {
    match capture {
        Capture::Triggers => true,
        Capture::Logical => !member.is_partition(),
        Capture::Polling => false,
    }
}

/// The moves from `before` to `now`. A relation new to the trees (a table added to the
/// declaration) moved nothing: its rows are read as the declaration change asks.
pub(crate) fn compare(before: &Trees, now: &Trees, capture: Capture) -> Moves {
    let mut moves = Moves::default();
    for (relation, members) in now {
        let Some(known) = before.get(relation) else {
            continue;
        };
        let by_oid = |list: &[Member]| -> BTreeMap<u32, Member> {
            list.iter().map(|m| (m.oid, m.clone())).collect()
        };
        let (was, is) = (by_oid(known), by_oid(members));
        for (oid, member) in &is {
            match was.get(oid) {
                None => {
                    if member.is_partition() {
                        moves
                            .new_partitions
                            .push((relation.clone(), member.clone()));
                    }
                    if member.leaf {
                        moves.joined.push((relation.clone(), member.clone()));
                    }
                }
                Some(old)
                    if member.leaf
                        && old.filenode != member.filenode
                        && !sees_rewrites(capture, member) =>
                {
                    moves.rewritten.push((relation.clone(), member.clone()));
                }
                Some(_) => {}
            }
        }
        for (oid, member) in &was {
            if member.leaf && !is.contains_key(oid) {
                moves.left.push((relation.clone(), member.clone()));
            }
        }
    }
    moves
}

impl<P: Pipeline> Engine<P> {
    /// Compares the partition trees with the last cycle's and brings the index back where
    /// rows moved (see the module's comment).
    pub(in crate::pipeline) async fn watch_partitions(&mut self) -> Result<(), SyncError> {
        let now = self.pg.partition_trees(self.pipeline.tables()).await?;
        let Some(before) = self.state.partitions.take() else {
            // A state file from before the watch: what partitions did meanwhile is unknown.
            let compare_once = self.state.backfill.done && any_partitioned(&now);
            self.state.partitions = Some(now);
            // Saved with the cycle: an extra write here would be one more for nothing.
            if compare_once {
                self.repair_everything(
                    "first cycle that watches the partitions of the followed tables",
                )
                .await?;
                return self.save().await;
            }
            return Ok(());
        };
        if before == now {
            self.state.partitions = Some(before);
            return Ok(());
        }
        // Until what the moves ask for is written, the old trees stay the ones to compare with.
        self.state.partitions = Some(before.clone());
        let moves = compare(&before, &now, self.follower.mode());
        self.capture_new_partitions(&moves.new_partitions).await?;
        let gone = self.read_moved_rows(&moves).await?;
        let mut unseen: Vec<String> = moves
            .rewritten
            .iter()
            .map(|(relation, m)| match m.is_partition() {
                true => format!("{} (partition of {relation}) rewritten", m.name),
                false => format!("{relation} rewritten (TRUNCATE, VACUUM FULL or CLUSTER)"),
            })
            .collect();
        unseen.extend(
            gone.iter()
                .map(|(relation, m)| format!("{} (partition of {relation}) dropped", m.name)),
        );
        if !unseen.is_empty() {
            self.repair_everything(&unseen.join(", ")).await?;
        }
        self.state.partitions = Some(now);
        self.save().await
    }

    /// Builds again the documents that the rows of joined partitions, and of left ones that
    /// still exist, touch. Returns the left partitions that no longer exist.
    async fn read_moved_rows(&mut self, moves: &Moves) -> Result<Vec<(String, Member)>, SyncError> {
        let left: Vec<u32> = moves.left.iter().map(|(_, m)| m.oid).collect();
        let existing = match left.is_empty() {
            true => Default::default(),
            false => self.pg.relations_exist(&left).await?,
        };
        let (still, gone): (Vec<_>, Vec<_>) = moves
            .left
            .iter()
            .cloned()
            .partition(|(_, m)| existing.contains(&m.oid));
        let tables = self.pipeline.tables().to_vec();
        let mut changes = Vec::new();
        for (relation, member) in moves.joined.iter().chain(&still) {
            let Some(table) = tables.iter().find(|t| t.relation == *relation) else {
                continue;
            };
            let rows = self.pg.partition_rows(table, &member.name).await?;
            info!(
                pipeline = self.pipeline.name(),
                partition = member.name,
                relation,
                values = rows.len(),
                "a partition joined or left a followed table: the documents its rows touch are built again"
            );
            changes.extend(rows);
        }
        if !changes.is_empty() {
            let units = self.recorded_units(&changes).await?;
            self.write_units(stream::iter(units.into_iter().map(Ok)), |_, ()| false)
                .await?;
        }
        Ok(gone)
    }

    /// At start: partitions that appeared while no worker ran get their statement triggers
    /// (as a running worker gives them). Returns what is still missing.
    pub(in crate::pipeline) async fn capture_partitions_missing(
        &mut self,
        missing: Vec<String>,
    ) -> Result<Vec<String>, SyncError> {
        let trees = self.pg.partition_trees(self.pipeline.tables()).await?;
        let mut new = Vec::new();
        for (relation, members) in trees {
            for member in members.into_iter().filter(Member::is_partition) {
                if missing.contains(&format!("{} (partition of {relation})", member.name)) {
                    new.push((relation.clone(), member));
                }
            }
        }
        if new.is_empty() {
            return Ok(missing);
        }
        self.capture_new_partitions(&new).await?;
        Ok(self.pg.capture_missing(self.pipeline.tables()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, oid: u32, filenode: u32, level: u32, leaf: bool) -> Member {
        Member {
            name: name.into(),
            oid,
            filenode,
            level,
            leaf,
        }
    }

    /// `shop.copies`, partitioned by year, with the partitions given.
    fn tree(partitions: &[Member]) -> Trees {
        let mut members = vec![member("shop.copies", 1, 0, 0, false)];
        members.extend(partitions.iter().cloned());
        Trees::from([("shop.copies".to_owned(), members)])
    }

    #[test]
    fn nothing_moved_when_the_trees_are_the_same() {
        let trees = tree(&[member("shop.copies_2025", 2, 20, 1, true)]);
        for capture in [Capture::Polling, Capture::Triggers, Capture::Logical] {
            assert_eq!(compare(&trees, &trees, capture), Moves::default());
        }
    }

    #[test]
    fn an_attached_partition_joins_and_a_detached_one_leaves() {
        let y25 = member("shop.copies_2025", 2, 20, 1, true);
        let y26 = member("shop.copies_2026", 3, 30, 1, true);
        let before = tree(std::slice::from_ref(&y25));
        let now = tree(std::slice::from_ref(&y26));
        let moves = compare(&before, &now, Capture::Logical);
        let relation = "shop.copies".to_owned();
        assert_eq!(moves.joined, vec![(relation.clone(), y26.clone())]);
        assert_eq!(moves.new_partitions, vec![(relation.clone(), y26)]);
        assert_eq!(moves.left, vec![(relation, y25)]);
        assert!(moves.rewritten.is_empty());
    }

    #[test]
    fn a_sub_partitioned_partition_needs_capture_but_only_its_leaves_hold_rows() {
        let before = tree(&[]);
        let parent = member("shop.copies_2026", 3, 0, 1, false);
        let leaf = member("shop.copies_2026_h1", 4, 40, 2, true);
        let now = tree(&[parent.clone(), leaf.clone()]);
        let moves = compare(&before, &now, Capture::Triggers);
        let relation = "shop.copies".to_owned();
        assert_eq!(moves.joined, vec![(relation.clone(), leaf.clone())]);
        assert_eq!(
            moves.new_partitions,
            vec![(relation.clone(), parent), (relation, leaf)]
        );
    }

    #[test]
    fn a_truncated_partition_is_a_rewrite_where_capture_does_not_see_it() {
        let before = tree(&[member("shop.copies_2025", 2, 20, 1, true)]);
        let now = tree(&[member("shop.copies_2025", 2, 21, 1, true)]);
        assert!(compare(&before, &now, Capture::Triggers)
            .rewritten
            .is_empty());
        assert_eq!(compare(&before, &now, Capture::Logical).rewritten.len(), 1);
        assert_eq!(compare(&before, &now, Capture::Polling).rewritten.len(), 1);
    }

    #[test]
    fn a_truncated_plain_table_is_seen_by_the_publication_but_not_by_polling() {
        let before = Trees::from([(
            "shop.orders".to_owned(),
            vec![member("shop.orders", 9, 90, 0, true)],
        )]);
        let now = Trees::from([(
            "shop.orders".to_owned(),
            vec![member("shop.orders", 9, 91, 0, true)],
        )]);
        assert!(compare(&before, &now, Capture::Logical)
            .rewritten
            .is_empty());
        assert_eq!(compare(&before, &now, Capture::Polling).rewritten.len(), 1);
    }

    #[test]
    fn a_table_new_to_the_declaration_moved_nothing() {
        let now = tree(&[member("shop.copies_2025", 2, 20, 1, true)]);
        assert_eq!(
            compare(&Trees::new(), &now, Capture::Polling),
            Moves::default()
        );
    }
}

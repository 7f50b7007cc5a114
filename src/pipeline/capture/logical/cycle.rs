//! What a logical cycle does with each event of the stream, apart from where events come
//! from and where documents go: changes gather into a batch of distinct keys, a full batch is
//! written, a cycle ends only at a transaction boundary (at its fence, or once its turn is
//! over), and a truncation asks for a rebuild at its transaction's end.

use std::collections::BTreeSet;

use pgwire_replication::Lsn;
use tokio::time::Instant;

use crate::extract::{Change, Event};

/// Changes received and not yet written: each key once.
#[derive(Default)]
pub(super) struct Batch {
    keys: BTreeSet<(String, String, String)>,
    /// The transactions of the changes: visible to SQL before documents are built.
    xids: BTreeSet<u32>,
    oldest: Option<i64>,
    /// Everything before it was received.
    pub position: Option<Lsn>,
    /// The newest commit position of the changes (taken by the write that records it).
    pub commit: Option<Lsn>,
}

impl Batch {
    fn add(&mut self, changes: Vec<Change>, committed_at: i64, xid: u32, commit: Lsn) {
        self.xids.insert(xid);
        self.commit = Some(self.commit.map_or(commit, |c| c.max(commit)));
        for change in changes {
            self.keys
                .insert((change.relation, change.column, change.value));
        }
        self.oldest = Some(self.oldest.map_or(committed_at, |t| t.min(committed_at)));
    }

    /// The batch's distinct changes, their transactions and the oldest commit time; the
    /// position stays until it is confirmed.
    pub fn take(&mut self) -> (Vec<Change>, Vec<u32>, Option<i64>) {
        let xids = std::mem::take(&mut self.xids).into_iter().collect();
        let changes = std::mem::take(&mut self.keys)
            .into_iter()
            .map(|(relation, column, value)| Change {
                seq: 0,
                relation,
                column,
                value,
            })
            .collect();
        (changes, xids, self.oldest.take())
    }
}

/// What the cycle does after an event.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Read the next event.
    Read,
    /// Write the batch (it is full), then read on.
    Flush,
    /// Write the batch and end the cycle: a transaction boundary at the fence or after the turn.
    End,
    /// These tables were truncated: write the batch (its position is the boundary before the
    /// truncation), and rebuild; `resume` is confirmed once the rebuild is under way.
    Rebuild { relations: Vec<String>, resume: Lsn },
}

pub(super) struct Cycle {
    /// A mark written at the start: the cycle reads up to it (`None`: woken by a streamed
    /// change, it ends once nothing more is ready at a transaction boundary).
    fence: Option<Lsn>,
    /// When the cycle gives the rest of the engine its turn (`None`: at the fence only).
    until: Option<Instant>,
    batch_size: usize,
    pub batch: Batch,
    truncated: Option<(Vec<String>, Option<Lsn>)>,
    at_boundary: bool,
}

impl Cycle {
    pub fn new(fence: Option<Lsn>, until: Option<Instant>, batch_size: usize) -> Self {
        Self {
            fence,
            until,
            batch_size,
            batch: Batch::default(),
            truncated: None,
            at_boundary: false,
        }
    }

    /// Whether the cycle may end here if no event is ready (a woken cycle, between
    /// transactions); otherwise it waits for the next event.
    pub fn may_end_here(&self) -> bool {
        self.fence.is_none() && self.at_boundary
    }

    pub fn take(&mut self, event: Event, now: Instant) -> Next {
        self.at_boundary = false;
        match event {
            Event::Changes {
                changes,
                committed_at,
                xid,
                commit,
            } => self.batch.add(changes, committed_at, xid, commit),
            Event::Truncated(relations) => self
                .truncated
                .get_or_insert((Vec::new(), self.batch.position))
                .0
                .extend(relations),
            Event::Through(position) => {
                if let Some((relations, before)) = self.truncated.take() {
                    self.batch.position = before;
                    return Next::Rebuild {
                        relations,
                        resume: position,
                    };
                }
                self.batch.position = Some(position);
                self.at_boundary = true;
                let at_fence = self.fence.is_some_and(|fence| position >= fence);
                let turn_over = self.until.is_some_and(|until| now >= until);
                if at_fence || turn_over {
                    return Next::End;
                }
            }
        }
        match self.batch.keys.len() >= self.batch_size {
            true => Next::Flush,
            false => Next::Read,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn changes(xid: u32, keys: &[&str]) -> Event {
        let changes = keys
            .iter()
            .map(|key| Change {
                seq: 0,
                relation: "content.film".into(),
                column: "id".into(),
                value: (*key).into(),
            })
            .collect();
        Event::Changes {
            changes,
            committed_at: 0,
            xid,
            commit: Lsn::from_u64(u64::from(xid) * 100),
        }
    }

    fn through(position: u64) -> Event {
        Event::Through(Lsn::from_u64(position))
    }

    /// What the cycle answers to each event, read at `now`.
    fn answers(cycle: &mut Cycle, events: Vec<Event>, now: Instant) -> Vec<Next> {
        events
            .into_iter()
            .map(|event| cycle.take(event, now))
            .collect()
    }

    #[test]
    fn a_fenced_cycle_ends_at_the_first_boundary_at_or_past_its_fence() {
        let mut cycle = Cycle::new(Some(Lsn::from_u64(20)), None, 100);
        let events = vec![
            changes(1, &["a"]),
            through(10),
            changes(2, &["b", "a"]),
            through(20),
        ];
        let answers = answers(&mut cycle, events, Instant::now());
        assert_eq!(answers, [Next::Read, Next::Read, Next::Read, Next::End]);
        assert!(!cycle.may_end_here(), "a fenced cycle waits for its fence");
        assert_eq!(cycle.batch.position, Some(Lsn::from_u64(20)));
        let (changes, xids, _) = cycle.batch.take();
        assert_eq!(changes.len(), 2, "each key once");
        assert_eq!(xids, [1, 2]);
    }

    #[test]
    fn a_woken_cycle_may_end_between_transactions_only() {
        let mut cycle = Cycle::new(None, None, 100);
        assert!(!cycle.may_end_here(), "nothing read yet");
        cycle.take(changes(1, &["a"]), Instant::now());
        assert!(!cycle.may_end_here(), "inside a transaction");
        cycle.take(through(10), Instant::now());
        assert!(cycle.may_end_here());
    }

    #[test]
    fn the_turn_ends_a_cycle_at_a_transaction_boundary_never_inside_one() {
        let start = Instant::now();
        let mut cycle = Cycle::new(Some(Lsn::from_u64(1000)), Some(start), 100);
        let late = start + Duration::from_secs(3);
        let events = vec![changes(1, &["a"]), changes(1, &["b"]), through(10)];
        let answers = answers(&mut cycle, events, late);
        assert_eq!(answers, [Next::Read, Next::Read, Next::End]);
        assert_eq!(cycle.batch.position, Some(Lsn::from_u64(10)));
    }

    #[test]
    fn a_full_batch_is_written_with_the_last_boundary_received() {
        let mut cycle = Cycle::new(Some(Lsn::from_u64(1000)), None, 2);
        let events = vec![changes(1, &["a"]), through(10), changes(2, &["b", "c"])];
        let answers = answers(&mut cycle, events, Instant::now());
        assert_eq!(answers, [Next::Read, Next::Read, Next::Flush]);
        assert_eq!(cycle.batch.position, Some(Lsn::from_u64(10)));
    }

    #[test]
    fn a_truncation_asks_for_a_rebuild_confirming_only_what_came_before_it() {
        let mut cycle = Cycle::new(Some(Lsn::from_u64(1000)), None, 100);
        let events = vec![
            changes(1, &["a"]),
            through(10),
            Event::Truncated(vec!["content.genre".into()]),
            changes(2, &["b"]),
            through(20),
        ];
        let answers = answers(&mut cycle, events, Instant::now());
        let rebuild = Next::Rebuild {
            relations: vec!["content.genre".into()],
            resume: Lsn::from_u64(20),
        };
        assert_eq!(answers[4], rebuild);
        assert_eq!(cycle.batch.position, Some(Lsn::from_u64(10)));
    }

    #[test]
    fn a_batch_keeps_the_newest_commit_of_its_changes() {
        let mut cycle = Cycle::new(None, None, 100);
        answers(
            &mut cycle,
            vec![changes(7, &["a"]), through(800), changes(3, &["b"])],
            Instant::now(),
        );
        assert_eq!(cycle.batch.commit, Some(Lsn::from_u64(700)));
        cycle.batch.commit.take();
        answers(&mut cycle, vec![changes(9, &["c"])], Instant::now());
        assert_eq!(cycle.batch.commit, Some(Lsn::from_u64(900)));
    }
}

//! Logical mode: the slot's stream says which rows changed; their keys fan out to root
//! documents, which are rebuilt from SQL, as in the other modes. A mark written into the log
//! at the start of a cycle ends it: every transaction committed before the mark is indexed
//! by then (a cycle woken by a streamed change writes no mark: it ends when nothing more has
//! arrived at a transaction boundary). The slot's position is confirmed only after Elasticsearch acknowledged every
//! document before it; between cycles, keepalives move it while nothing followed changes.
//! A truncated followed table, or a slot Postgres dropped or invalidated, rebuilds the index
//! behind the alias (the caller does, on `SyncError::RebuildNeeded`); a rebuild in progress
//! then starts over, since what it wrote before may hold rows that are gone.

mod cycle;
mod failover;
mod slot;

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use futures_util::stream;
use pgwire_replication::Lsn;
use tracing::{info, warn};

use self::cycle::{Batch, Cycle, Next};
use super::Follower;
use crate::config::PostgresConfig;
use crate::extract::LogicalError;
use crate::extract::{mark_position, parse_lsn, Event, LogicalStream, Postgres, Slot};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::{log_progress, Engine};
use crate::retry::{retry, RetryPolicy, Retryable as _};
use crate::state::RebuildReason;

/// The slot's reader, kept across cycles.
pub(crate) struct Reader {
    pub slot: Slot,
    postgres: PostgresConfig,
    pub(super) stream: Option<LogicalStream>,
    /// Events read while waiting between cycles, handled first by the next cycle.
    carry: VecDeque<Event>,
    /// Why the next cycle must rebuild the index (the slot was lost at start-up).
    pub(super) lost: Option<String>,
    /// A truncation's position, confirmed once the rebuild it asked for is under way.
    after_rebuild: Option<Lsn>,
    /// The delays before reading again after transient stream failures since the last event.
    reconnects: Option<backon::ExponentialBackoff>,
    /// The slot is on a hot standby: a cycle's fence is the standby's replay position, not a
    /// mark written into the log (a standby writes nothing).
    on_standby: bool,
    /// The standby's primary (`postgres.primary_url`), for what cannot be written on the
    /// standby: new partitions' replica identities, the record a new slot waits for.
    primary: Option<Postgres>,
    /// The server keeps failover slots (Postgres 17+): the state notes how far the index
    /// holds the stream, for a promoted standby to be judged by.
    pub(super) keeps_slot_on_failover: bool,
}

impl Reader {
    /// Sends the last confirmation and closes the stream.
    pub async fn close(&mut self) {
        if let Some(stream) = self.stream.take() {
            stream.close().await;
        }
    }

    pub fn new(slot: Slot, postgres: &PostgresConfig) -> Self {
        Self {
            slot,
            postgres: postgres.clone(),
            stream: None,
            carry: VecDeque::new(),
            lost: None,
            after_rebuild: None,
            reconnects: None,
            on_standby: false,
            primary: None,
            keeps_slot_on_failover: false,
        }
    }
}

/// How long to wait before reading the stream again after `err`; `None` when its class says
/// another attempt meets the same (a message that cannot be decoded, a refused role) or the
/// policy gives up: the pipeline stops with it.
fn reconnect_delay(
    err: &LogicalError,
    delays: &mut Option<backon::ExponentialBackoff>,
    policy: &RetryPolicy,
) -> Option<Duration> {
    if !err.is_retryable() {
        return None;
    }
    delays.get_or_insert_with(|| policy.delays()).next()
}

/// Seconds since a commit time of the stream (microseconds since 2000-01-01).
fn age(committed_at: i64) -> f64 {
    const POSTGRES_EPOCH: i64 = 946_684_800;
    let now = chrono::Utc::now().timestamp_micros();
    (now - (committed_at + POSTGRES_EPOCH * 1_000_000)) as f64 / 1e6
}

impl<P: Pipeline> Engine<P> {
    /// `postgres.url` is a hot standby (16+): the slot is read there.
    pub(in crate::pipeline) fn read_from_standby(&mut self) -> Result<(), SyncError> {
        let retry = self.pg.retry_policy();
        let reader = self.reader();
        reader.primary = Postgres::primary_of(&reader.postgres, retry)?;
        reader.on_standby = true;
        info!(
            slot = reader.slot.name,
            primary_url = reader.primary.is_some(),
            "postgres.url is a hot standby: the slot is read there"
        );
        Ok(())
    }

    /// Where pg2es's own DDL goes: the primary when reading a standby's slot.
    pub(super) fn ddl_target(&mut self) -> Postgres {
        match &self.reader().primary {
            Some(primary) => primary.clone(),
            None => self.pg.clone(),
        }
    }

    /// Makes the slot (on a standby, asking the primary for the record it waits for).
    pub(super) async fn make_slot(&mut self, slot: &Slot) -> Result<bool, SyncError> {
        let primary = self.reader().primary.clone();
        Ok(self.pg.create_slot_nudged(slot, primary.as_ref()).await?)
    }

    pub(super) fn reader(&mut self) -> &mut Reader {
        match &mut self.follower {
            Follower::Logical(reader) => reader,
            _ => unreachable!("a slot's reader in logical mode only"),
        }
    }

    /// One cycle: reads the stream up to a mark written now, writing the documents the
    /// changes touch a batch at a time and confirming each batch's position once written.
    pub(in crate::pipeline) async fn consume_logical(&mut self) -> Result<(), SyncError> {
        if let Some(reason) = self.reader().lost.take() {
            return Err(SyncError::slot_lost(reason));
        }
        self.check_publication().await?;
        if let Some(position) = self.reader().after_rebuild.take() {
            self.confirm(position).await?;
        }
        self.record_slot().await?;
        let before = self.totals;
        // Woken by a streamed change (`run`): the cycle reads until the stream has nothing
        // more at a transaction boundary, writing nothing to the database. Otherwise (`sync
        // --once`, a poll interval without changes, a rebuild slice) a mark written now ends
        // it, or, on a hot standby, the position it has replayed up to now.
        let fence = match self.reader().carry.is_empty() {
            true => {
                let slot = self.reader().slot.clone();
                let mark = match self.reader().on_standby {
                    true => self.pg.replayed().await?,
                    false => self.pg.fence(&slot).await?,
                };
                Some(mark_position(&slot, &mark)?)
            }
            false => None,
        };
        let until = self.turn.map(|turn| Instant::now() + turn);
        let mut cycle = Cycle::new(fence, until, self.batch_size as usize);
        loop {
            let event = match cycle.may_end_here() {
                true => match self.ready_event().await {
                    Some(event) => event,
                    None => break,
                },
                false => self.next_event().await?,
            };
            match cycle.take(event, Instant::now()) {
                Next::Read => {}
                Next::Flush => self.flush(&mut cycle.batch).await?,
                Next::End => break,
                Next::Rebuild { relations, resume } => {
                    self.flush(&mut cycle.batch).await?;
                    self.reader().after_rebuild = Some(resume);
                    return Err(SyncError::RebuildNeeded {
                        reason: format!("{} truncated", relations.join(", ")),
                        cause: RebuildReason::Truncated,
                    });
                }
            }
        }
        self.flush(&mut cycle.batch).await?;
        crate::metrics::get().lag(self.pipeline.name(), 0.0);
        if self.totals != before {
            log_progress("streamed changes", self.totals);
        }
        Ok(())
    }

    /// Writes the documents a batch touches, then confirms its position.
    async fn flush(&mut self, batch: &mut Batch) -> Result<(), SyncError> {
        let commit = batch.commit.take();
        let (changes, xids, oldest) = batch.take();
        if let Some(committed_at) = oldest {
            crate::metrics::get().lag(self.pipeline.name(), age(committed_at));
        }
        if let Some(commit) = commit {
            self.note_through(commit).await?;
        }
        if !changes.is_empty() {
            self.pg.wait_visible(&xids).await?;
            let units = self.recorded_units(&changes).await?;
            self.write_units(stream::iter(units.into_iter().map(Ok)), |_, ()| false)
                .await?;
        }
        if let Some(position) = batch.position {
            self.confirm(position).await?;
        }
        Ok(())
    }

    async fn confirm(&mut self, position: Lsn) -> Result<(), SyncError> {
        if let Some(stream) = self.reader().stream.as_mut() {
            stream.confirm(position);
        }
        Ok(())
    }

    /// The next event: carried over from the wait, or read; a lost connection is made again
    /// from the confirmed position (what came after it is streamed again).
    async fn next_event(&mut self) -> Result<Event, SyncError> {
        if let Some(event) = self.reader().carry.pop_front() {
            return Ok(event);
        }
        let policy = self.pg.retry_policy();
        loop {
            let stream = self.stream().await?;
            let err = match stream.next().await {
                Ok(event) => {
                    self.reader().reconnects = None;
                    return Ok(event);
                }
                Err(err) => err,
            };
            self.reader().stream = None;
            let Some(delay) = reconnect_delay(&err, &mut self.reader().reconnects, &policy) else {
                return Err(err.into());
            };
            let delay_ms = delay.as_millis() as u64;
            warn!(error = %err, delay_ms, "replication stream lost: connecting again from the confirmed position");
            tokio::time::sleep(delay).await;
        }
    }

    /// An event already received, if any (`None` also when the stream is gone: the next
    /// cycle connects again).
    async fn ready_event(&mut self) -> Option<Event> {
        if let Some(event) = self.reader().carry.pop_front() {
            return Some(event);
        }
        let stream = self.reader().stream.as_mut()?;
        match tokio::time::timeout(Duration::ZERO, stream.next()).await {
            Ok(Ok(event)) => Some(event),
            Ok(Err(err)) => {
                warn!(error = %err, "replication stream lost: connecting again from the confirmed position");
                self.reader().stream = None;
                None
            }
            Err(_) => None,
        }
    }

    /// The open stream, connected (with backoff) when there is none.
    async fn stream(&mut self) -> Result<&mut LogicalStream, SyncError> {
        if self.reader().stream.is_none() {
            let stream = self.connect_stream().await?;
            self.reader().stream = Some(stream);
        }
        Ok(self.reader().stream.as_mut().expect("just connected"))
    }

    async fn connect_stream(&mut self) -> Result<LogicalStream, SyncError> {
        let slot = self.reader().slot.clone();
        let postgres = self.reader().postgres.clone();
        let tables = self.pipeline.tables().to_vec();
        let followed = self.pg.relation_oids(&tables).await?;
        let policy = self.pg.retry_policy();
        loop {
            if let Some(reason) = self.server_changed().await? {
                return Err(SyncError::slot_lost(reason));
            }
            if let Some(reason) = self.renew_slot_if_lost().await? {
                return Err(SyncError::slot_lost(reason));
            }
            let Some(state) = self.pg.slot_state(&slot).await? else {
                continue;
            };
            let confirmed = state
                .confirmed_flush_lsn
                .as_deref()
                .and_then(parse_lsn)
                .unwrap_or(Lsn::from_u64(0));
            let started = retry(&policy, "start the replication stream", || {
                LogicalStream::start(&postgres, &slot, &tables, followed.clone(), confirmed)
            })
            .await;
            match started {
                Ok(stream) => {
                    info!(slot = slot.name, from = %confirmed, "streaming changes");
                    return Ok(stream);
                }
                Err(err) => {
                    // The slot may have gone or been invalidated meanwhile.
                    if let Some(reason) = self.renew_slot_if_lost().await? {
                        return Err(SyncError::slot_lost(reason));
                    }
                    return Err(err.into());
                }
            }
        }
    }

    /// Between cycles: waits up to `interval` for a change of a followed table, confirming
    /// the positions keepalives bring meanwhile (nothing followed changed before them).
    pub(super) async fn wait_for_streamed(&mut self, interval: Duration) {
        let deadline = tokio::time::Instant::now() + interval;
        loop {
            let idle = self.reader().carry.is_empty();
            let Some(stream) = self.reader().stream.as_mut() else {
                tokio::time::sleep_until(deadline).await;
                return;
            };
            let event = match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_) => return,
                Ok(Err(err)) => {
                    warn!(error = %err, "replication stream lost while waiting: connecting again");
                    self.reader().stream = None;
                    return;
                }
                Ok(Ok(event)) => event,
            };
            match event {
                Event::Through(position) if idle => stream.confirm(position),
                event => {
                    self.reader().carry.push_back(event);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_error_waits_as_its_class_says() {
        let policy = RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts: 3,
        };
        let mut delays = None;
        let permanent = LogicalError::Url("no host".into());
        assert_eq!(reconnect_delay(&permanent, &mut delays, &policy), None);
        let transient = LogicalError::Ended { slot: "s".into() };
        let first = reconnect_delay(&transient, &mut delays, &policy).expect("a first delay");
        let second = reconnect_delay(&transient, &mut delays, &policy).expect("a second delay");
        assert!(first >= Duration::from_millis(100), "{first:?}");
        assert!(second >= Duration::from_millis(200), "{second:?}");
        assert_eq!(reconnect_delay(&transient, &mut delays, &policy), None);
    }
}

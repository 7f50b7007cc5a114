//! Change capture: how the engine learns which rows changed since it last looked. One mode
//! runs per pipeline (`sync.capture`), each in a folder of its own behind one interface,
//! [`Follower`], whose methods below are everything the rest of the engine and the command
//! line know of capture:
//!
//! | the engine asks | polling | triggers | logical |
//! | --- | --- | --- | --- |
//! | [`check_capture`](Engine::check_capture): can it work? (at start) | the late-commit guard sees every session | triggers installed and firing; the consumer registered | the server streams; publication, slot and replica identities as `setup` left them |
//! | [`follow_changes`](Engine::follow_changes): what changed, written as units of root keys; the position moves once the index acknowledged them | keyset cursors per table, up to the oldest open transaction | the consumer's window of recorded changes | the slot's stream up to a fence |
//! | [`wait_for_changes`](Engine::wait_for_changes): between cycles | the poll interval | a NOTIFY, or the poll interval | a streamed change, or the poll interval |
//! | [`measure_lag`](Engine::measure_lag) | oldest row past the cursors | oldest unread recorded change | measured while streaming |
//! | [`capture_new_partitions`](Engine::capture_new_partitions) | nothing | statement triggers on each | a replica identity on each |
//! | [`close_capture`](Engine::close_capture) | nothing | nothing | the stream's last confirmation |
//!
//! The Postgres side of each mode is in `extract` (`horizon.rs` and `changes.sql` for polling,
//! `capture.rs` and `capture_*.sql`/`consumer_*.sql` for triggers, `logical/` for the slot);
//! installing and removing a mode's objects is `pg2es setup`/`teardown`. A mode is added as a
//! variant of [`Follower`] and a folder here, without touching the others.

mod lag;
pub(super) mod logical;
pub(super) mod polling;
pub(super) mod triggers;

pub(crate) use lag::lag;
pub(crate) use polling::guard::{grant_for, guarded};

use std::time::Duration;

use crate::config::{Capture, Config};
use crate::extract::{Member, Slot};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::Engine;

/// How long one pass over the changes runs, once the worker runs until stopped, before it
/// ends at the next transaction boundary (logical) or page (triggers) while changes keep
/// coming: the rest of the engine gets its turn (the rebuild's slices and its alias swap, the
/// alias and partition checks, the state file) also when the changes come faster than they are
/// indexed, and the next cycle reads on at once. Polling reads up to a horizon fixed at the
/// start of its pass; `sync --once` reads every change committed before it started.
pub(crate) const TURN: Duration = Duration::from_secs(2);

/// The capture mode a pipeline runs, with what it keeps between cycles.
pub(crate) enum Follower {
    Polling(polling::Polling),
    Triggers(triggers::Triggers),
    Logical(Box<logical::Reader>),
}

impl Follower {
    pub(crate) fn new(pipeline: &str, alias: &str, config: &Config) -> Self {
        match config.sync.capture {
            Capture::Polling => Follower::Polling(polling::Polling::new(&config.sync)),
            Capture::Triggers => Follower::Triggers(triggers::Triggers::new(pipeline, alias)),
            Capture::Logical => Follower::Logical(Box::new(logical::Reader::new(
                Slot::of(pipeline, alias),
                &config.postgres,
            ))),
        }
    }

    /// Which mode it is.
    pub(crate) fn mode(&self) -> Capture {
        match self {
            Follower::Polling(_) => Capture::Polling,
            Follower::Triggers(_) => Capture::Triggers,
            Follower::Logical(_) => Capture::Logical,
        }
    }
}

/// `server_version_num` from which a logical slot can live on a hot standby.
pub(crate) const STANDBY_DECODING: i32 = 160_000;

/// Why `capture` cannot follow the changes of a hot standby of `server_version_num` exactly,
/// and what to do instead; `None`: it can (logical capture, from 16 on).
pub(crate) fn on_a_standby(capture: Capture, server_version_num: i32) -> Option<&'static str> {
    match capture {
        Capture::Polling => Some("polling there cannot see the primary's open transactions, so a late commit would be skipped; point postgres.url at the primary, or use sync.capture: logical on Postgres 16+"),
        Capture::Triggers => Some("capture triggers cannot be installed on a standby, which is read-only; point postgres.url at the primary, or use sync.capture: logical on Postgres 16+"),
        Capture::Logical if server_version_num < STANDBY_DECODING => Some("logical decoding on a standby needs Postgres 16 or newer; point postgres.url at the primary"),
        Capture::Logical => None,
    }
}

impl<P: Pipeline> Engine<P> {
    /// At start: refuses a mode that cannot capture every change here, naming what is missing.
    pub async fn check_capture(&mut self) -> Result<(), SyncError> {
        let mode = self.follower.mode();
        if self.pg.is_standby().await? {
            let version = match mode {
                Capture::Logical => self.pg.logical_requirements().await?.server_version_num,
                Capture::Polling | Capture::Triggers => 0,
            };
            if let Some(reason) = on_a_standby(mode, version) {
                return Err(SyncError::Standby(reason.to_owned()));
            }
            self.read_from_standby()?;
        }
        match mode {
            Capture::Polling => self.check_polling_guard().await,
            Capture::Triggers => self.check_triggers().await,
            Capture::Logical => self.check_slot().await,
        }
    }

    /// One pass over what changed since the last acknowledged position.
    pub(super) async fn follow_changes(&mut self) -> Result<(), SyncError> {
        match self.follower.mode() {
            Capture::Polling => self.catch_up().await,
            Capture::Triggers => self.consume_recorded().await,
            Capture::Logical => self.consume_logical().await,
        }
    }

    /// Between cycles: returns when changes may be waiting, at the latest after `interval`.
    pub async fn wait_for_changes(&mut self, interval: Duration) {
        match &mut self.follower {
            Follower::Polling(_) => tokio::time::sleep(interval).await,
            Follower::Triggers(triggers) => triggers.wait(self.pg.pool(), interval).await,
            Follower::Logical(_) => self.wait_for_streamed(interval).await,
        }
    }

    /// Lets go of what the mode holds (the slot's stream, its last position confirmed), so
    /// that it is free when the pipeline resumes.
    pub async fn close_capture(&mut self) {
        if let Follower::Logical(reader) = &mut self.follower {
            reader.close().await;
        }
    }

    /// Gives partitions that joined what this mode needs of each partition. One that cannot
    /// get it stops the pipeline, naming it: its changes would be missed.
    pub(super) async fn capture_new_partitions(
        &mut self,
        new: &[(String, Member)],
    ) -> Result<(), SyncError> {
        if new.is_empty() {
            return Ok(());
        }
        match self.follower.mode() {
            Capture::Polling => Ok(()),
            Capture::Triggers => self.trigger_new_partitions(new).await,
            Capture::Logical => self.identify_new_partitions(new).await,
        }
    }
}

//! The worker's cursors, persisted as YAML and replaced atomically (temp file, fsync, rename).
//!
//! A state file that cannot be trusted is refused, never silently reset: resetting means
//! re-indexing everything, and skipping means losing changes.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::transform::Key;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

#[cfg(debug_assertions)]
mod failpoint;
mod repairs;
mod store;
mod trees;

pub(crate) use repairs::{RepairLedger, RepairRecord};
#[cfg(test)]
pub(crate) use store::MemoryStore;
pub(crate) use store::{StateFile, StateStore};
pub(crate) use trees::{any_partitioned, Member, Trees};

pub(crate) const STATE_VERSION: u32 = 1;
const RESET_HINT: &str =
    "to start over deliberately, run again with --reset-state (everything is re-indexed)";

#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    #[error("cannot read state file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing state file {path}: {reason}; {RESET_HINT}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("refusing repair ledger {path}: {reason}; delete it to start it over (a running worker may then take the last repair's writes for someone else's)")]
    LedgerCorrupt { path: PathBuf, reason: String },
    #[error("cannot write state file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A keyset position: the last `(changed_at, id)` whose documents Elasticsearch acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cursor {
    pub at: Position,
    pub id: Key,
}

/// Where a `changed_by` column stands: a time, or an increasing version number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Position {
    Time(DateTime<Utc>),
    Version(i64),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Postgres reads years before 1 only in its own BC form.
            Position::Time(at) if at.year() < 1 => write!(
                f,
                "{:04}{} BC",
                1 - at.year(),
                at.format("-%m-%dT%H:%M:%S%.6f+00")
            ),
            Position::Time(at) => {
                f.write_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            }
            Position::Version(version) => write!(f, "{version}"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Backfill {
    pub done: bool,
    /// The last root id indexed; the back-fill resumes after it.
    #[serde(deserialize_with = "required")]
    pub after: Option<Key>,
    pub indexed: u64,
    #[serde(deserialize_with = "required")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "required")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The index settings to put back when the back-fill ends (also after a crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_settings: Option<IndexSettings>,
}

/// Index settings a back-fill changes; `None` is the server default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IndexSettings {
    pub refresh_interval: Option<String>,
}

/// Why a new index is being built next to the live one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RebuildReason {
    /// The index config differs from the one that built the live index.
    ConfigChanged,
    /// `pg2es reindex --force`.
    Forced,
    /// Logical mode: a followed table was truncated, so the documents its rows reached are
    /// unknown (and a rebuild in progress may hold rows that are gone).
    Truncated,
    /// Logical mode: the replication slot was gone, invalidated, or read on another server (a
    /// restore, a failover): changes may have been missed.
    SlotLost,
    /// A concrete index named like the alias, left by an older indexer.
    Migration,
    /// `pg2es reindex --rollback`: an earlier index is brought up to date and put back.
    Rollback,
    /// The alias was found on an index pg2es did not put it on (moved by hand, or an index
    /// pg2es did not build): what it answers from cannot be trusted.
    AliasMoved,
    /// The database is not the one the state file was written for (another database or
    /// server, a restore, a failover): the index holds another database's rows.
    DatabaseChanged,
}

/// Operations the index applied that pg2es did not send, noticed between two cycles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForeignWrites {
    /// How many more operations the index applied than pg2es sent (fewer: negative).
    pub operations: i64,
    pub noticed_at: DateTime<Utc>,
    /// When every document was compared with Postgres and the differences written again.
    pub repaired_at: Option<DateTime<Utc>>,
    /// Documents found missing, stale or extra, and written again.
    pub written_again: u64,
}

/// The database a state file was written for: its cursors mean nothing anywhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Source {
    /// `pg_control_system().system_identifier`: one per cluster made by initdb (a dump
    /// restored elsewhere gets another; a physical copy keeps it).
    pub system_identifier: String,
    /// The timeline: a point-in-time restore or a standby's promotion starts a new one.
    pub timeline: u32,
    /// `current_database()` and its oid (a dropped and re-created database gets another).
    pub database: String,
    pub database_oid: u32,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "database {:?} (oid {}) of cluster {}, timeline {}",
            self.database, self.database_oid, self.system_identifier, self.timeline
        )
    }
}

/// A new index being filled next to the live one; the alias moves to it once it is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rebuild {
    /// The concrete index being built.
    pub index: String,
    /// The hash of the index config it is built from.
    pub config_hash: String,
    pub reason: RebuildReason,
    /// Its back-fill, in key order; changes meanwhile are written to both indexes.
    pub backfill: Backfill,
    /// Rollback only: documents whose row is gone were deleted from the earlier index.
    pub extras_done: bool,
    /// Documents the new index refused: the alias is not moved to an index missing some.
    pub dead_lettered: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct State {
    pub version: u32,
    pub pipeline: String,
    /// The name users search: an alias to a versioned index.
    pub index: String,
    /// The back-fill of the live index when it was first built.
    pub backfill: Backfill,
    /// One change cursor per tracked table, set when the back-fill starts.
    pub cursors: BTreeMap<String, Cursor>,
    /// A rebuild in progress (absent in state files of earlier versions).
    #[serde(default)]
    pub rebuild: Option<Rebuild>,
    /// An index config hash not to rebuild for: the operator rolled back from it, or the index
    /// it built refused documents. Cleared when the config changes.
    #[serde(default)]
    pub pinned_config: Option<String>,
    /// The database the cursors and the index belong to (absent in earlier state files: taken
    /// from the database at the next start).
    #[serde(default)]
    pub source: Option<Source>,
    /// The index the alias was on when pg2es last put it there or saw it there: an alias found
    /// elsewhere was moved by hand.
    #[serde(default)]
    pub live_index: Option<String>,
    /// The last writes into the index that pg2es did not make, and their repair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_writes: Option<ForeignWrites>,
    /// Logical mode: the server the replication slot's positions belong to,
    /// `<system identifier>/<timeline>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_server: Option<String>,
    /// Logical mode on Postgres 17+: no change the index holds from the slot's stream lies
    /// past this position (written before the documents of the changes): a promoted standby
    /// that forked at or after it has them all, and the slot it kept can be read on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_through: Option<String>,
    /// Logical mode: the replication slot the positions were read from (absent in earlier
    /// state files: their slot had the name `Slot::legacy` says, or the one it has now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// Logical mode: the oid of the publication the positions were decoded with. One dropped
    /// and made again since has another, and nothing was decoded while it was gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication: Option<i64>,
    /// The partition trees of the followed tables at the last cycle: a partition that came,
    /// went or was emptied since moved rows without a row change (absent in earlier state
    /// files: the next cycle compares every document once when a followed table is
    /// partitioned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Trees>,
    /// Written last, and required: a truncated file fails to parse.
    #[serde(deserialize_with = "required")]
    pub last_sync_at: Option<DateTime<Utc>>,
}

impl State {
    pub fn new(pipeline: &str, index: &str) -> Self {
        Self {
            version: STATE_VERSION,
            pipeline: pipeline.to_owned(),
            index: index.to_owned(),
            backfill: Backfill::default(),
            cursors: BTreeMap::new(),
            rebuild: None,
            pinned_config: None,
            source: None,
            live_index: None,
            foreign_writes: None,
            slot_server: None,
            slot_through: None,
            slot: None,
            publication: None,
            partitions: None,
            last_sync_at: None,
        }
    }
}

/// Every key must be present (`null` is fine): a truncated file then fails to parse instead of
/// quietly reading as an older state.
fn required<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// Reads the state file: `Ok(None)` when there is none yet (a first start).
pub(crate) fn load(path: &Path, pipeline: &str, index: &str) -> Result<Option<State>, StateError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    let corrupt = |reason: String| StateError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    if text.trim().is_empty() {
        return Err(corrupt("the file is empty".into()));
    }
    let state: State = serde_saphyr::from_str(&text).map_err(|err| corrupt(err.to_string()))?;
    if state.version != STATE_VERSION {
        return Err(corrupt(format!(
            "version {} is not the version this pg2es writes ({STATE_VERSION})",
            state.version
        )));
    }
    if state.pipeline != pipeline || state.index != index {
        return Err(corrupt(format!(
            "it belongs to pipeline {:?} and index {:?}, not {pipeline:?} and {index:?}",
            state.pipeline, state.index
        )));
    }
    Ok(Some(state))
}

/// Replaces the state file atomically: a crash leaves either the old or the new file.
pub(crate) fn save(path: &Path, state: &State) -> Result<(), StateError> {
    replace(path, state, true)
}

/// [`save`] on tokio's blocking threads: the write and its two fsyncs can take as long as the
/// disk is busy, which the runtime's threads (the worker lock, `/metrics`, the other
/// pipelines) must not wait for.
pub(crate) async fn store(path: &Path, state: &State) -> Result<(), StateError> {
    let (path, state) = (path.to_owned(), state.clone());
    let target = path.clone();
    tokio::task::spawn_blocking(move || save(&path, &state))
        .await
        .map_err(|err| StateError::Write {
            path: target,
            source: std::io::Error::other(err),
        })?
}

/// Writes `value` as YAML into a temporary file, fsyncs it and renames it over `path`, so that
/// a reader sees the old file or the new one, never a part. `failpoints`: the state file's
/// (debug builds only; see `failpoint.rs`).
fn replace(path: &Path, value: &impl Serialize, failpoints: bool) -> Result<(), StateError> {
    #[cfg(not(debug_assertions))]
    let _ = failpoints;
    let write_error = |source| StateError::Write {
        path: path.to_owned(),
        source,
    };
    let text = serde_saphyr::to_string(value)
        .map_err(|err| write_error(std::io::Error::other(err.to_string())))?;
    let temp = temp_path(path);
    let mut file = File::create(&temp).map_err(write_error)?;
    // In two halves, so that a test can kill the worker between them (debug builds only).
    let (head, tail) = text.as_bytes().split_at(text.len() / 2);
    file.write_all(head).map_err(write_error)?;
    #[cfg(debug_assertions)]
    if failpoints {
        failpoint::hit(failpoint::MID_WRITE);
    }
    file.write_all(tail).map_err(write_error)?;
    file.sync_all().map_err(write_error)?;
    drop(file);
    #[cfg(debug_assertions)]
    if failpoints {
        failpoint::hit(failpoint::BEFORE_RENAME);
    }
    fs::rename(&temp, path).map_err(write_error)?;
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(write_error)?;
    }
    Ok(())
}

/// Deletes the state file (`--reset-state`).
pub(crate) fn reset(path: &Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StateError::Write {
            path: path.to_owned(),
            source,
        }),
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs `write` (which writes into the FIFO `fifo`) on a runtime of one thread, with a
    /// task queued behind it that reads the FIFO: a write on the runtime's thread blocks in
    /// `open` for a reader that never gets the thread.
    pub(crate) fn runs_off_the_runtime<F>(fifo: &Path, write: F) -> bool
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let made = std::process::Command::new("mkfifo").arg(fifo).status();
        assert!(made.unwrap().success(), "mkfifo {}", fifo.display());
        let fifo = fifo.to_owned();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let writing = tokio::spawn(write);
                let reading = tokio::spawn(async move { tokio::fs::read(fifo).await });
                let _ = writing.await;
                let _ = reading.await;
            });
            let _ = done.send(());
        });
        finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .is_ok()
    }

    #[test]
    fn the_state_file_is_written_off_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.yaml");
        let state = State::new("movies", "movies");
        let off = runs_off_the_runtime(&temp_path(&path), async move {
            let _ = store(&path, &state).await;
        });
        assert!(off, "the state file's write held the runtime's only thread");
    }

    fn sample() -> State {
        let mut state = State::new("movies", "movies");
        state.backfill.after = Some(Key::from("7"));
        state.backfill.indexed = 100;
        state.backfill.restore_settings = Some(IndexSettings {
            refresh_interval: Some("30s".into()),
        });
        state.cursors.insert(
            "person".into(),
            Cursor {
                at: Position::Time("2021-06-16T20:14:09.310123Z".parse().unwrap()),
                id: Key::from(uuid::Uuid::from_u128(42).to_string()),
            },
        );
        state
    }

    #[test]
    fn positions_are_written_as_postgres_reads_them() {
        let start = chrono::NaiveDate::from_ymd_opt(-4000, 1, 1)
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .unwrap()
            .and_utc();
        assert_eq!(
            Position::Time(start).to_string(),
            "4001-01-01T00:00:00.000000+00 BC"
        );
        let at = "2021-06-16T20:14:09.310123Z".parse().unwrap();
        assert_eq!(
            Position::Time(at).to_string(),
            "2021-06-16T20:14:09.310123Z"
        );
        assert_eq!(Position::Version(-3).to_string(), "-3");
    }

    #[test]
    fn round_trip_keeps_microseconds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.yaml");
        save(&path, &sample()).unwrap();
        let loaded = load(&path, "movies", "movies").unwrap().unwrap();
        assert_eq!(loaded, sample());
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("20:14:09.310123"), "{text}");
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn a_composite_cursor_round_trips_into_its_parts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.yaml");
        let mut state = sample();
        let id = crate::extract::composite::encode(&["978%2F2", "9"]);
        state.cursors.insert(
            "bib.credit".into(),
            Cursor {
                at: Position::Time("2026-12-07T01:32:12.270308Z".parse().unwrap()),
                id: Key::from(id),
            },
        );
        save(&path, &state).unwrap();
        let loaded = load(&path, "movies", "movies").unwrap().unwrap();
        assert_eq!(loaded, state);
        let cursor = &loaded.cursors["bib.credit"];
        assert_eq!(cursor.id.as_str(), "978%252F2/9");
        let parts = crate::extract::composite::decode(cursor.id.as_str(), 2).unwrap();
        assert_eq!(parts, vec!["978%2F2", "9"]);
    }

    #[test]
    fn a_rebuild_in_progress_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.yaml");
        let mut state = sample();
        state.rebuild = Some(Rebuild {
            index: "movies_0123456789ab".into(),
            config_hash: "0123456789abcdef".into(),
            reason: RebuildReason::ConfigChanged,
            backfill: Backfill {
                after: Some(Key::from("9")),
                ..Backfill::default()
            },
            extras_done: false,
            dead_lettered: 0,
        });
        state.pinned_config = Some("fedcba9876543210".into());
        save(&path, &state).unwrap();
        assert_eq!(load(&path, "movies", "movies").unwrap().unwrap(), state);
    }

    #[test]
    fn state_files_of_the_previous_version_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.yaml");
        let old = "version: 1\npipeline: movies\nindex: movies\nbackfill:\n  done: true\n  after: null\n  indexed: 3\n  started_at: null\n  finished_at: null\ncursors: {}\nlast_sync_at: null\n";
        fs::write(&path, old).unwrap();
        let state = load(&path, "movies", "movies").unwrap().unwrap();
        assert!(state.backfill.done);
        assert_eq!((state.rebuild, state.pinned_config), (None, None));
    }

    #[test]
    fn missing_file_is_a_first_start() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(&dir.path().join("none.yaml"), "movies", "movies")
            .unwrap()
            .is_none());
    }

    fn refused(content: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.yaml");
        fs::write(&path, content).unwrap();
        let err = load(&path, "movies", "movies").expect_err("state should be refused");
        err.to_string()
    }

    #[test]
    fn empty_truncated_garbage_and_wrong_version_are_refused() {
        let good = serde_saphyr::to_string(&sample()).unwrap();
        for (content, expected) in [
            ("", "empty"),
            ("  \n", "empty"),
            (&good[..good.len() / 2], "state.yaml"),
            ("{{{ not yaml", "state.yaml"),
            ("hello: world\n", "state.yaml"),
            (&good.replace("version: 1", "version: 99"), "version 99"),
            (&good.replace("index: movies", "index: films"), "films"),
        ] {
            let message = refused(content);
            assert!(message.contains(expected), "{content:?}: {message}");
            assert!(message.contains("--reset-state"), "{message}");
        }
    }

    #[test]
    fn reset_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.yaml");
        save(&path, &sample()).unwrap();
        reset(&path).unwrap();
        assert!(!path.exists());
        reset(&path).unwrap();
    }
}

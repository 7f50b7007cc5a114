//! The repair ledger: what `pg2es verify --repair` had the index apply, for the worker beside
//! it. The worker notices writes it did not send by counting the operations the index applied
//! (`load/writes.rs`). A repair is pg2es writing too, from another process: after each of its
//! writes it sets here how many operations the index applied for it, and the worker counts what
//! the ledger grew by between two looks as pg2es's own. Both hold the repair lock
//! (`lock/repair.rs`) meanwhile, so the worker never looks between a write and its entry.
//!
//! One file per pipeline beside its state file (`state.movies.repairs.yaml`), written only by
//! repairs (one at a time: they hold the lock) and replaced atomically like the state file. Its
//! count only grows. A repair stopped between a write and its entry leaves that write out: the
//! worker then takes it for someone else's and compares every document (the safe side).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{StateError, STATE_VERSION};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepairLedger {
    pub version: u32,
    pub pipeline: String,
    /// The alias: the repairs wrote into the index behind it.
    pub index: String,
    /// Operations the index applied for repairs since the ledger was made.
    pub operations: u64,
    /// Repairs that wrote since the ledger was made.
    pub repairs: u64,
    /// When the last of them began.
    pub last_repair_at: Option<DateTime<Utc>>,
}

impl RepairLedger {
    fn new(pipeline: &str, index: &str) -> Self {
        Self {
            version: STATE_VERSION,
            pipeline: pipeline.to_owned(),
            index: index.to_owned(),
            operations: 0,
            repairs: 0,
            last_repair_at: None,
        }
    }

    /// The ledger at `path`, empty when there is none yet (no repair ever wrote). One that does
    /// not parse, or belongs to another pipeline or index, is refused.
    pub fn load(path: &Path, pipeline: &str, index: &str) -> Result<Self, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::new(pipeline, index))
            }
            Err(source) => {
                return Err(StateError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let corrupt = |reason: String| StateError::LedgerCorrupt {
            path: path.to_owned(),
            reason,
        };
        let ledger: Self = serde_saphyr::from_str(&text).map_err(|err| corrupt(err.to_string()))?;
        if ledger.version != STATE_VERSION {
            return Err(corrupt(format!("version {} is unknown", ledger.version)));
        }
        if ledger.pipeline != pipeline || ledger.index != index {
            return Err(corrupt(format!(
                "it belongs to pipeline {:?} and index {:?}, not {pipeline:?} and {index:?}",
                ledger.pipeline, ledger.index
            )));
        }
        Ok(ledger)
    }
}

/// One repair's entries in the ledger. Made and used only while the repair lock is held.
#[derive(Debug)]
pub(crate) struct RepairRecord {
    path: PathBuf,
    /// The ledger as the repair found it (its own repair counted).
    before: RepairLedger,
    /// Operations applied for this repair as last written down.
    recorded: AtomicU64,
}

impl RepairRecord {
    /// Counts a repair in the ledger before it writes into the index: a ledger that cannot be
    /// written stops the repair before its first write, not after.
    pub fn begin(path: &Path, pipeline: &str, index: &str) -> Result<Self, StateError> {
        let mut before = RepairLedger::load(path, pipeline, index)?;
        before.repairs += 1;
        before.last_repair_at = Some(Utc::now());
        super::replace(path, &before, false)?;
        Ok(Self {
            path: path.to_owned(),
            before,
            recorded: AtomicU64::new(0),
        })
    }

    /// The index has applied `operations` for this repair so far (its bulk answers say so).
    pub fn record(&self, operations: u64) -> Result<(), StateError> {
        if self.recorded.load(Ordering::Relaxed) == operations {
            return Ok(());
        }
        #[cfg(debug_assertions)]
        super::failpoint::hit(super::failpoint::BEFORE_LEDGER_ENTRY);
        let mut ledger = self.before.clone();
        ledger.operations += operations;
        super::replace(&self.path, &ledger, false)?;
        self.recorded.store(operations, Ordering::Relaxed);
        Ok(())
    }

    /// Operations written down for this repair.
    pub fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Relaxed)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_add_to_the_ledger_and_a_missing_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.movies.repairs.yaml");
        assert_eq!(
            RepairLedger::load(&path, "movies", "movies").unwrap(),
            RepairLedger::new("movies", "movies")
        );

        let first = RepairRecord::begin(&path, "movies", "movies").unwrap();
        first.record(5).unwrap();
        first.record(8).unwrap();
        let second = RepairRecord::begin(&path, "movies", "movies").unwrap();
        second.record(2).unwrap();

        let ledger = RepairLedger::load(&path, "movies", "movies").unwrap();
        assert_eq!((ledger.operations, ledger.repairs), (10, 2));
        assert!(ledger.last_repair_at.is_some());
        assert_eq!(second.recorded(), 2);
    }

    #[test]
    fn a_ledger_of_another_index_or_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.yaml");
        RepairRecord::begin(&path, "movies", "films").unwrap();
        let err = RepairLedger::load(&path, "movies", "movies").unwrap_err();
        assert!(err.to_string().contains("films"), "{err}");
        std::fs::write(&path, "{{{ not yaml").unwrap();
        assert!(RepairLedger::load(&path, "movies", "movies").is_err());
    }
}

//! The version each write carries, so that the index itself refuses a document built from an
//! older snapshot than the one it holds (`version_type=external_gte`): a batch built before a
//! handover and delivered after it is refused and counted, never applied.
//!
//! The version is read from a snapshot taken *before* the statements that build the documents
//! take theirs, so each of those sees at least what it sees. Snapshots of one server are
//! ordered by what they see, and the version only grows along that order: a later snapshot has
//! a larger `xmax` (the first transaction id not yet finished when it was taken), or the same
//! `xmax` and fewer transactions below it still running (none can start below an `xmax`, so
//! that list only shrinks). Hence `xmax · 2^18 + (2^18 − 1 − running)`: equal versions come
//! from snapshots that see the same transactions (on a primary: a standby lists no running
//! transactions, so there only `xmax` counts), so a write that the index lets through
//! (`>=`) is never older than what it replaces.

use std::fmt;

/// Bits below the `xmax` for the count of running transactions: Postgres allows at most
/// 2^18 − 1 connections (`max_connections`), so no snapshot lists more running transactions.
const RUNNING_BITS: u32 = 18;
/// Largest version the index accepts (a signed 64-bit number).
const LARGEST: u64 = i64::MAX as u64;

/// A document's version in the index: it grows with the snapshot the document was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Version(u64);

#[derive(Debug, thiserror::Error)]
#[error("the snapshot (xmax {xmax}, {running} transactions running) is past what an index version can hold (xmax below 2^45, fewer than 2^18 running)")]
pub(crate) struct TooLarge {
    xmax: u64,
    running: u64,
}

impl Version {
    /// The version of a snapshot with this `xmax` (`pg_snapshot_xmax`, 64 bits with the epoch)
    /// and `running` transactions below it (`pg_snapshot_xip`).
    pub fn of_snapshot(xmax: u64, running: u64) -> Result<Self, TooLarge> {
        let room = (1 << RUNNING_BITS) - 1;
        let too_large = TooLarge { xmax, running };
        if running > room || xmax > LARGEST >> RUNNING_BITS {
            return Err(too_large);
        }
        Ok(Self((xmax << RUNNING_BITS) | (room - running)))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    #[cfg(test)]
    pub fn from_raw(raw: u64) -> Self {
        Self(raw)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(xmax: u64, running: u64) -> u64 {
        Version::of_snapshot(xmax, running).unwrap().get()
    }

    #[test]
    fn a_later_snapshot_has_a_larger_version() {
        // Same xmax, one running transaction finished since: the later one sees it.
        assert!(version(1000, 2) < version(1000, 1));
        assert!(version(1000, 1) < version(1000, 0));
        // A larger xmax outweighs any count of running transactions.
        assert!(version(1000, 0) < version(1001, 262_143));
        // Written out: 1000 · 2^18 + (2^18 − 1 − 2).
        assert_eq!(version(1000, 2), 262_144_000 + 262_141);
    }

    #[test]
    fn the_same_snapshot_has_the_same_version() {
        assert_eq!(version(77, 3), version(77, 3));
    }

    #[test]
    fn what_a_version_cannot_hold_is_refused() {
        assert!(Version::of_snapshot(1 << 45, 0).is_err());
        assert!(Version::of_snapshot((1 << 45) - 1, 0).is_ok());
        assert_eq!(version((1 << 45) - 1, 0), i64::MAX as u64);
        assert!(Version::of_snapshot(5, 1 << 18).is_err());
    }
}

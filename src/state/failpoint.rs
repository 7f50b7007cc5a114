//! Test-only fault injection inside [`super::save`] and the repair ledger's entries, so that a
//! kill test stops pg2es in the middle of the write it protects instead of after it (as
//! supabase/etl's `failpoints.rs` does).
//!
//! Compiled only with `debug_assertions`: the builds `cargo test` makes, and the binary the
//! integration tests run. A release build has none of it, not even the environment lookup.
//!
//! Armed by `PG2ES_FAILPOINT=<point>:<action>[:<nth>]`, read once per process:
//! - `<point>`: [`MID_WRITE`] (half of the temporary file written) or [`BEFORE_RENAME`] (the
//!   temporary file written and fsynced, the rename not done yet) of the state file;
//!   [`BEFORE_LEDGER_ENTRY`] (a repair's write applied by the index, not yet in the repair
//!   ledger);
//! - `<action>`: `pause` logs `failpoint reached` and blocks the saving thread for good, for the
//!   test to kill the process right there; `abort` ends the process at once
//!   ([`std::process::abort`]);
//! - `<nth>`: which pass over the point triggers, counting from 1 (default 1), so that a worker
//!   can make progress before it stops.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use tracing::warn;

/// Half of the new state is in the temporary file, the other half not yet.
pub(super) const MID_WRITE: &str = "state-save-mid-write";
/// The temporary file is complete and fsynced; the rename has not happened.
pub(super) const BEFORE_RENAME: &str = "state-save-before-rename";
/// A repair's write is applied; the repair ledger does not count it yet.
pub(super) const BEFORE_LEDGER_ENTRY: &str = "repair-before-ledger-entry";

const ENV: &str = "PG2ES_FAILPOINT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Pause,
    Abort,
}

#[derive(Debug, PartialEq, Eq)]
struct Armed {
    point: &'static str,
    action: Action,
    nth: u32,
}

/// Passes over `point`: triggers the armed action there, if any.
pub(super) fn hit(point: &'static str) {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    static PASSES: AtomicU32 = AtomicU32::new(0);
    let armed = ARMED.get_or_init(|| {
        let spec = std::env::var(ENV).ok()?;
        Some(parse(&spec).unwrap_or_else(|reason| panic!("{ENV}={spec:?}: {reason}")))
    });
    let Some(armed) = armed.as_ref().filter(|armed| armed.point == point) else {
        return;
    };
    if PASSES.fetch_add(1, Ordering::SeqCst) + 1 != armed.nth {
        return;
    }
    match armed.action {
        Action::Abort => std::process::abort(),
        Action::Pause => {
            warn!(
                failpoint = point,
                nth = armed.nth,
                "failpoint reached, pausing"
            );
            loop {
                std::thread::park();
            }
        }
    }
}

fn parse(spec: &str) -> Result<Armed, String> {
    let mut parts = spec.split(':');
    let point = match parts.next() {
        Some(MID_WRITE) => MID_WRITE,
        Some(BEFORE_RENAME) => BEFORE_RENAME,
        Some(BEFORE_LEDGER_ENTRY) => BEFORE_LEDGER_ENTRY,
        other => return Err(format!("unknown point {other:?}")),
    };
    let action = match parts.next() {
        Some("pause") => Action::Pause,
        Some("abort") => Action::Abort,
        other => return Err(format!("unknown action {other:?}, expected pause or abort")),
    };
    let nth = match parts.next() {
        None => 1,
        Some(nth) => nth
            .parse()
            .ok()
            .filter(|nth| *nth > 0)
            .ok_or_else(|| format!("nth {nth:?} is not a count from 1"))?,
    };
    if let Some(extra) = parts.next() {
        return Err(format!("unexpected {extra:?} after the count"));
    }
    Ok(Armed { point, action, nth })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_an_action_and_an_optional_count_are_read() {
        assert_eq!(
            parse("state-save-mid-write:pause"),
            Ok(Armed {
                point: MID_WRITE,
                action: Action::Pause,
                nth: 1
            })
        );
        assert_eq!(
            parse("state-save-before-rename:abort:3"),
            Ok(Armed {
                point: BEFORE_RENAME,
                action: Action::Abort,
                nth: 3
            })
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_part_that_is_wrong() {
        for (spec, expected) in [
            ("state-save:pause", "unknown point"),
            ("state-save-mid-write", "unknown action"),
            ("state-save-mid-write:stop", "stop"),
            ("state-save-mid-write:pause:0", "\"0\""),
            ("state-save-mid-write:pause:x", "\"x\""),
            ("state-save-mid-write:pause:2:3", "\"3\""),
        ] {
            let reason = parse(spec).expect_err(spec);
            assert!(reason.contains(expected), "{spec}: {reason}");
        }
    }
}

//! The late-commit guard of polling, said out loud: polling never reads past the start of the
//! oldest open transaction, so a session left idle in a transaction freezes it. That session
//! is named in a warning (once per session) and its age exported as a metric. A role that
//! cannot see other roles' sessions has no working guard: start-up refuses it unless the
//! guard is turned off deliberately.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::Polling;
use crate::config::PollingGuard;
use crate::extract::{ChangeKind, Table};
use crate::pipeline::capture::Follower;
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::Engine;

/// Whether any of `tables` is polled by a timestamp, the only kind the guard protects.
pub(crate) fn guarded(tables: &[Table]) -> bool {
    tables.iter().any(|table| {
        let kind = table.changed_by.as_ref().map(|changed_by| &changed_by.kind);
        matches!(
            kind,
            Some(ChangeKind::Timestamptz | ChangeKind::Timestamp { .. })
        )
    })
}

/// `GRANT pg_read_all_stats TO <role>;` with the role quoted when it must be.
pub(crate) fn grant_for(role: &str) -> String {
    let plain = role
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let role = match plain {
        true => role.to_owned(),
        false => format!("\"{}\"", role.replace('"', "\"\"")),
    };
    format!("GRANT pg_read_all_stats TO {role};")
}

impl<P: Pipeline> Engine<P> {
    fn polling(&mut self) -> &mut Polling {
        match &mut self.follower {
            Follower::Polling(polling) => polling,
            _ => unreachable!("the late-commit guard in polling mode only"),
        }
    }

    /// Start-up in polling mode: a guard that cannot see every session is refused.
    pub(in crate::pipeline) async fn check_polling_guard(&mut self) -> Result<(), SyncError> {
        if self.polling().guard == PollingGuard::Off || !guarded(self.pipeline.tables()) {
            return Ok(());
        }
        let (sees_all, role) = self.pg.sees_all_sessions().await?;
        match sees_all {
            true => Ok(()),
            false => Err(SyncError::GuardBlind {
                grant: grant_for(&role),
                role,
            }),
        }
    }

    /// Where polling reads up to in this cycle; names the session that holds it back.
    pub(in crate::pipeline) async fn polling_horizon(
        &mut self,
    ) -> Result<DateTime<Utc>, SyncError> {
        let horizon = self.pg.horizon().await?;
        let pipeline = self.pipeline.name().to_owned();
        let polling = self.polling();
        if polling.guard == PollingGuard::Off {
            crate::metrics::get().horizon_age(&pipeline, 0.0);
            return Ok(horizon.now);
        }
        let age = horizon.age();
        crate::metrics::get().horizon_age(&pipeline, age.as_secs_f64());
        match horizon.held_back(polling.held_back_after) {
            Some(open) if polling.named_holder != Some(open.pid) => {
                warn!(
                    pipeline,
                    pid = open.pid,
                    application_name = open.application_name,
                    client_addr = open.client_addr.as_deref().unwrap_or("local socket"),
                    state = open.state.as_deref().unwrap_or("unknown"),
                    open_seconds = age.as_secs(),
                    "polling held back by an open transaction: nothing committed after it began is read until it ends (end that session, set idle_in_transaction_session_timeout, or use sync.capture: triggers)"
                );
                polling.named_holder = Some(open.pid);
            }
            Some(_) => {}
            None => {
                if let Some(pid) = polling.named_holder.take() {
                    info!(
                        pipeline,
                        pid, "polling no longer held back by that transaction"
                    );
                }
            }
        }
        Ok(horizon.at())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_quotes_a_role_that_needs_it() {
        assert_eq!(grant_for("indexer"), "GRANT pg_read_all_stats TO indexer;");
        assert_eq!(
            grant_for("Search-Bot"),
            "GRANT pg_read_all_stats TO \"Search-Bot\";"
        );
    }
}

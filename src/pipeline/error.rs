//! What can stop a sync cycle, and what the engine does about each ([`Remedy`]).

use crate::extract::PgError;
use crate::load::EsError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error(transparent)]
    Elasticsearch(#[from] EsError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("change capture is not installed on {}: run `pg2es setup` (or use sync.capture: polling)", .0.join(", "))]
    CaptureMissing(Vec<String>),
    #[error("change capture triggers do not fire for every write ({}): writes are missed; run `pg2es setup` (it enables them ALWAYS)", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    CaptureUnfired(Vec<crate::extract::UnfiredTrigger>),
    #[error("polling cannot see other roles' open transactions: role {role} lacks pg_read_all_stats, so a late commit could be skipped; run `{grant}` (or accept the risk with sync.polling_guard: off)")]
    GuardBlind { role: String, grant: String },
    #[error("cannot write bulk body {path}")]
    Export {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("postgres does not have what the pipeline reads: {what}")]
    Schema {
        what: String,
        #[source]
        source: PgError,
    },
    #[error("postgres.url points at a hot standby (pg_is_in_recovery() is true): {0}")]
    Standby(String),
    #[error("sync.capture: logical cannot work here: {}", .0.join("; "))]
    LogicalUnavailable(Vec<String>),
    #[error(transparent)]
    Logical(#[from] crate::extract::LogicalError),
    #[error("{reason}: the index is rebuilt behind the alias")]
    RebuildNeeded {
        reason: String,
        /// What the state file and the log call the rebuild.
        cause: crate::state::RebuildReason,
    },
    #[error("a back-fill task stopped unexpectedly")]
    Task(#[source] tokio::task::JoinError),
    #[error("alias {alias} points at several indexes ({}): pg2es keeps it on one; remove it from the others", .indexes.join(", "))]
    SeveralIndexes { alias: String, indexes: Vec<String> },
    #[error("the index behind alias {alias} is not the one pg2es left it on ({reason}): its documents are not trusted")]
    AliasMoved { alias: String, reason: String },
    #[error("nothing to roll back to: no earlier index of {alias} built from another index config is kept (index.keep_previous)")]
    NothingToRollBack { alias: String },
}

/// What the engine does about a failed cycle, decided by the error itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Remedy {
    /// The index behind the alias is gone or was moved by hand: its documents are not
    /// trusted; it is made again behind the alias (writes require the alias, so nothing went
    /// to a stray index), search answering incompletely until then.
    Remake,
    /// Changes were missed (a truncated table, a lost slot): rebuilt behind the alias, search
    /// answering meanwhile; a rebuild in progress starts over.
    Rebuild {
        reason: String,
        cause: crate::state::RebuildReason,
    },
    /// Nothing the engine can mend: the pipeline stops with the error, whose message says
    /// what the operator can do (transient failures were retried below, call by call).
    Stop,
}

impl SyncError {
    /// What to do about this error (see [`Remedy`]).
    pub(crate) fn remedy(&self) -> Remedy {
        match self {
            SyncError::Elasticsearch(EsError::IndexGone { .. }) | SyncError::AliasMoved { .. } => {
                Remedy::Remake
            }
            SyncError::RebuildNeeded { reason, cause } => Remedy::Rebuild {
                reason: reason.clone(),
                cause: *cause,
            },
            _ => Remedy::Stop,
        }
    }

    /// The slot's stream does not cover every change any more (`reason` says why).
    pub(super) fn slot_lost(reason: String) -> Self {
        SyncError::RebuildNeeded {
            reason,
            cause: crate::state::RebuildReason::SlotLost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RebuildReason;

    #[test]
    fn each_error_says_what_the_engine_does_about_it() {
        let gone = SyncError::Elasticsearch(EsError::IndexGone {
            alias: "movies".into(),
            reason: "deleted".into(),
        });
        assert_eq!(gone.remedy(), Remedy::Remake);
        let moved = SyncError::AliasMoved {
            alias: "movies".into(),
            reason: "by hand".into(),
        };
        assert_eq!(moved.remedy(), Remedy::Remake);
        let truncated = SyncError::RebuildNeeded {
            reason: "content.genre truncated".into(),
            cause: RebuildReason::Truncated,
        };
        assert_eq!(
            truncated.remedy(),
            Remedy::Rebuild {
                reason: "content.genre truncated".into(),
                cause: RebuildReason::Truncated
            }
        );
        let missing = SyncError::CaptureMissing(vec!["content.genre".into()]);
        assert_eq!(missing.remedy(), Remedy::Stop);
        let several = SyncError::SeveralIndexes {
            alias: "movies".into(),
            indexes: vec!["a".into(), "b".into()],
        };
        assert_eq!(several.remedy(), Remedy::Stop);
    }
}

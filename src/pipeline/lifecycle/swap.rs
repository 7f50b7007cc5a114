//! The end of a rebuild, once the new index holds every document and is refreshed: the alias
//! moves to it in one request, or, when it refused documents that are still refused, stays
//! where it is. Only then, and once the state records the swap, are earlier indexes beyond
//! `index.keep_previous` dropped. Before the alias moves nothing is lost by a crash: the
//! rebuild is still in the state and ends again.

use tracing::{error, info};

use crate::load::{Indexes, Live};
use crate::pipeline::error::SyncError;
use crate::pipeline::lifecycle::plan::{self, Facts};
use crate::state::{RebuildReason, State};

/// How a rebuild ended.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::pipeline) enum Ended {
    /// The alias is on the new index, and the state says so.
    Swapped,
    /// The new index refused documents: the alias stays; the new index is dropped and its
    /// config not rebuilt again until it changes (a rollback's earlier index is kept).
    Refused,
}

/// Ends the rebuild the state holds. `forgiven`: the documents it refused were since written
/// or deleted (the refusals no longer stand).
pub(in crate::pipeline) async fn end_rebuild<I: Indexes>(
    indexes: &I,
    state: &mut State,
    forgiven: bool,
) -> Result<Option<Ended>, SyncError> {
    let Some(rebuild) = state.rebuild.clone() else {
        return Ok(None);
    };
    if rebuild.dead_lettered > 0 && !forgiven {
        error!(
            index = rebuild.index,
            refused = rebuild.dead_lettered,
            "the rebuilt index refused documents (see the dead-letter file): the alias stays where it is; fix the index config"
        );
        if rebuild.reason != RebuildReason::Rollback {
            indexes.delete_index(&rebuild.index).await?;
            state.pinned_config = Some(rebuild.config_hash);
        }
        state.rebuild = None;
        return Ok(Some(Ended::Refused));
    }
    indexes.move_alias(&rebuild.index).await?;
    info!(alias = indexes.alias_name(), index = rebuild.index, reason = ?rebuild.reason, "alias moved: the rebuilt index answers");
    swapped_in(state);
    Ok(Some(Ended::Swapped))
}

/// The alias is on the rebuilt index: the state says so (`false`: no rebuild was in it).
pub(in crate::pipeline) fn swapped_in(state: &mut State) -> bool {
    let Some(rebuild) = state.rebuild.take() else {
        return false;
    };
    state.live_index = Some(rebuild.index);
    true
}

/// Drops the indexes built before the live one beyond the newest `keep_previous`; those
/// pg2es did not build stay. Returns the names dropped.
pub(in crate::pipeline) async fn drop_earlier<I: Indexes>(
    indexes: &I,
    keep_previous: u32,
) -> Result<Vec<String>, SyncError> {
    let live = indexes.live().await?;
    let Live::Alias(current) = &live else {
        return Ok(Vec::new());
    };
    let [current] = current.as_slice() else {
        return Ok(Vec::new());
    };
    let versioned = indexes.versioned_indexes().await?;
    let facts = Facts {
        alias: indexes.alias_name(),
        live: &live,
        indexes: &versioned,
        wanted_hash: "",
        database_changed: false,
    };
    let dropped = plan::to_drop(&facts, current, keep_previous);
    for index in &dropped {
        info!(index, "dropping an earlier index (index.keep_previous)");
        indexes.delete_index(index).await?;
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::memory_indexes::MemoryIndexes;
    use crate::state::{Backfill, Rebuild};

    const OLD: &str = "aaaaaaaaaaaaaaaa";
    const NEW: &str = "bbbbbbbbbbbbbbbb";

    /// `films_1`…`films_3` built from the old config, the alias on `films_3`, and a rebuild
    /// into `films_4` from the new one, done filling.
    fn rebuilding(refused: u64, reason: RebuildReason) -> (MemoryIndexes, State) {
        let indexes = MemoryIndexes::new("films");
        indexes.built("films_1", OLD, 1).built("films_2", OLD, 2);
        indexes.built("films_3", OLD, 3).built("films_4", NEW, 4);
        indexes.foreign("films_backup").alias_on("films_3");
        let mut state = State::new("films", "films");
        state.live_index = Some("films_3".into());
        state.rebuild = Some(Rebuild {
            index: "films_4".into(),
            config_hash: NEW.into(),
            reason,
            backfill: Backfill {
                done: true,
                ..Backfill::default()
            },
            extras_done: true,
            dead_lettered: refused,
        });
        (indexes, state)
    }

    #[tokio::test]
    async fn a_complete_rebuild_moves_the_alias_then_drops_what_keep_previous_does_not_keep() {
        let (indexes, mut state) = rebuilding(0, RebuildReason::ConfigChanged);
        let ended = end_rebuild(&indexes, &mut state, false).await.unwrap();
        assert_eq!(ended, Some(Ended::Swapped));
        assert_eq!(indexes.aliased(), ["films_4"]);
        assert_eq!(state.live_index.as_deref(), Some("films_4"));
        assert!(state.rebuild.is_none());
        let dropped = drop_earlier(&indexes, 1).await.unwrap();
        assert_eq!(dropped, ["films_2", "films_1"]);
        assert_eq!(indexes.names(), ["films_3", "films_4", "films_backup"]);
    }

    #[tokio::test]
    async fn a_rebuilt_index_that_refused_documents_is_not_swapped_in() {
        let (indexes, mut state) = rebuilding(2, RebuildReason::ConfigChanged);
        let ended = end_rebuild(&indexes, &mut state, false).await.unwrap();
        assert_eq!(ended, Some(Ended::Refused));
        assert_eq!(indexes.aliased(), ["films_3"], "the alias stays");
        assert!(!indexes.names().contains(&"films_4".to_owned()));
        assert_eq!(
            state.pinned_config.as_deref(),
            Some(NEW),
            "not rebuilt again"
        );
        assert_eq!(state.live_index.as_deref(), Some("films_3"));
        assert!(state.rebuild.is_none());
        assert_eq!(drop_earlier(&indexes, 1).await.unwrap(), ["films_1"]);
    }

    #[tokio::test]
    async fn refusals_written_since_or_a_rollback_index_that_refused_are_handled_apart() {
        let (indexes, mut state) = rebuilding(2, RebuildReason::ConfigChanged);
        let ended = end_rebuild(&indexes, &mut state, true).await.unwrap();
        assert_eq!(ended, Some(Ended::Swapped), "forgiven refusals swap");
        let (indexes, mut state) = rebuilding(2, RebuildReason::Rollback);
        let ended = end_rebuild(&indexes, &mut state, false).await.unwrap();
        assert_eq!(ended, Some(Ended::Refused));
        assert!(
            indexes.names().contains(&"films_4".to_owned()),
            "a rollback's earlier index is kept"
        );
        assert_eq!(state.pinned_config, None);
    }

    #[tokio::test]
    async fn a_failed_alias_move_leaves_the_alias_and_the_rebuild_to_end_again() {
        let (indexes, mut state) = rebuilding(0, RebuildReason::ConfigChanged);
        indexes.fail_request(1);
        assert!(end_rebuild(&indexes, &mut state, false).await.is_err());
        assert_eq!(indexes.aliased(), ["films_3"]);
        assert_eq!(
            state.rebuild.as_ref().map(|r| r.index.as_str()),
            Some("films_4")
        );
        assert_eq!(indexes.names().len(), 5, "nothing dropped");
        let ended = end_rebuild(&indexes, &mut state, false).await.unwrap();
        assert_eq!(ended, Some(Ended::Swapped));
        assert_eq!(indexes.aliased(), ["films_4"]);
    }
}

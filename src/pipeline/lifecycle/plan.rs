//! Deciding at start what the index needs: nothing, a first build, a rebuild next to the live
//! index (changed config, forced, migration of an older indexer's index), going on with the
//! rebuild in the state file, or a rollback; and which earlier indexes to keep. Facts in,
//! decision out: no I/O here.

use crate::load::{index_name, IndexInfo, Live};
use crate::pipeline::error::SyncError;
use crate::state::{RebuildReason, State};

/// What the command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// `run`, `sync`, `reindex`: rebuild when the index config changed.
    Follow,
    /// `reindex --force`: rebuild even when it did not.
    Force,
    /// Changes were missed (a truncated table, a lost slot: the reason): rebuild, and a rebuild
    /// in progress starts over, since the pages it wrote before may hold rows that are gone.
    Restart(RebuildReason),
    /// `reindex --rollback`: back to the previous index.
    Rollback,
}

/// What the search server and the index config say.
pub(in crate::pipeline) struct Facts<'a> {
    pub alias: &'a str,
    pub live: &'a Live,
    /// Every index named like the alias or `<alias>_*`, and the live one.
    pub indexes: &'a [IndexInfo],
    pub wanted_hash: &'a str,
    /// The database is not the one the state file was written for.
    pub database_changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::pipeline) enum Step {
    /// The live index was built from the configured index config.
    UpToDate,
    /// The config differs, but its hash is pinned (rolled back from, or refused documents).
    Pinned,
    /// No index yet: create this one with the alias on it.
    CreateFirst { index: String },
    /// Build this new index next to the live one.
    Start {
        index: String,
        reason: RebuildReason,
    },
    /// Go on with the rebuild in the state file.
    Resume,
    /// The alias already moved to the rebuild's index (a crash came before the state was
    /// saved): only the bookkeeping is left.
    Swapped,
    /// Bring this earlier index up to date and move the alias back to it.
    RollBack { index: String, config_hash: String },
    /// A rollback asked for while a rebuild runs: the rebuild is given up, the alias stays.
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::pipeline) struct Decision {
    /// The index of a rebuild given up, to delete first.
    pub delete: Option<String>,
    pub step: Step,
}

impl Facts<'_> {
    fn has(&self, name: &str) -> bool {
        name == self.alias || self.indexes.iter().any(|index| index.name == name)
    }

    fn hash_of(&self, name: &str) -> Option<&str> {
        let info = self.indexes.iter().find(|index| index.name == name)?;
        info.meta.as_ref().map(|meta| meta.config_hash.as_str())
    }

    /// Built by pg2es for this alias (its `_meta` says so).
    fn is_ours(&self, name: &str) -> bool {
        self.indexes
            .iter()
            .find(|index| index.name == name)
            .and_then(|index| index.meta.as_ref())
            .is_some_and(|meta| meta.alias == self.alias)
    }

    fn fresh_name(&self) -> String {
        index_name(self.alias, self.wanted_hash, |name| self.has(name))
    }
}

pub(in crate::pipeline) fn decide(
    facts: &Facts,
    state: &State,
    request: Request,
) -> Result<Decision, SyncError> {
    let live = match facts.live {
        Live::Alias(indexes) if indexes.len() > 1 => {
            return Err(SyncError::SeveralIndexes {
                alias: facts.alias.to_owned(),
                indexes: indexes.clone(),
            })
        }
        Live::Alias(indexes) => indexes.first().map(String::as_str),
        Live::Missing | Live::Concrete => None,
    };
    if facts.database_changed {
        return Ok(start_over(
            facts,
            state,
            live,
            RebuildReason::DatabaseChanged,
        ));
    }
    if let Some(live) = live.filter(|live| untrusted(facts, state, live)) {
        // Unless the rebuild in progress is what moved it there.
        if state.rebuild.as_ref().map(|r| r.index.as_str()) != Some(live) {
            return Ok(start_over(
                facts,
                state,
                Some(live),
                RebuildReason::AliasMoved,
            ));
        }
    }
    let mut delete = None;
    if let Some(rebuild) = &state.rebuild {
        if Some(rebuild.index.as_str()) == live {
            return Ok(decision(None, Step::Swapped));
        }
        let exists = facts.has(&rebuild.index);
        let rolling_back = rebuild.reason == RebuildReason::Rollback;
        let same_config = rebuild.config_hash == facts.wanted_hash;
        let restart = matches!(request, Request::Restart(_));
        if exists && restart && rolling_back {
            // Filled again from the start: only what differs is written, rows gone deleted.
            let step = Step::RollBack {
                index: rebuild.index.clone(),
                config_hash: rebuild.config_hash.clone(),
            };
            return Ok(decision(None, step));
        }
        let resumable = request != Request::Rollback && !restart && same_config;
        if exists && (rolling_back || resumable) {
            return Ok(decision(None, Step::Resume));
        }
        // An earlier index being rolled back to is kept; a new one half built is not.
        if exists && !rolling_back {
            delete = Some(rebuild.index.clone());
        }
        if request == Request::Rollback && !rolling_back && live.is_some() {
            return Ok(decision(delete, Step::Cancel));
        }
    }
    let step = match (facts.live, live) {
        (Live::Alias(_), Some(live)) => next_step(facts, state, live, request, delete.as_deref())?,
        _ if request == Request::Rollback => return Err(nothing_to_roll_back(facts)),
        (Live::Concrete, _) => Step::Start {
            index: facts.fresh_name(),
            reason: RebuildReason::Migration,
        },
        _ => Step::CreateFirst {
            index: facts.fresh_name(),
        },
    };
    Ok(decision(delete, step))
}

fn decision(delete: Option<String>, step: Step) -> Decision {
    Decision { delete, step }
}

/// The alias is on an index pg2es did not build for it, or not on the one pg2es left it on.
pub(in crate::pipeline) fn untrusted(facts: &Facts, state: &State, live: &str) -> bool {
    let moved = state.live_index.as_deref().is_some_and(|ours| ours != live);
    moved || !facts.is_ours(live)
}

/// What the live index holds cannot be trusted: a new index is built from scratch behind the
/// alias (any rebuild in progress given up), or the first one when nothing answers.
fn start_over(facts: &Facts, state: &State, live: Option<&str>, reason: RebuildReason) -> Decision {
    let delete = state
        .rebuild
        .as_ref()
        .filter(|r| r.reason != RebuildReason::Rollback && Some(r.index.as_str()) != live)
        .filter(|r| facts.has(&r.index))
        .map(|r| r.index.clone());
    let step = match facts.live {
        Live::Missing => Step::CreateFirst {
            index: facts.fresh_name(),
        },
        Live::Concrete => Step::Start {
            index: facts.fresh_name(),
            reason: RebuildReason::Migration,
        },
        Live::Alias(_) => Step::Start {
            index: facts.fresh_name(),
            reason,
        },
    };
    decision(delete, step)
}

/// With the alias on `live`.
fn next_step(
    facts: &Facts,
    state: &State,
    live: &str,
    request: Request,
    deleted: Option<&str>,
) -> Result<Step, SyncError> {
    let built_from_wanted = facts.hash_of(live) == Some(facts.wanted_hash);
    let pinned = state.pinned_config.as_deref() == Some(facts.wanted_hash);
    Ok(match request {
        Request::Follow if built_from_wanted => Step::UpToDate,
        Request::Follow if pinned => Step::Pinned,
        Request::Follow | Request::Force | Request::Restart(_) => Step::Start {
            index: facts.fresh_name(),
            reason: match (built_from_wanted, request) {
                (false, _) => RebuildReason::ConfigChanged,
                (true, Request::Restart(cause)) => cause,
                (true, _) => RebuildReason::Forced,
            },
        },
        Request::Rollback => {
            let live_hash = facts.hash_of(live);
            let previous = earlier_indexes(facts, live, deleted)
                .into_iter()
                .find(|index| Some(index.config_hash.as_str()) != live_hash)
                .ok_or_else(|| nothing_to_roll_back(facts))?;
            Step::RollBack {
                index: previous.name,
                config_hash: previous.config_hash,
            }
        }
    })
}

fn nothing_to_roll_back(facts: &Facts) -> SyncError {
    SyncError::NothingToRollBack {
        alias: facts.alias.to_owned(),
    }
}

/// An index pg2es built for this alias earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::pipeline) struct Earlier {
    pub name: String,
    pub config_hash: String,
}

/// pg2es's indexes for this alias other than `live` (and `building`), newest first.
pub(in crate::pipeline) fn earlier_indexes(
    facts: &Facts,
    live: &str,
    building: Option<&str>,
) -> Vec<Earlier> {
    let mut ours: Vec<_> = facts
        .indexes
        .iter()
        .filter(|index| index.name != live && Some(index.name.as_str()) != building)
        .filter_map(|index| Some((index.name.clone(), index.meta.clone()?)))
        .filter(|(_, meta)| meta.alias == facts.alias)
        .collect();
    ours.sort_by(|a, b| b.1.built_at.cmp(&a.1.built_at).then(b.0.cmp(&a.0)));
    ours.into_iter()
        .map(|(name, meta)| Earlier {
            name,
            config_hash: meta.config_hash,
        })
        .collect()
}

/// The earlier indexes to drop once the alias is on `live`. Kept: the newest `keep` built
/// from another config (rollback targets), and, unless `keep` is 0, the newest built from the
/// live index's own config (the one a forced rebuild just replaced, which searches that
/// started before the swap may still be reading). Indexes pg2es did not build stay.
pub(in crate::pipeline) fn to_drop(facts: &Facts, live: &str, keep: u32) -> Vec<String> {
    let live_hash = facts.hash_of(live);
    let (same_config, other): (Vec<_>, Vec<_>) = earlier_indexes(facts, live, None)
        .into_iter()
        .partition(|index| Some(index.config_hash.as_str()) == live_hash);
    let spared = usize::from(keep > 0);
    same_config
        .into_iter()
        .skip(spared)
        .chain(other.into_iter().skip(keep as usize))
        .map(|index| index.name)
        .collect()
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

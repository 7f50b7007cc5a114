use chrono::{DateTime, Utc};

use super::*;
use crate::load::IndexMeta;
use crate::state::{Backfill, Rebuild};

const WANTED: &str = "bbbbbbbbbbbbbbbb";
const OLD: &str = "aaaaaaaaaaaaaaaa";

fn at(second: u32) -> DateTime<Utc> {
    format!("2024-01-01T00:00:{second:02}Z").parse().unwrap()
}

fn ours(name: &str, hash: &str, built: u32) -> IndexInfo {
    IndexInfo {
        name: name.into(),
        meta: Some(IndexMeta {
            alias: "m".into(),
            config_hash: hash.into(),
            built_at: at(built),
        }),
    }
}

fn alias_on(index: &str) -> Live {
    Live::Alias(vec![index.into()])
}

fn rebuilding(index: &str, hash: &str, reason: RebuildReason) -> State {
    let mut state = State::new("movies", "m");
    state.rebuild = Some(Rebuild {
        index: index.into(),
        config_hash: hash.into(),
        reason,
        backfill: Backfill::default(),
        extras_done: false,
        dead_lettered: 0,
    });
    state
}

fn decide_with(
    live: &Live,
    indexes: &[IndexInfo],
    state: &State,
    request: Request,
) -> Result<Decision, SyncError> {
    let facts = Facts {
        alias: "m",
        live,
        indexes,
        wanted_hash: WANTED,
        database_changed: false,
    };
    decide(&facts, state, request)
}

fn step(live: &Live, indexes: &[IndexInfo], state: &State, request: Request) -> Step {
    let decision = decide_with(live, indexes, state, request).unwrap();
    assert_eq!(decision.delete, None, "{decision:?}");
    decision.step
}

fn fresh() -> State {
    State::new("movies", "m")
}

#[test]
fn nothing_there_is_a_first_build_named_by_the_hash() {
    assert_eq!(
        step(&Live::Missing, &[], &fresh(), Request::Follow),
        Step::CreateFirst {
            index: "m_bbbbbbbbbbbb".into()
        }
    );
}

#[test]
fn an_index_built_from_the_config_needs_nothing_and_a_changed_config_a_rebuild() {
    let indexes = [ours("m_1", WANTED, 1)];
    assert_eq!(
        step(&alias_on("m_1"), &indexes, &fresh(), Request::Follow),
        Step::UpToDate
    );
    let indexes = [ours("m_1", OLD, 1)];
    assert_eq!(
        step(&alias_on("m_1"), &indexes, &fresh(), Request::Follow),
        Step::Start {
            index: "m_bbbbbbbbbbbb".into(),
            reason: RebuildReason::ConfigChanged
        }
    );
}

#[test]
fn a_forced_rebuild_of_the_same_config_gets_a_name_of_its_own() {
    let indexes = [ours("m_bbbbbbbbbbbb", WANTED, 1)];
    assert_eq!(
        step(
            &alias_on("m_bbbbbbbbbbbb"),
            &indexes,
            &fresh(),
            Request::Force
        ),
        Step::Start {
            index: "m_bbbbbbbbbbbb_2".into(),
            reason: RebuildReason::Forced
        }
    );
}

#[test]
fn a_concrete_index_named_like_the_alias_is_migrated() {
    let indexes = [IndexInfo {
        name: "m".into(),
        meta: None,
    }];
    assert_eq!(
        step(&Live::Concrete, &indexes, &fresh(), Request::Follow),
        Step::Start {
            index: "m_bbbbbbbbbbbb".into(),
            reason: RebuildReason::Migration
        }
    );
}

#[test]
fn a_rebuild_in_the_state_file_goes_on_while_its_config_is_wanted() {
    let indexes = [ours("m_1", OLD, 1), ours("m_2", WANTED, 2)];
    let state = rebuilding("m_2", WANTED, RebuildReason::ConfigChanged);
    assert_eq!(
        step(&alias_on("m_1"), &indexes, &state, Request::Follow),
        Step::Resume
    );
    assert_eq!(
        step(&alias_on("m_1"), &indexes, &state, Request::Force),
        Step::Resume
    );
    // Its index is gone: started again under a free name.
    let state = rebuilding("m_9", WANTED, RebuildReason::ConfigChanged);
    assert!(matches!(
        step(&alias_on("m_1"), &indexes, &state, Request::Follow),
        Step::Start { .. }
    ));
}

#[test]
fn missed_changes_start_a_rebuild_in_progress_over_under_a_new_name() {
    let indexes = [ours("m_1", OLD, 1), ours("m_bbbbbbbbbbbb", WANTED, 2)];
    let state = rebuilding("m_bbbbbbbbbbbb", WANTED, RebuildReason::ConfigChanged);
    let decision = decide_with(
        &alias_on("m_1"),
        &indexes,
        &state,
        Request::Restart(RebuildReason::Truncated),
    )
    .unwrap();
    assert_eq!(
        decision,
        Decision {
            delete: Some("m_bbbbbbbbbbbb".into()),
            step: Step::Start {
                index: "m_bbbbbbbbbbbb_2".into(),
                reason: RebuildReason::ConfigChanged
            }
        }
    );
    // With none in progress: a rebuild of the same config, named for what was missed.
    let indexes = [ours("m_1", WANTED, 1)];
    for cause in [RebuildReason::Truncated, RebuildReason::SlotLost] {
        assert_eq!(
            step(
                &alias_on("m_1"),
                &indexes,
                &fresh(),
                Request::Restart(cause)
            ),
            Step::Start {
                index: "m_bbbbbbbbbbbb".into(),
                reason: cause
            }
        );
    }
}

#[test]
fn missed_changes_during_a_rollback_fill_the_earlier_index_again() {
    let indexes = [ours("m_1", OLD, 1), ours("m_2", WANTED, 2)];
    let state = rebuilding("m_1", OLD, RebuildReason::Rollback);
    assert_eq!(
        step(
            &alias_on("m_2"),
            &indexes,
            &state,
            Request::Restart(RebuildReason::Truncated)
        ),
        Step::RollBack {
            index: "m_1".into(),
            config_hash: OLD.into()
        }
    );
}

#[test]
fn a_rebuild_for_a_config_no_longer_wanted_is_dropped_with_its_index() {
    let third = "cccccccccccccccc";
    let indexes = [ours("m_1", OLD, 1), ours("m_2", third, 2)];
    let state = rebuilding("m_2", third, RebuildReason::ConfigChanged);
    let decision = decide_with(&alias_on("m_1"), &indexes, &state, Request::Follow).unwrap();
    assert_eq!(decision.delete.as_deref(), Some("m_2"));
    assert!(matches!(decision.step, Step::Start { .. }), "{decision:?}");
}

#[test]
fn a_crash_after_the_swap_leaves_only_bookkeeping() {
    let indexes = [ours("m_1", OLD, 1), ours("m_2", WANTED, 2)];
    let state = rebuilding("m_2", WANTED, RebuildReason::ConfigChanged);
    assert_eq!(
        step(&alias_on("m_2"), &indexes, &state, Request::Follow),
        Step::Swapped
    );
}

#[test]
fn rollback_picks_the_newest_earlier_index_of_another_config() {
    let indexes = [
        ours("m_0", "0000000000000000", 0),
        ours("m_1", OLD, 1),
        ours("m_2", WANTED, 2),
        ours("m_3", WANTED, 3),
    ];
    assert_eq!(
        step(&alias_on("m_3"), &indexes, &fresh(), Request::Rollback),
        Step::RollBack {
            index: "m_1".into(),
            config_hash: OLD.into()
        }
    );
}

#[test]
fn rollback_without_an_earlier_index_is_refused() {
    let indexes = [ours("m_1", WANTED, 1), ours("m_2", WANTED, 2)];
    for (live, indexes) in [
        (alias_on("m_2"), &indexes[..]),
        (Live::Missing, &[][..]),
        (Live::Concrete, &[][..]),
    ] {
        let err = decide_with(&live, indexes, &fresh(), Request::Rollback).unwrap_err();
        assert!(err.to_string().contains("nothing to roll back"), "{err}");
    }
}

#[test]
fn rollback_during_a_rebuild_cancels_it_and_a_running_rollback_goes_on() {
    let indexes = [ours("m_1", OLD, 1), ours("m_2", WANTED, 2)];
    let state = rebuilding("m_2", WANTED, RebuildReason::ConfigChanged);
    let decision = decide_with(&alias_on("m_1"), &indexes, &state, Request::Rollback).unwrap();
    assert_eq!(
        decision,
        Decision {
            delete: Some("m_2".into()),
            step: Step::Cancel
        }
    );
    let state = rebuilding("m_1", OLD, RebuildReason::Rollback);
    for request in [Request::Follow, Request::Rollback] {
        assert_eq!(
            step(&alias_on("m_2"), &indexes, &state, request),
            Step::Resume
        );
    }
}

#[test]
fn a_pinned_config_is_not_rebuilt_until_forced() {
    let indexes = [ours("m_1", OLD, 1)];
    let mut state = fresh();
    state.pinned_config = Some(WANTED.into());
    assert_eq!(
        step(&alias_on("m_1"), &indexes, &state, Request::Follow),
        Step::Pinned
    );
    assert!(matches!(
        step(&alias_on("m_1"), &indexes, &state, Request::Force),
        Step::Start { .. }
    ));
}

#[test]
fn an_alias_on_several_indexes_is_refused() {
    let live = Live::Alias(vec!["m_1".into(), "m_2".into()]);
    let err = decide_with(&live, &[], &fresh(), Request::Follow).unwrap_err();
    assert!(err.to_string().contains("m_1, m_2"), "{err}");
}

#[test]
fn rollback_targets_and_the_index_just_left_are_kept_and_foreign_ones_left_alone() {
    let mut foreign = ours("m_x", OLD, 9);
    foreign.meta.as_mut().unwrap().alias = "m_other".into();
    let indexes = [
        ours("m_0", WANTED, 0),
        ours("m_1", OLD, 1),
        ours("m_2", OLD, 2),
        ours("m_3", WANTED, 3),
        ours("m_4", WANTED, 4),
        foreign,
        IndexInfo {
            name: "m_manual".into(),
            meta: None,
        },
    ];
    let facts = Facts {
        alias: "m",
        live: &alias_on("m_4"),
        indexes: &indexes,
        wanted_hash: WANTED,
        database_changed: false,
    };
    // m_2 for a rollback, m_3 in case a search still reads it; m_0 is no use.
    assert_eq!(to_drop(&facts, "m_4", 1), ["m_0", "m_1"]);
    assert_eq!(to_drop(&facts, "m_4", 0), ["m_3", "m_0", "m_2", "m_1"]);
    assert_eq!(to_drop(&facts, "m_4", 5), ["m_0"]);
}

#[test]
fn an_alias_found_on_an_index_pg2es_did_not_leave_it_on_is_rebuilt_behind() {
    let indexes = [ours("m_1", WANTED, 1), ours("m_2", WANTED, 2)];
    let mut state = fresh();
    state.live_index = Some("m_2".into());
    assert_eq!(
        step(&alias_on("m_2"), &indexes, &state, Request::Follow),
        Step::UpToDate
    );
    assert_eq!(
        step(&alias_on("m_1"), &indexes, &state, Request::Follow),
        Step::Start {
            index: "m_bbbbbbbbbbbb".into(),
            reason: RebuildReason::AliasMoved
        }
    );
}

#[test]
fn an_alias_on_an_index_without_pg2es_meta_is_rebuilt_behind() {
    let foreign = IndexInfo {
        name: "m_manual".into(),
        meta: None,
    };
    let other_alias = IndexInfo {
        name: "m_other".into(),
        meta: Some(IndexMeta {
            alias: "other".into(),
            config_hash: WANTED.into(),
            built_at: at(1),
        }),
    };
    for live in [foreign, other_alias] {
        let name = live.name.clone();
        let step = step(&alias_on(&name), &[live], &fresh(), Request::Follow);
        assert!(
            matches!(
                step,
                Step::Start {
                    reason: RebuildReason::AliasMoved,
                    ..
                }
            ),
            "{name}: {step:?}"
        );
    }
}

#[test]
fn the_rebuild_that_moved_the_alias_is_not_taken_for_a_hand_move() {
    let indexes = [ours("m_1", OLD, 1), ours("m_2", WANTED, 2)];
    let mut state = rebuilding("m_2", WANTED, RebuildReason::ConfigChanged);
    state.live_index = Some("m_1".into());
    assert_eq!(
        step(&alias_on("m_2"), &indexes, &state, Request::Follow),
        Step::Swapped
    );
}

#[test]
fn another_database_gives_up_the_rebuild_in_progress_and_starts_over() {
    let indexes = [ours("m_1", WANTED, 1), ours("m_2", WANTED, 2)];
    let mut state = rebuilding("m_2", WANTED, RebuildReason::Forced);
    state.live_index = Some("m_1".into());
    let facts = Facts {
        alias: "m",
        live: &alias_on("m_1"),
        indexes: &indexes,
        wanted_hash: WANTED,
        database_changed: true,
    };
    let decision = decide(&facts, &state, Request::Follow).unwrap();
    assert_eq!(decision.delete.as_deref(), Some("m_2"));
    assert!(
        matches!(
            decision.step,
            Step::Start {
                reason: RebuildReason::DatabaseChanged,
                ..
            }
        ),
        "{decision:?}"
    );
    let facts = Facts {
        live: &Live::Missing,
        indexes: &[],
        ..facts
    };
    let decision = decide(&facts, &fresh(), Request::Follow).unwrap();
    assert!(
        matches!(decision.step, Step::CreateFirst { .. }),
        "{decision:?}"
    );
}

//! The build stage every write path shares: units of root ids built into documents
//! `READ_AHEAD` at a time, each in a task of its own, handed on in order. A unit's mark (a
//! back-fill position, a cursor, changes to forget) is acted on once it and everything before
//! it were acknowledged.

use futures_util::{Stream, StreamExt};

use crate::pipeline::error::SyncError;
use crate::pipeline::stages::source::Source;
use crate::pipeline::stages::spawned::Spawned;
use crate::transform::{Action, Key};

/// Units read and built ahead of the bulk requests.
const READ_AHEAD: usize = 2;

/// Root ids to index, and what is true once they are acknowledged.
pub(in crate::pipeline) struct Unit<M> {
    pub ids: Vec<Key>,
    pub mark: Option<M>,
}

/// The documents of one unit.
pub(in crate::pipeline) struct Built<M> {
    pub actions: Vec<Action>,
    pub mark: Option<M>,
}

/// Builds each unit's documents in its own task, `READ_AHEAD` at a time, in order.
pub(in crate::pipeline) fn built<S: Source, M: Send + 'static>(
    source: S,
    units: impl Stream<Item = Result<Unit<M>, SyncError>>,
) -> impl Stream<Item = Result<Built<M>, SyncError>> {
    units
        .map(move |unit| {
            let source = source.clone();
            Spawned::new(async move {
                let unit = unit?;
                let actions = match unit.ids.is_empty() {
                    true => Vec::new(),
                    false => source.actions(&unit.ids).await?,
                };
                Ok(Built {
                    actions,
                    mark: unit.mark,
                })
            })
        })
        .buffered(READ_AHEAD)
        .map(|joined| joined.and_then(|built| built))
}

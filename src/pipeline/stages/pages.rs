//! Pages of root keys in key order, read one after the other from a [`RootKeys`] source: the
//! back-fill, the rebuild's slices, `export` and `verify` all walk the root table this way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::Stream;

use crate::pipeline::error::SyncError;
use crate::pipeline::stages::source::RootKeys;
use crate::transform::Key;

/// Where the page source stops: at the end of the table, or at a deadline.
pub(in crate::pipeline) struct Stop {
    until: Option<Instant>,
    reached_end: Arc<AtomicBool>,
}

impl Stop {
    /// At the end of the table only.
    pub fn at_the_end() -> Self {
        Self {
            until: None,
            reached_end: Arc::new(AtomicBool::new(false)),
        }
    }

    /// At the end of the table, or once `until` (if any) has passed: no page is started then.
    pub fn at(until: Option<Instant>) -> Self {
        Self {
            until,
            ..Self::at_the_end()
        }
    }

    /// Set once the pages reached the end of the table.
    pub fn reached_end(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.reached_end)
    }
}

/// Pages of root ids in key order, each page read after the previous one, none started
/// after `stop.until`.
pub(in crate::pipeline) fn root_pages<S: RootKeys>(
    source: S,
    after: Option<Key>,
    batch_size: u32,
    stop: Stop,
) -> impl Stream<Item = Result<Vec<Key>, SyncError>> {
    futures_util::stream::try_unfold(Some(after), move |next| {
        let source = source.clone();
        let reached_end = Arc::clone(&stop.reached_end);
        let until = stop.until;
        async move {
            let Some(after) = next else {
                reached_end.store(true, Ordering::SeqCst);
                return Ok(None);
            };
            if until.is_some_and(|until| Instant::now() >= until) {
                return Ok(None);
            }
            let ids = source.root_keys(after.as_ref(), batch_size).await?;
            let Some(last) = ids.last().cloned() else {
                reached_end.store(true, Ordering::SeqCst);
                return Ok(None);
            };
            let more = ids.len() == batch_size as usize;
            Ok(Some((ids, more.then_some(Some(last)))))
        }
    })
}

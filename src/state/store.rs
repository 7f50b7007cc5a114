//! The state store contract: where the engine keeps its positions. [`StateFile`] keeps them
//! in the YAML state file; the engine's unit tests use [`MemoryStore`], which remembers every
//! state stored, in order.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use super::{State, StateError};

/// Where a pipeline's state is kept. Contract:
/// - `store` replaces the whole state **atomically**: after a crash at any point the store
///   holds what one call stored, never a mix of two, and what it returned `Ok` for survives;
/// - the engine stores a position only once the documents before it were acknowledged by the
///   sink, so a stored cursor never passes an unacknowledged page (each stage's tests check
///   that side).
pub(crate) trait StateStore: Send + Sync {
    fn store<'a>(
        &'a self,
        state: &'a State,
    ) -> Pin<Box<dyn Future<Output = Result<(), StateError>> + Send + 'a>>;

    /// Where it lives, for messages.
    fn describe(&self) -> String;
}

/// The state file: written to a temporary file, fsynced and renamed over the old one, off the
/// runtime's threads (see [`super::store`]).
pub(crate) struct StateFile {
    pub path: PathBuf,
}

impl StateStore for StateFile {
    fn store<'a>(
        &'a self,
        state: &'a State,
    ) -> Pin<Box<dyn Future<Output = Result<(), StateError>> + Send + 'a>> {
        Box::pin(super::store(&self.path, state))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// Every state stored, in memory (unit tests).
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct MemoryStore {
    stored: std::sync::Arc<std::sync::Mutex<Vec<State>>>,
}

#[cfg(test)]
impl MemoryStore {
    /// The states stored so far, oldest first.
    pub fn stored(&self) -> Vec<State> {
        self.stored.lock().expect("the memory store").clone()
    }
}

#[cfg(test)]
impl StateStore for MemoryStore {
    fn store<'a>(
        &'a self,
        state: &'a State,
    ) -> Pin<Box<dyn Future<Output = Result<(), StateError>> + Send + 'a>> {
        let stored = self.stored.clone();
        let state = state.clone();
        Box::pin(async move {
            stored.lock().expect("the memory store").push(state);
            Ok(())
        })
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

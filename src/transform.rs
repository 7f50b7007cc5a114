//! What the transform stage hands to the load stage: documents keyed by their primary key.
//!
//! Building documents from rows is pipeline knowledge (see [`crate::movies`]); the engine only
//! needs the id and the serialized JSON body.

use bytes::Bytes;
use uuid::Uuid;

/// One search document, already serialized; `_id` is the Postgres primary key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    pub id: Uuid,
    pub body: Bytes,
}

/// A write the index must receive.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Index(Document),
    /// The root row no longer exists in Postgres.
    Delete(Uuid),
}

impl Action {
    pub fn id(&self) -> Uuid {
        match self {
            Action::Index(document) => document.id,
            Action::Delete(id) => *id,
        }
    }
}

/// Index actions for the documents that were built, delete actions for the requested ids that
/// produced none (their root row is gone).
pub(crate) fn actions_for(requested: &[Uuid], documents: Vec<Document>) -> Vec<Action> {
    let built: std::collections::HashSet<Uuid> = documents.iter().map(|doc| doc.id).collect();
    let mut actions: Vec<Action> = documents.into_iter().map(Action::Index).collect();
    let mut seen = std::collections::HashSet::new();
    for id in requested {
        if !built.contains(id) && seen.insert(*id) {
            actions.push(Action::Delete(*id));
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_without_document_become_deletes() {
        let kept = Document {
            id: Uuid::from_u128(1),
            body: Bytes::from_static(b"{}"),
        };
        let requested = [Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(2)];
        let actions = actions_for(&requested, vec![kept.clone()]);
        assert_eq!(
            actions,
            vec![Action::Index(kept), Action::Delete(Uuid::from_u128(2))]
        );
    }
}

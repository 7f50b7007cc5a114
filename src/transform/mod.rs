//! What the transform stage hands to the load stage: documents keyed by their primary key.
//!
//! Building documents from rows is the pipeline declaration's business (see [`crate::declaration`]); the engine only
//! needs the id and the serialized JSON body.

mod exact;
mod version;

use std::fmt;

pub(crate) use exact::same_json;
pub(crate) use version::Version;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A root row's primary key as Postgres prints it (`uuid`, `bigint` and `text` keys alike); it
/// is the document's `_id`, and SQL casts it back to the key's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Key(String);

impl Key {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Key {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl From<String> for Key {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One search document, already serialized; `_id` is the Postgres primary key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    pub id: Key,
    pub body: Bytes,
    /// The snapshot it was built from ([`Version`]); `None` where no snapshot stands behind
    /// it (an export, a test).
    pub version: Option<Version>,
}

/// A write the index must receive.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Index(Document),
    /// The root row no longer exists in Postgres, as of the snapshot of that version.
    Delete(Key, Option<Version>),
}

impl Action {
    pub fn id(&self) -> &Key {
        match self {
            Action::Index(document) => &document.id,
            Action::Delete(id, _) => id,
        }
    }

    pub fn version(&self) -> Option<Version> {
        match self {
            Action::Index(document) => document.version,
            Action::Delete(_, version) => *version,
        }
    }
}

/// Index actions for the documents that were built, delete actions for the requested ids that
/// produced none (their root row is gone), each carrying `version`, that of the snapshot the
/// documents' statements started from.
pub(crate) fn actions_for(
    requested: &[Key],
    documents: Vec<Document>,
    version: Option<Version>,
) -> Vec<Action> {
    let built: std::collections::HashSet<&str> =
        documents.iter().map(|doc| doc.id.as_str()).collect();
    let mut deletes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in requested {
        if !built.contains(id.as_str()) && seen.insert(id.as_str()) {
            deletes.push(Action::Delete(id.clone(), version));
        }
    }
    let mut actions: Vec<Action> = documents
        .into_iter()
        .map(|document| {
            Action::Index(Document {
                version,
                ..document
            })
        })
        .collect();
    actions.extend(deletes);
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_without_document_become_deletes() {
        let built = Document {
            id: Key::from("1"),
            body: Bytes::from_static(b"{}"),
            version: None,
        };
        let requested = [Key::from("1"), Key::from("2"), Key::from("2")];
        let version = Some(Version::from_raw(7));
        let actions = actions_for(&requested, vec![built.clone()], version);
        let kept = Document { version, ..built };
        assert_eq!(
            actions,
            vec![Action::Index(kept), Action::Delete(Key::from("2"), version)]
        );
    }
}

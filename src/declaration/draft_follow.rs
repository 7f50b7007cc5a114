//! What `pg2es init` was asked to follow: `--depth`, `--include` and `--exclude`, checked
//! against the catalogue's tables.

use super::draft_catalogue::Catalogue;
use super::draft_model::{DraftError, MAX_DEPTH};

/// What `init` was asked to follow: how many hops, and which tables (`SCHEMA.TABLE` or
/// `SCHEMA.*`; an empty `include` follows every table).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Follow {
    pub depth: u32,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Follow {
    /// Why a relation to `relation` is not followed, if it is not.
    pub(crate) fn refuses(&self, relation: &str) -> Option<&'static str> {
        if self.excludes(relation) {
            return Some("left out by --exclude");
        }
        let matches = |pattern: &String| matches(pattern, relation);
        if !self.include.is_empty() && !self.include.iter().any(matches) {
            return Some("not among --include");
        }
        None
    }

    /// Whether `--exclude` names `relation`.
    pub(crate) fn excludes(&self, relation: &str) -> bool {
        self.exclude
            .iter()
            .any(|pattern| matches(pattern, relation))
    }

    /// The depth and each pattern checked against the database's tables.
    pub(crate) fn check(&self, catalogue: &Catalogue) -> Result<(), DraftError> {
        if !(1..=MAX_DEPTH).contains(&self.depth) {
            return Err(DraftError::Depth(self.depth));
        }
        let flags = [("include", &self.include), ("exclude", &self.exclude)];
        for (flag, patterns) in flags {
            for pattern in patterns {
                if !catalogue.names.iter().any(|name| matches(pattern, name)) {
                    let pattern = pattern.clone();
                    return Err(DraftError::NoMatch { flag, pattern });
                }
            }
        }
        Ok(())
    }
}

/// `schema.table` names one table, `schema.*` every table of a schema.
pub(crate) fn matches(pattern: &str, relation: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(schema) => relation
            .strip_prefix(schema)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == relation,
    }
}

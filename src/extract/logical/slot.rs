//! The name of a pipeline's slot and publication: one no other pipeline and alias can have.

/// The slot and the publication of one pipeline and alias (both named alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    pub name: String,
    /// The name earlier releases gave it, when that differs (it could be another pipeline's).
    pub legacy: Option<String>,
}

/// Postgres cuts identifiers, slot names included, at this many bytes.
const MAX_NAME_BYTES: usize = 63;

impl Slot {
    /// A name no other pipeline and alias can have, of at most 63 bytes of `[a-z0-9_]`.
    /// `pg2es_<pipeline>_<alias>` when that says which pipeline and alias it is (a pipeline
    /// name without `_`, an alias of `[a-z0-9_]`, 63 bytes at most: the name earlier
    /// releases gave); otherwise `pg2es__<hash of both>_<both, cut to fit>`, which no name
    /// of the first form can equal (a pipeline name is never empty).
    pub fn of(pipeline: &str, alias: &str) -> Self {
        let legacy = legacy_name(pipeline, alias);
        let plain = !pipeline.contains('_')
            && pipeline
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && alias
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && format!("pg2es_{pipeline}_{alias}").len() <= MAX_NAME_BYTES;
        if plain {
            return Self {
                name: legacy,
                legacy: None,
            };
        }
        let hash = fnv1a(format!("{pipeline}\0{alias}").as_bytes());
        let mut name = format!(
            "pg2es__{hash:016x}_{}",
            sanitized(&format!("{pipeline}_{alias}"))
        );
        name.truncate(MAX_NAME_BYTES);
        Self {
            name,
            legacy: Some(legacy),
        }
    }
}

/// Lowercase, every other character `_` (all ASCII, so any cut is on a character).
fn sanitized(text: &str) -> String {
    text.chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_lowercase(),
            false => '_',
        })
        .collect()
}

/// The name earlier releases gave: `pg2es_<pipeline>_<alias>` sanitized and cut, which
/// two pipelines could share (`a_b`+`c` and `a`+`b_c`).
fn legacy_name(pipeline: &str, alias: &str) -> String {
    let mut name = sanitized(&format!("pg2es_{pipeline}_{alias}"));
    name.truncate(MAX_NAME_BYTES);
    name
}

/// FNV-1a, 64 bits: stable across releases and platforms (std's hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_name_is_what_postgres_accepts() {
        assert_eq!(
            Slot::of("movies", "staging-Movies").name,
            "pg2es__a0511b7f504a0d25_movies_staging_movies"
        );
        for (pipeline, alias) in [
            ("p", "x".repeat(100).as_str()),
            ("order_lines", "orders-v2.eu+x"),
            ("movies", "movies"),
        ] {
            let name = Slot::of(pipeline, alias).name;
            assert!(name.len() <= 63, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn slot_names_of_different_pipelines_or_aliases_differ() {
        let long = "x".repeat(100);
        let pairs = [
            ("a_b", "c"),
            ("a", "b_c"),
            ("a", "b-c"),
            ("a", "b.c"),
            ("p", long.as_str()),
            ("p", &long[..99]),
            ("pp", &long[..98]),
        ];
        let names: std::collections::BTreeSet<String> =
            pairs.iter().map(|(p, a)| Slot::of(p, a).name).collect();
        assert_eq!(names.len(), pairs.len(), "{names:?}");
    }

    #[test]
    fn a_slot_name_that_was_unambiguous_is_kept() {
        assert_eq!(
            Slot::of("movies", "movies_v2").name,
            "pg2es_movies_movies_v2"
        );
        assert_eq!(Slot::of("movies", "movies_v2").legacy, None);
        let renamed = Slot::of("a_b", "c");
        assert_eq!(renamed.legacy.as_deref(), Some("pg2es_a_b_c"));
        assert!(renamed.name.starts_with("pg2es__"));
    }
}

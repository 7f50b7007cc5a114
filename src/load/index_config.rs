//! The index config (`index_config.json`): reading it, the stable hash that names the index it
//! builds, and the body of `PUT /<index>` with pg2es's record of what built the index.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::EsError;

/// Hex digits of the config hash that go into an index name.
const NAME_HASH_LEN: usize = 12;

/// What pg2es records in the mapping `_meta` of every index it creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IndexMeta {
    /// The alias the index was built for.
    pub alias: String,
    /// [`config_hash`] of the index config that built it.
    pub config_hash: String,
    pub built_at: DateTime<Utc>,
}

/// Reads the index settings and mappings, refusing anything that is not a JSON object.
pub(crate) fn read_index_config(path: &Path) -> Result<Value, EsError> {
    let invalid = |reason: String| EsError::IndexConfig {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|err| invalid(err.to_string()))?;
    let value: Value = serde_json::from_str(&text).map_err(|err| invalid(err.to_string()))?;
    if !value.is_object() {
        return Err(invalid(
            "expected a JSON object with settings and mappings".into(),
        ));
    }
    Ok(value)
}

/// A hash of the config's meaning, not its text: keys are sorted and whitespace is dropped, so
/// reformatting the file or reordering keys builds no new index. FNV-1a 64, as 16 hex digits.
pub(crate) fn config_hash(config: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(config, &mut canonical);
    format!("{:016x}", fnv1a_64(canonical.as_bytes()))
}

/// `<alias>_<12 hex digits of the hash>`, or with `_2`, `_3`… when that name is `taken`.
pub(crate) fn index_name(alias: &str, config_hash: &str, taken: impl Fn(&str) -> bool) -> String {
    let short = &config_hash[..NAME_HASH_LEN.min(config_hash.len())];
    let base = format!("{alias}_{short}");
    if !taken(&base) {
        return base;
    }
    (2u32..)
        .map(|n| format!("{base}_{n}"))
        .find(|name| !taken(name))
        .expect("an unbounded range has a free name")
}

/// The body of `PUT /<index>`: the config with [`IndexMeta`] under `mappings._meta.pg2es`,
/// and the alias in `aliases` when the index is to answer for it at once.
pub(crate) fn index_body(config: &Value, meta: &IndexMeta, with_alias: bool) -> Value {
    let mut body = config.clone();
    let record = serde_json::to_value(meta).unwrap_or(Value::Null);
    set_path(&mut body, &["mappings", "_meta", "pg2es"], record);
    if with_alias {
        set_path(&mut body, &["aliases", &meta.alias], json!({}));
    }
    body
}

/// Reads [`IndexMeta`] from one index's mapping (`{"_meta": {"pg2es": …}, …}`).
pub(crate) fn meta_of(mappings: &Value) -> Option<IndexMeta> {
    serde_json::from_value(mappings["_meta"]["pg2es"].clone()).ok()
}

fn set_path(root: &mut Value, path: &[&str], value: Value) {
    let mut node = root;
    for key in &path[..path.len() - 1] {
        if !node[*key].is_object() {
            node[*key] = json!({});
        }
        node = &mut node[*key];
    }
    node[path[path.len() - 1]] = value;
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_hash_ignores_key_order_and_whitespace() {
        let one: Value = serde_json::from_str(
            r#"{"settings": {"a": 1, "b": [1, {"x": "y", "c": true}]}, "mappings": {}}"#,
        )
        .unwrap();
        let two: Value = serde_json::from_str(
            r#"{"mappings":{},"settings":{"b":[1,{"c":true,"x":"y"}],"a":1}}"#,
        )
        .unwrap();
        assert_eq!(config_hash(&one), config_hash(&two));
        assert_eq!(config_hash(&one).len(), 16);
    }

    #[test]
    fn the_shipped_index_config_hashes_as_before_pipelines_were_declared() {
        // Computed once outside this code (FNV-1a 64 of the canonical JSON, in Python): the hash
        // indexes built before pipelines were declared carry, which the movies pipeline adopts.
        let config: Value = serde_json::from_str(include_str!("../../index_config.json")).unwrap();
        assert_eq!(config_hash(&config), "fe32f4a23eab15b8");
    }

    #[test]
    fn the_hash_is_stable_across_releases() {
        // Changing it renames every index and rebuilds them all: only on purpose.
        let config =
            json!({"settings": {"refresh_interval": "1s"}, "mappings": {"dynamic": "strict"}});
        let mut canonical = String::new();
        write_canonical(&config, &mut canonical);
        assert_eq!(
            canonical,
            r#"{"mappings":{"dynamic":"strict"},"settings":{"refresh_interval":"1s"}}"#
        );
        // Pins FNV-1a 64 of the canonical text above, computed once outside this code (2026-11):
        // a change to the canonical form or to the hash function fails here.
        assert_eq!(config_hash(&config), "8453e5b499ac3cea");
    }

    #[test]
    fn any_change_of_meaning_changes_the_hash() {
        let base = json!({"settings": {"filter": ["lowercase", "stop"]}});
        for changed in [
            json!({"settings": {"filter": ["stop", "lowercase"]}}),
            json!({"settings": {"filter": ["lowercase"]}}),
            json!({"settings": {"filter": ["lowercase", "stop"]}, "mappings": {}}),
            json!({"settings": {"filter": "lowercase,stop"}}),
        ] {
            assert_ne!(config_hash(&base), config_hash(&changed), "{changed}");
        }
    }

    #[test]
    fn index_names_carry_the_hash_and_avoid_taken_ones() {
        let hash = "0123456789abcdef";
        assert_eq!(index_name("movies", hash, |_| false), "movies_0123456789ab");
        let taken = ["movies_0123456789ab", "movies_0123456789ab_2"];
        assert_eq!(
            index_name("movies", hash, |name| taken.contains(&name)),
            "movies_0123456789ab_3"
        );
    }

    #[test]
    fn the_body_records_what_built_the_index_and_keeps_the_config() {
        let config = json!({"settings": {"x": 1}, "mappings": {"_meta": {"owner": "me"}, "dynamic": "strict"}});
        let meta = IndexMeta {
            alias: "movies".into(),
            config_hash: "abc".into(),
            built_at: "2024-01-02T03:04:05Z".parse().unwrap(),
        };
        let body = index_body(&config, &meta, true);
        assert_eq!(body["settings"], config["settings"]);
        assert_eq!(body["mappings"]["dynamic"], "strict");
        assert_eq!(body["mappings"]["_meta"]["owner"], "me");
        assert_eq!(body["aliases"], json!({"movies": {}}));
        assert_eq!(meta_of(&body["mappings"]), Some(meta.clone()));
        let body = index_body(&json!({}), &meta, false);
        assert!(body.get("aliases").is_none());
        assert_eq!(meta_of(&body["mappings"]), Some(meta));
        assert_eq!(meta_of(&json!({"dynamic": "strict"})), None);
    }
}

//! The configuration reference in README.md must list every key of [`Config`], with its
//! environment variable, and nothing else: the table cannot drift from the code.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Config, ENV_PREFIX};

const README: &str = include_str!("../../README.md");

/// Every leaf key of the config as a dotted path (`sync.retry.max_delay`).
fn leaf_keys(value: &Value, prefix: &str, keys: &mut Vec<String>) {
    let Value::Object(map) = value else {
        keys.push(prefix.to_owned());
        return;
    };
    for (key, child) in map {
        let path = match (prefix, prefix.is_empty()) {
            // Pipelines are named by the user: one row stands for every name.
            ("pipelines", _) => "pipelines.NAME".to_owned(),
            (_, true) => key.clone(),
            (_, false) => format!("{prefix}.{key}"),
        };
        leaf_keys(child, &path, keys);
    }
    keys.sort();
    keys.dedup();
}

/// The rows of the README's reference table: `key` → the whole row.
fn readme_rows() -> BTreeMap<String, String> {
    README
        .lines()
        .filter_map(|line| {
            let key = line.strip_prefix("| `")?.split('`').next()?;
            Some((key.to_owned(), line.to_owned()))
        })
        .collect()
}

fn env_var(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "__").to_uppercase())
}

#[test]
fn every_config_key_is_in_the_readme_table_with_its_environment_variable() {
    let tree = serde_json::to_value(Config::default()).unwrap();
    let mut keys = Vec::new();
    leaf_keys(&tree, "", &mut keys);
    let rows = readme_rows();
    let mut problems = Vec::new();
    for key in &keys {
        match rows.get(key) {
            None => problems.push(format!("{key}: no row in the README table")),
            Some(row) if !row.contains(&format!("`{}`", env_var(key))) => {
                problems.push(format!("{key}: row does not name `{}`", env_var(key)))
            }
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(keys.len() > 20, "{keys:?}");
}

#[test]
fn the_readme_table_lists_no_key_that_does_not_exist() {
    let tree = serde_json::to_value(Config::default()).unwrap();
    let mut keys = Vec::new();
    leaf_keys(&tree, "", &mut keys);
    let unknown: Vec<String> = readme_rows()
        .into_keys()
        .filter(|key| key.contains('.') && !keys.contains(key))
        .collect();
    assert!(
        unknown.is_empty(),
        "README rows for unknown keys: {unknown:?}"
    );
}

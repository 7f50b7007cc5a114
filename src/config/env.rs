//! `PG2ES__SECTION__KEY=value` overrides, applied on top of the parsed file.
//!
//! The parsed config is turned into a JSON tree, each variable replaces one leaf, and the tree
//! is deserialized again. Every variable is checked on its own so that an error names it.
//! The tree holds secrets: it is never logged.

use serde_json::Value;

use super::{Config, ConfigError, ENV_PREFIX};

pub(super) fn apply(
    config: Config,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let mut overrides: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX))
        .collect();
    if overrides.is_empty() {
        return Ok(config);
    }
    overrides.sort();
    let mut tree = serde_json::to_value(&config).map_err(|err| ConfigError::Env {
        var: ENV_PREFIX.to_owned(),
        reason: err.to_string(),
    })?;
    for (var, raw) in &overrides {
        let env_error = |reason: String| ConfigError::Env {
            var: var.clone(),
            reason,
        };
        let path: Vec<String> = var[ENV_PREFIX.len()..]
            .split("__")
            .map(str::to_lowercase)
            .collect();
        let leaf = leaf_mut(&mut tree, &path).ok_or_else(|| {
            env_error(format!(
                "no config key {} (keys look like PG2ES__POSTGRES__URL)",
                path.join(".")
            ))
        })?;
        *leaf = typed_like(leaf, raw).map_err(env_error)?;
        serde_json::from_value::<Config>(tree.clone())
            .map_err(|err| env_error(format!("{} = {raw:?}: {err}", path.join("."))))?;
    }
    serde_json::from_value(tree).map_err(|err| ConfigError::Invalid(err.to_string()))
}

fn leaf_mut<'a>(tree: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut node = tree;
    for key in path {
        node = node.as_object_mut()?.get_mut(key)?;
    }
    (!node.is_object()).then_some(node)
}

/// Environment values are text; give them the JSON type the key already has.
fn typed_like(current: &Value, raw: &str) -> Result<Value, String> {
    match current {
        Value::Number(_) => raw
            .trim()
            .parse::<serde_json::Number>()
            .map(Value::Number)
            .map_err(|_| format!("{raw:?} is not a number")),
        Value::Bool(_) => match raw.trim().to_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(format!("{raw:?} is not true or false")),
        },
        _ => Ok(Value::String(raw.to_owned())),
    }
}

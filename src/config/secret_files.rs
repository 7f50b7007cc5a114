//! Secrets read from files (`postgres.url_file`, `elasticsearch.password_file`,
//! `elasticsearch.api_key_file`, or `PG2ES__..._FILE`): the trimmed content becomes the value.
//! Errors name the key and the path, never the content.

use std::path::Path;

use super::{Config, ConfigError, Secret};

/// Reads every `*_file` key that is set into its secret.
pub(super) fn resolve(config: &mut Config) -> Result<(), ConfigError> {
    // postgres.url always has a value (the default), so its file simply wins.
    if let Some(path) = &config.postgres.url_file {
        config.postgres.url = read("postgres.url_file", path)?;
    }
    let es = &mut config.elasticsearch;
    fill(
        &mut es.password,
        es.password_file.as_deref(),
        "elasticsearch.password",
    )?;
    fill(
        &mut es.api_key,
        es.api_key_file.as_deref(),
        "elasticsearch.api_key",
    )?;
    Ok(())
}

fn fill(secret: &mut Option<Secret>, file: Option<&Path>, key: &str) -> Result<(), ConfigError> {
    let Some(path) = file else {
        return Ok(());
    };
    if secret.is_some() {
        return Err(ConfigError::Invalid(format!(
            "{key} and {key}_file are both set: keep one"
        )));
    }
    *secret = Some(read(&format!("{key}_file"), path)?);
    Ok(())
}

fn read(key: &str, path: &Path) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        ConfigError::Invalid(format!("{key}: cannot read {}: {err}", path.display()))
    })?;
    let value = text.trim();
    if value.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{key}: {} is empty",
            path.display()
        )));
    }
    Ok(Secret::new(value))
}

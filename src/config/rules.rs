//! Validation rules for config values, and the rendering of their errors as `field: problem`.

use std::time::Duration;

use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};

use super::{ElasticsearchConfig, NodeUrls, RetryConfig, Secret};

fn invalid(code: &'static str, message: String) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

pub(super) fn postgres_url(url: &Secret) -> Result<(), ValidationError> {
    let parsed = url::Url::parse(url.expose())
        .map_err(|err| invalid("url", format!("not a URL ({err})")))?;
    match parsed.scheme() {
        "postgres" | "postgresql" => Ok(()),
        other => Err(invalid(
            "url",
            format!("scheme must be postgres:// or postgresql://, not {other}://"),
        )),
    }
}

pub(super) fn http_url(url: &str) -> Result<(), ValidationError> {
    let parsed = url::Url::parse(url)
        .map_err(|err| invalid("url", format!("{url:?} is not a URL ({err})")))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(()),
        "http" | "https" => Err(invalid("url", format!("{url:?} has no host"))),
        other => Err(invalid(
            "url",
            format!("scheme must be http:// or https://, not {other}://"),
        )),
    }
}

/// Elasticsearch allows 255 bytes; pg2es's versioned index names are up to 20 bytes longer.
const MAX_ALIAS_BYTES: usize = 235;

pub(super) fn node_urls(urls: &NodeUrls) -> Result<(), ValidationError> {
    if urls.0.is_empty() {
        return Err(invalid("url", "needs at least one URL".into()));
    }
    urls.0.iter().try_for_each(|url| http_url(url))
}

/// The combinations of `elasticsearch` keys that cannot work together.
pub(super) fn elasticsearch(config: &ElasticsearchConfig) -> Result<(), ValidationError> {
    let conflict = |message: &str| Err(invalid("elasticsearch", message.to_owned()));
    if config.cloud_id.is_some() && config.url.is_some() {
        return conflict("elasticsearch.cloud_id and elasticsearch.url are both set: a cloud id already says where the nodes are, keep one");
    }
    if let Some(cloud_id) = &config.cloud_id {
        if cloud_id
            .split_once(':')
            .is_none_or(|(name, data)| name.is_empty() || data.is_empty())
        {
            return conflict("elasticsearch.cloud_id must look like <deployment name>:<base64 data>, as the Elastic Cloud console shows it");
        }
    }
    if config.api_key.is_some() && (config.username.is_some() || config.password.is_some()) {
        return conflict("elasticsearch.api_key and elasticsearch.username/password are both set: authenticate one way");
    }
    if config.password.is_some() && config.username.is_none() {
        return conflict("elasticsearch.password is set without elasticsearch.username");
    }
    if config.insecure_skip_verify && config.ca_cert.is_some() {
        return conflict("elasticsearch.ca_cert and elasticsearch.insecure_skip_verify are both set: with a CA certificate, keep verification on");
    }
    Ok(())
}

/// A path pg2es will read at start-up, checked now so the error names the key.
pub(super) fn readable_file(path: &std::path::Path) -> Result<(), ValidationError> {
    match std::fs::File::open(path) {
        Ok(_) if path.is_file() => Ok(()),
        Ok(_) => Err(invalid("file", format!("{} is not a file", path.display()))),
        Err(err) => Err(invalid(
            "file",
            format!("cannot read {}: {err}", path.display()),
        )),
    }
}

/// `ip:port`, or empty for off.
pub(super) fn listen_address(address: &str) -> Result<(), ValidationError> {
    if address.trim().is_empty() {
        return Ok(());
    }
    address
        .trim()
        .parse::<std::net::SocketAddr>()
        .map(|_| ())
        .map_err(|_| {
            invalid(
                "address",
                format!("{address:?} is not ip:port (e.g. 127.0.0.1:9464, or \"\" for off)"),
            )
        })
}

/// At least one pipeline; names that can stand in file, lock and metric names; overridden
/// aliases that are valid index names.
pub(super) fn pipelines(
    pipelines: &std::collections::BTreeMap<String, super::PipelineEntry>,
) -> Result<(), ValidationError> {
    if pipelines.is_empty() {
        return Err(invalid(
            "pipelines",
            "declare at least one, e.g. pipelines: {movies: {file: pipelines/movies.yaml}}".into(),
        ));
    }
    for (name, entry) in pipelines {
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
        if name.is_empty() || !name.chars().all(allowed) {
            return Err(invalid(
                "pipelines",
                format!("pipeline name {name:?} must be lowercase letters, digits and _"),
            ));
        }
        if let Some(alias) = &entry.alias {
            index_name(alias).map_err(|mut err| {
                err.message = err
                    .message
                    .map(|m| format!("pipelines.{name}.alias: {m}").into());
                err
            })?;
        }
    }
    Ok(())
}

/// Elasticsearch index naming rules that a user is likely to break.
pub(super) fn index_name(name: &str) -> Result<(), ValidationError> {
    let forbidden = |c: char| "\\/*?\"<>| ,#:".contains(c) || c.is_uppercase();
    // The versioned indexes behind the alias add `_<12 hex digits>_<n>` to it.
    if name.is_empty() || name.len() > MAX_ALIAS_BYTES {
        return Err(invalid(
            "index_name",
            format!("must be 1 to {MAX_ALIAS_BYTES} bytes"),
        ));
    }
    if name.starts_with(['-', '_', '+']) || name == "." || name == ".." {
        return Err(invalid(
            "index_name",
            format!("{name:?} must not start with -, _ or +"),
        ));
    }
    if name.chars().any(forbidden) {
        return Err(invalid(
            "index_name",
            format!("{name:?} must be lowercase without spaces or any of \\/*?\"<>|,#:"),
        ));
    }
    Ok(())
}

pub(super) fn positive_duration(value: &Duration) -> Result<(), ValidationError> {
    if value.is_zero() {
        return Err(invalid("duration", "must be greater than zero".into()));
    }
    Ok(())
}

pub(super) fn log_level(filter: &str) -> Result<(), ValidationError> {
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(|_| ())
        .map_err(|err| {
            invalid(
                "log_level",
                format!("{filter:?} is not a log filter ({err})"),
            )
        })
}

pub(super) fn retry_delays(retry: &RetryConfig) -> Result<(), ValidationError> {
    if retry.max_delay < retry.initial_delay {
        return Err(invalid(
            "retry_delays",
            "max_delay must not be smaller than initial_delay".into(),
        ));
    }
    Ok(())
}

/// Renders every validation error as `section.key: problem`, one per line, sorted.
pub(super) fn describe(errors: &ValidationErrors) -> String {
    let mut lines = Vec::new();
    collect(errors, "", &mut lines);
    lines.sort();
    lines.join("; ")
}

fn collect(errors: &ValidationErrors, prefix: &str, lines: &mut Vec<String>) {
    for (field, kind) in errors.errors() {
        let path = match (prefix.is_empty(), field.as_ref()) {
            (_, "__all__") => prefix.to_owned(),
            (true, _) => field.to_string(),
            (false, _) => format!("{prefix}.{field}"),
        };
        match kind {
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, lines),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{path}[{index}]"), lines);
                }
            }
            ValidationErrorsKind::Field(problems) => {
                for problem in problems {
                    lines.push(format!("{path}: {}", message(problem)));
                }
            }
        }
    }
}

fn message(error: &ValidationError) -> String {
    if let Some(message) = &error.message {
        return message.to_string();
    }
    match (
        error.code.as_ref(),
        error.params.get("min"),
        error.params.get("max"),
    ) {
        ("range", Some(min), Some(max)) => {
            let value = error.params.get("value").map(ToString::to_string);
            format!(
                "must be between {min} and {max}, got {}",
                value.unwrap_or_default()
            )
        }
        (code, _, _) => format!("invalid ({code})"),
    }
}

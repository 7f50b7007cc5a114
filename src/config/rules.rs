//! Validation rules for config values, and the rendering of their errors as `field: problem`.

use std::time::Duration;

use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};

use super::{RetryConfig, Secret};

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

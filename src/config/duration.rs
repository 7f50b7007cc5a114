//! Human-readable durations in config (`5s`, `250ms`, `1m 30s`).

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&humantime::format_duration(*value).to_string())
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(text.trim()).map_err(|err| {
        serde::de::Error::custom(format!(
            "invalid duration {text:?} ({err}); use e.g. \"5s\", \"250ms\", \"1m\""
        ))
    })
}

//! The index setting that makes a back-fill cheaper (no refreshes), and putting it back
//! afterwards. Replicas are left alone: dropping them would make a node lost in the middle of
//! the back-fill lose documents already acknowledged.

use elasticsearch::indices::{IndicesGetSettingsParts, IndicesPutSettingsParts};
use serde_json::{json, Value};

use super::{Elastic, EsError};
use crate::state::IndexSettings;

const NAMES: [&str; 1] = ["index.refresh_interval"];

/// What a back-fill runs with.
pub(crate) fn backfill_settings() -> IndexSettings {
    IndexSettings {
        refresh_interval: Some("-1".into()),
    }
}

impl Elastic {
    /// The refresh interval set on the index (`None`: the server default).
    pub async fn settings(&self) -> Result<IndexSettings, EsError> {
        let body: Value = self
            .call_json("read index settings", || async {
                self.client
                    .indices()
                    .get_settings(IndicesGetSettingsParts::IndexName(&[&self.index], &NAMES))
                    .send()
                    .await
            })
            .await?;
        Ok(parse_settings(&body))
    }

    /// Sets the refresh interval; `None` resets it to the server default.
    pub async fn put_settings(&self, settings: &IndexSettings) -> Result<(), EsError> {
        let body = json!({ "index": {
            "refresh_interval": settings.refresh_interval,
        }});
        self.call("update index settings", || async {
            self.client
                .indices()
                .put_settings(IndicesPutSettingsParts::Index(&[&self.index]))
                .body(body.clone())
                .send()
                .await
        })
        .await
        .map(|_| ())
    }
}

/// `{"<concrete index>": {"settings": {"index": {...}}}}`, keyed by the concrete name, which
/// differs from ours behind an alias.
fn parse_settings(body: &Value) -> IndexSettings {
    let index = body
        .as_object()
        .and_then(|by_index| by_index.values().next())
        .map(|index| &index["settings"]["index"]);
    let value = |key: &str| {
        index
            .and_then(|settings| settings[key].as_str())
            .map(str::to_owned)
    };
    IndexSettings {
        refresh_interval: value("refresh_interval"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_set_values_and_leaves_unset_ones_out() {
        let body: Value = serde_json::from_str(
            r#"{"movies_v1":{"settings":{"index":{"refresh_interval":"30s"}}}}"#,
        )
        .unwrap();
        assert_eq!(
            parse_settings(&body),
            IndexSettings {
                refresh_interval: Some("30s".into()),
            }
        );
        let body: Value = serde_json::from_str(r#"{"movies":{"settings":{}}}"#).unwrap();
        assert_eq!(parse_settings(&body), IndexSettings::default());
    }
}

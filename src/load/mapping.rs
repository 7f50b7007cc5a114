//! Comparing the live mapping with the one in the index config.

use serde_json::Value;

/// Differences between the wanted mapping and the live one, as readable lines with JSON paths.
/// Every wanted setting must be live; live fields that are not wanted are reported too.
pub(crate) fn differences(wanted: &Value, live: &Value) -> Vec<String> {
    let mut found = Vec::new();
    compare(wanted, live, "mappings", &mut found);
    found
}

fn compare(wanted: &Value, live: &Value, path: &str, found: &mut Vec<String>) {
    match (wanted, live) {
        (Value::Object(wanted), Value::Object(live)) => {
            for (key, wanted_value) in wanted {
                let child = format!("{path}.{key}");
                match live.get(key) {
                    Some(live_value) => compare(wanted_value, live_value, &child, found),
                    // Elasticsearch leaves out an object field's type: objects are the default.
                    None if key == "type" && wanted_value == "object" => {}
                    None => found.push(format!("{child}: missing in the live index")),
                }
            }
            if path.ends_with(".properties") {
                for key in live.keys().filter(|key| !wanted.contains_key(*key)) {
                    found.push(format!(
                        "{path}.{key}: in the live index, not in the config"
                    ));
                }
            }
        }
        // Elasticsearch echoes some scalars as strings ("strict", "true").
        (wanted, live) if scalar_text(wanted) == scalar_text(live) => {}
        (wanted, live) => found.push(format!(
            "{path}: config has {wanted}, live index has {live}"
        )),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_object_type_the_live_index_leaves_out_is_no_difference() {
        let wanted = json!({"properties": {"tag": {"type": "nested", "properties": {
            "group": {"type": "object", "properties": {"label": {"type": "text"}}}}}}});
        let live = json!({"properties": {"tag": {"type": "nested", "properties": {
            "group": {"properties": {"label": {"type": "text"}}}}}}});
        assert!(differences(&wanted, &live).is_empty());
        let live = json!({"properties": {"tag": {"properties": {
            "group": {"properties": {"label": {"type": "text"}}}}}}});
        assert_eq!(
            differences(&wanted, &live),
            ["mappings.properties.tag.type: missing in the live index"]
        );
    }

    #[test]
    fn equal_mappings_have_no_differences() {
        let wanted = json!({"dynamic": "strict", "properties": {"id": {"type": "keyword"}, "n": {"type": "float", "index": false}}});
        let live = json!({"dynamic": "strict", "properties": {"id": {"type": "keyword"}, "n": {"type": "float", "index": "false"}}});
        assert!(differences(&wanted, &live).is_empty());
    }

    #[test]
    fn changed_missing_and_extra_fields_are_listed() {
        let wanted = json!({"properties": {"title": {"type": "text", "analyzer": "ru_en"}, "id": {"type": "keyword"}}});
        let live = json!({"properties": {"title": {"type": "text", "analyzer": "standard"}, "extra": {"type": "long"}}});
        let found = differences(&wanted, &live);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().any(
            |line| line.starts_with("mappings.properties.title.analyzer: config has \"ru_en\"")
        ));
        assert!(found
            .iter()
            .any(|line| line == "mappings.properties.id: missing in the live index"));
        assert!(found
            .iter()
            .any(|line| line.starts_with("mappings.properties.extra: in the live index")));
    }
}

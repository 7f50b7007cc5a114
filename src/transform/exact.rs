//! Two JSON documents compared as JSON, with numbers compared by their text: `verify` must see
//! `123456789012345678.25` and `123456789012345678.3` as different, which two `f64` do not.
//! The index keeps `_source` as it was sent, so a number written exactly comes back the same.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

/// A JSON value whose numbers keep their text.
#[derive(Debug, PartialEq)]
enum Exact<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    String(String),
    Array(Vec<Exact<'a>>),
    Object(BTreeMap<String, Exact<'a>>),
}

fn parse(raw: &RawValue) -> Option<Exact<'_>> {
    let text = raw.get().trim();
    Some(match text.as_bytes().first()? {
        b'{' => {
            let fields: BTreeMap<String, &RawValue> = serde_json::from_str(text).ok()?;
            let mut object = BTreeMap::new();
            for (name, value) in fields {
                object.insert(name, parse(value)?);
            }
            Exact::Object(object)
        }
        b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            Exact::Array(items.into_iter().map(parse).collect::<Option<_>>()?)
        }
        b'"' => Exact::String(serde_json::from_str(text).ok()?),
        b'n' => Exact::Null,
        b't' => Exact::Bool(true),
        b'f' => Exact::Bool(false),
        _ => Exact::Number(text),
    })
}

/// Whether two JSON texts hold the same value: objects whatever their key order, numbers digit
/// for digit. Text that is not JSON equals nothing.
pub(crate) fn same_json(a: &[u8], b: &[u8]) -> bool {
    let (Ok(a), Ok(b)) = (
        serde_json::from_slice::<&RawValue>(a),
        serde_json::from_slice::<&RawValue>(b),
    ) else {
        return false;
    };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_json;

    fn same(a: &str, b: &str) -> bool {
        same_json(a.as_bytes(), b.as_bytes())
    }

    #[test]
    fn numbers_differ_when_a_digit_does() {
        assert!(!same(
            r#"{"price": 123456789012345678.25}"#,
            r#"{"price": 123456789012345678.3}"#
        ));
        assert!(!same(r#"[0.100000000000000000001]"#, r#"[0.1]"#));
        assert!(same(r#"{"price": 12.50}"#, r#"{"price":12.50}"#));
    }

    #[test]
    fn objects_are_equal_whatever_their_key_order() {
        assert!(same(
            r#"{"a": 1, "b": {"c": [true, null, "x"]}}"#,
            r#"{"b":{"c":[true,null,"x"]},"a":1}"#
        ));
        assert!(!same(r#"{"a": [1, 2]}"#, r#"{"a": [2, 1]}"#));
        assert!(!same(r#"{"a": "\u00e9"}"#, r#"{"a": "e"}"#));
        assert!(same(r#"{"a": "\u00e9"}"#, r#"{"a": "é"}"#));
        assert!(!same(r#"{"a": 1}"#, "not json"));
    }
}

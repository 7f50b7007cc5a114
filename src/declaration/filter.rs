//! A list's `where`: conditions on the link table's (or the list table's) columns, evaluated
//! by the database in the list query, so that a comparison follows the column's type
//! (`rating: {gt: 5}` compares numbers, a date compares dates).
//!
//! ```yaml
//! where: {role: director}                 # =
//! where: {role: [actor, writer]}          # IN
//! where: {deleted_at: null}               # IS NULL
//! where: {deleted_at: {not: null}}       # IS NOT NULL
//! where: {rating: {ge: 5, lt: 8}}         # eq, ne, lt, le, gt, ge, in, not_in: ANDed
//! ```

use serde_json::Value;

/// One condition on one column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Condition {
    pub column: String,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Test {
    /// `eq`, `ne`, `lt`, `le`, `gt`, `ge` and a literal, as Postgres prints it.
    Compare(&'static str, String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Null,
    NotNull,
}

const OPERATORS: &[(&str, &str)] = &[
    ("eq", "="),
    ("ne", "<>"),
    ("lt", "<"),
    ("le", "<="),
    ("gt", ">"),
    ("ge", ">="),
];

impl Condition {
    /// The SQL test of the column `alias.column` (literals untyped: Postgres reads them as
    /// the column's type).
    pub fn sql(&self, alias: &str) -> String {
        let column = format!("{alias}.{}", self.column);
        match &self.test {
            Test::Compare(operator, value) => format!("{column} {operator} {}", quote(value)),
            Test::In(values) => format!("{column} IN ({})", list(values)),
            Test::NotIn(values) => format!("{column} NOT IN ({})", list(values)),
            Test::Null => format!("{column} IS NULL"),
            Test::NotNull => format!("{column} IS NOT NULL"),
        }
    }
}

/// Every condition of one list, as one SQL expression that is never NULL.
pub(crate) fn all(conditions: &[Condition], alias: &str) -> String {
    let tests: Vec<String> = conditions.iter().map(|c| c.sql(alias)).collect();
    format!("coalesce({}, false)", tests.join(" AND "))
}

fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| quote(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The conditions `column: value` says, or what is wrong with it.
pub(crate) fn parse(column: &str, value: &Value) -> Result<Vec<Condition>, String> {
    let condition = |test| Condition {
        column: column.to_owned(),
        test,
    };
    let tests = match value {
        Value::Null => vec![Test::Null],
        Value::Array(values) => vec![Test::In(literals(values)?)],
        Value::Object(tests) if tests.is_empty() => return Err(empty(column)),
        Value::Object(tests) => {
            let mut parsed = Vec::new();
            for (name, value) in tests {
                parsed.push(test(column, name, value)?);
            }
            parsed
        }
        scalar => vec![Test::Compare("=", literal(scalar)?)],
    };
    Ok(tests.into_iter().map(condition).collect())
}

fn test(column: &str, name: &str, value: &Value) -> Result<Test, String> {
    if let Some((_, operator)) = OPERATORS.iter().find(|(word, _)| *word == name) {
        return Ok(Test::Compare(operator, literal(value)?));
    }
    match (name, value) {
        ("in", Value::Array(values)) => Ok(Test::In(literals(values)?)),
        ("not_in", Value::Array(values)) => Ok(Test::NotIn(literals(values)?)),
        ("not", Value::Null) => Ok(Test::NotNull),
        ("in" | "not_in", _) => Err(format!("{column}.{name} takes a list of values")),
        ("not", _) => Err(format!(
            "{column}.not takes null (IS NOT NULL); for <> say ne, for NOT IN not_in"
        )),
        _ => Err(format!(
            "{column}: unknown test `{name}`: use eq, ne, lt, le, gt, ge, in, not_in or not: null"
        )),
    }
}

fn empty(column: &str) -> String {
    format!("{column}: no test given")
}

fn literals(values: &[Value]) -> Result<Vec<String>, String> {
    if values.is_empty() {
        return Err("an empty list matches nothing".into());
    }
    values.iter().map(literal).collect()
}

/// A value as the text Postgres reads for it.
fn literal(value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(value.to_string()),
        Value::Null => Err("null is not a value to compare with: say `column: null`".into()),
        other => Err(format!("{other} is not a value to compare with")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sql(column: &str, value: Value) -> String {
        all(&parse(column, &value).unwrap(), "l")
    }

    #[test]
    fn each_form_of_where_becomes_its_sql_test() {
        assert_eq!(
            sql("role", json!("director")),
            "coalesce(l.role = 'director', false)"
        );
        assert_eq!(
            sql("role", json!(["actor", "o'hara"])),
            "coalesce(l.role IN ('actor', 'o''hara'), false)"
        );
        assert_eq!(sql("gone", json!(null)), "coalesce(l.gone IS NULL, false)");
        assert_eq!(
            sql("gone", json!({"not": null})),
            "coalesce(l.gone IS NOT NULL, false)"
        );
        assert_eq!(
            sql("rating", json!({"ge": 5, "lt": 8.5})),
            "coalesce(l.rating >= '5' AND l.rating < '8.5', false)"
        );
        assert_eq!(
            sql("kind", json!({"not_in": ["x", true]})),
            "coalesce(l.kind NOT IN ('x', 'true'), false)"
        );
    }

    #[test]
    fn a_where_that_cannot_work_says_why() {
        let error = |value: Value| parse("c", &value).unwrap_err();
        assert!(error(json!({"above": 3})).contains("unknown test `above`"));
        assert!(error(json!([])).contains("empty list"));
        assert!(error(json!({"in": 3})).contains("takes a list"));
        assert!(error(json!({"not": "x"})).contains("for <> say ne"));
        assert!(error(json!({"eq": null})).contains("say `column: null`"));
        assert!(error(json!({})).contains("no test given"));
    }
}

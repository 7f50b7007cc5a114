//! A table's key in SQL and as text, for keys of one column or several (a composite key such
//! as a link table's `(book_isbn, author_id)`).
//!
//! A key of one column is its value as text. A composite key is one text too, so that cursors,
//! the state file and fan-out keep handling one string per row: each part's text with `%`
//! written `%25` and `/` written `%2F`, the parts joined by `/` (`978-0%2F1/7`). A `/` in the
//! result only ever separates parts, so the text reads back into exactly its parts.

use super::Table;

/// The separator between the parts of a composite key's text.
const SEPARATOR: char = '/';

/// The text of a composite key's parts (one part: the part itself).
pub(crate) fn encode(parts: &[&str]) -> String {
    match parts {
        [one] => (*one).to_owned(),
        _ => parts
            .iter()
            .map(|part| part.replace('%', "%25").replace('/', "%2F"))
            .collect::<Vec<_>>()
            .join("/"),
    }
}

/// How the change record names the columns `key` (a key, or refs holding one): the column, or
/// the columns joined by `,` (a column name holds no `,`: declared names are identifiers).
pub(crate) fn recorded(key: &[String]) -> String {
    key.join(",")
}

/// The columns a change record's name ([`recorded`]) stands for.
pub(crate) fn recorded_columns(name: &str) -> Vec<&str> {
    name.split(',').collect()
}

/// The parts of a key's text, `count` of them; `None` when it has another number of parts.
pub(crate) fn decode(text: &str, count: usize) -> Option<Vec<String>> {
    if count == 1 {
        return Some(vec![text.to_owned()]);
    }
    let parts: Vec<String> = text
        .split(SEPARATOR)
        .map(|part| part.replace("%2F", "/").replace("%25", "%"))
        .collect();
    (parts.len() == count).then_some(parts)
}

/// `t.a, t.b`: the key columns of the row `alias`, in key order (`ORDER BY`, row values).
pub(crate) fn columns(table: &Table, alias: &str, suffix: &str) -> String {
    columns_of(&table.key, alias, suffix)
}

/// [`columns`] of the columns `key` (a key, or the refs that hold one).
pub(crate) fn columns_of(key: &[String], alias: &str, suffix: &str) -> String {
    key.iter()
        .map(|column| format!("{alias}.{column}{suffix}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The key of the row `alias` as text (see [`encode`]), in SQL.
pub(crate) fn text(table: &Table, alias: &str) -> String {
    text_of(&table.key, alias)
}

/// [`text`] of the columns `key` (a key, or the refs that hold one) of the row `alias`.
pub(crate) fn text_of(key: &[String], alias: &str) -> String {
    match key {
        [one] => format!("{alias}.{one}::text"),
        parts => parts
            .iter()
            .map(|column| {
                format!("replace(replace({alias}.{column}::text, '%', '%25'), '/', '%2F')")
            })
            .collect::<Vec<_>>()
            .join(" || '/' || "),
    }
}

/// The key values in the text `param` (see [`decode`]), each cast to its column's type, in SQL:
/// as many expressions as [`columns`], for row comparisons.
pub(crate) fn values(table: &Table, param: &str) -> String {
    values_of(&table.key, &table.key_types, param)
}

/// [`values`] for key columns and their types not in a [`Table`].
fn values_of(key: &[String], key_types: &[String], param: &str) -> String {
    match (key, key_types) {
        ([_], [key_type]) => format!("{param}::text::{key_type}"),
        (_, types) => types
            .iter()
            .enumerate()
            .map(|(at, key_type)| {
                format!(
                    "replace(replace(split_part({param}::text, '/', {}), '%2F', '/'), '%25', '%')::{key_type}",
                    at + 1
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `a.x = b.y AND …`: the columns `left` of the row `a` equal the columns `right` of `b`,
/// part by part (a ref and the key it holds).
pub(crate) fn equal(a: &str, left: &[String], b: &str, right: &[String]) -> String {
    left.iter()
        .zip(right)
        .map(|(l, r)| format!("{a}.{l} = {b}.{r}"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Whether the row `alias` has one of the keys in the text array `param`, in SQL.
pub(crate) fn any(table: &Table, alias: &str, param: &str) -> String {
    any_of(&table.key, &table.key_types, alias, param)
}

/// [`any`] for key columns and their types not in a [`Table`].
pub(crate) fn any_of(key: &[String], key_types: &[String], alias: &str, param: &str) -> String {
    match (key, key_types) {
        ([column], [key_type]) => format!("{alias}.{column} = ANY({param}::text[]::{key_type}[])"),
        _ => format!(
            "({}) IN (SELECT {} FROM unnest({param}::text[]) AS k(id))",
            columns_of(key, alias, ""),
            values_of(key, key_types, "k.id")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credit() -> Table {
        Table {
            relation: "bib.credit".into(),
            key: vec!["book_isbn".into(), "author_id".into()],
            key_types: vec!["text".into(), "integer".into()],
            changed_by: None,
            fan_out: None,
            captured: vec![],
        }
    }

    #[test]
    fn a_composite_key_reads_back_into_its_parts() {
        for parts in [
            vec!["978-0", "7"],
            vec!["a/b", "%2F"],
            vec!["", ""],
            vec!["%", "/"],
        ] {
            let text = encode(&parts);
            assert_eq!(text.matches('/').count(), parts.len() - 1, "{text}");
            assert_eq!(decode(&text, parts.len()).unwrap(), parts, "{text}");
        }
        assert_eq!(encode(&["a/b"]), "a/b");
        assert_eq!(decode("a/b", 1).unwrap(), vec!["a/b"]);
        assert_eq!(decode("a/b/c", 2), None);
    }

    #[test]
    fn a_composite_key_renders_as_row_values() {
        let table = credit();
        assert_eq!(
            columns(&table, "t", " DESC"),
            "t.book_isbn DESC, t.author_id DESC"
        );
        assert_eq!(
            text(&table, "t"),
            "replace(replace(t.book_isbn::text, '%', '%25'), '/', '%2F') || '/' || replace(replace(t.author_id::text, '%', '%25'), '/', '%2F')"
        );
        assert_eq!(
            values(&table, "$2"),
            "replace(replace(split_part($2::text, '/', 1), '%2F', '/'), '%25', '%')::text, replace(replace(split_part($2::text, '/', 2), '%2F', '/'), '%25', '%')::integer"
        );
        assert!(any(&table, "l", "$1").starts_with("(l.book_isbn, l.author_id) IN (SELECT "));
    }

    #[test]
    fn a_single_key_renders_as_before() {
        let table = Table {
            key: vec!["id".into()],
            key_types: vec!["uuid".into()],
            ..credit()
        };
        assert_eq!(text(&table, "t"), "t.id::text");
        assert_eq!(values(&table, "$2"), "$2::text::uuid");
        assert_eq!(any(&table, "c", "$1"), "c.id = ANY($1::text[]::uuid[])");
    }
}

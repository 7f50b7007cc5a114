//! One value of a row, decoded by its column's [`Kind`], borrowed from the row, and written to
//! JSON exactly as the compiled movies pipeline wrote it (timestamps in UTC with microseconds,
//! `f32` in its shortest form); `numeric` with every digit Postgres has; `NaN` and `±Infinity`,
//! which JSON has no number for, as NULL, so that a declared `default:` applies to them.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use sqlx::postgres::{PgRow, Postgres};
use sqlx::{Decode, Row, Type};
use uuid::Uuid;

use super::schema::Kind;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'r> {
    Null,
    Text(&'r str),
    Uuid(Uuid),
    Int(i64),
    Float4(f32),
    Float8(f64),
    /// `numeric` as Postgres writes it: a JSON number with every digit.
    Number(&'r str),
    /// A JSON array of numbers written by Postgres, where `NaN` and `±Infinity` are strings.
    Numbers(&'r str),
    Bool(bool),
    Timestamptz(DateTime<Utc>),
    Timestamp(NaiveDateTime),
    Date(NaiveDate),
    /// JSON text written by Postgres.
    Json(&'r str),
}

/// Column `index` of `row`, read by position; a decoding error names the column.
pub(crate) fn column<'r, T>(row: &'r PgRow, index: usize, name: &str) -> Result<T, sqlx::Error>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get(index).map_err(|err| match err {
        sqlx::Error::ColumnDecode { source, .. } => sqlx::Error::ColumnDecode {
            index: name.to_owned(),
            source,
        },
        other => other,
    })
}

pub(crate) fn decode<'r>(
    row: &'r PgRow,
    index: usize,
    kind: Kind,
    name: &str,
) -> Result<Cell<'r>, sqlx::Error> {
    fn or_null<'r, T>(value: Option<T>, cell: impl FnOnce(T) -> Cell<'r>) -> Cell<'r> {
        value.map_or(Cell::Null, cell)
    }
    Ok(match kind {
        Kind::Text => or_null(column(row, index, name)?, Cell::Text),
        Kind::Uuid => or_null(column(row, index, name)?, Cell::Uuid),
        Kind::Int => or_null(column(row, index, name)?, Cell::Int),
        Kind::Float4 => or_null(
            column::<Option<f32>>(row, index, name)?,
            |value| match value.is_finite() {
                true => Cell::Float4(value),
                false => Cell::Null,
            },
        ),
        Kind::Float8 => or_null(
            column::<Option<f64>>(row, index, name)?,
            |value| match value.is_finite() {
                true => Cell::Float8(value),
                false => Cell::Null,
            },
        ),
        Kind::Numeric => or_null(
            column::<Option<&str>>(row, index, name)?,
            |text| match text {
                "NaN" | "Infinity" | "-Infinity" => Cell::Null,
                _ => Cell::Number(text),
            },
        ),
        Kind::Numbers => or_null(column(row, index, name)?, Cell::Numbers),
        Kind::Bool => or_null(column(row, index, name)?, Cell::Bool),
        Kind::Timestamptz => or_null(column(row, index, name)?, Cell::Timestamptz),
        Kind::Timestamp => or_null(column(row, index, name)?, Cell::Timestamp),
        Kind::Date => or_null(column(row, index, name)?, Cell::Date),
        Kind::Json => or_null(column(row, index, name)?, Cell::Json),
    })
}

impl Serialize for Cell<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Cell::Null => serializer.serialize_none(),
            Cell::Text(text) => serializer.serialize_str(text),
            Cell::Uuid(uuid) => uuid.serialize(serializer),
            Cell::Int(value) => serializer.serialize_i64(value),
            Cell::Float4(value) => serializer.serialize_f32(value),
            Cell::Float8(value) => serializer.serialize_f64(value),
            Cell::Number(text) => raw(text, serializer),
            Cell::Numbers(text) if text.contains('"') => raw(
                &text
                    .replace("\"NaN\"", "null")
                    .replace("\"Infinity\"", "null")
                    .replace("\"-Infinity\"", "null"),
                serializer,
            ),
            Cell::Numbers(text) => raw(text, serializer),
            Cell::Bool(value) => serializer.serialize_bool(value),
            Cell::Timestamptz(at) => {
                serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Micros, true))
            }
            Cell::Timestamp(at) => {
                serializer.serialize_str(&at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
            }
            Cell::Date(date) => serializer.serialize_str(&date.format("%Y-%m-%d").to_string()),
            Cell::Json(text) => raw(text, serializer),
        }
    }
}

/// JSON text written by Postgres, as it is (a string if it were not JSON).
fn raw<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<&serde_json::value::RawValue>(text) {
        Ok(raw) => raw.serialize(serializer),
        Err(_) => serializer.serialize_str(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(cell: Cell<'_>) -> String {
        serde_json::to_string(&cell).unwrap()
    }

    #[test]
    fn values_are_written_as_the_movies_documents_had_them() {
        let at: DateTime<Utc> = "2021-06-16T20:14:09.31Z".parse().unwrap();
        assert_eq!(
            json(Cell::Timestamptz(at)),
            "\"2021-06-16T20:14:09.310000Z\""
        );
        assert_eq!(json(Cell::Float4(7.3)), "7.3");
        assert_eq!(
            json(Cell::Uuid(Uuid::from_u128(1))),
            "\"00000000-0000-0000-0000-000000000001\""
        );
        assert_eq!(json(Cell::Json("{\"a\": [1, 2]}")), "{\"a\": [1, 2]}");
        assert_eq!(json(Cell::Null), "null");
    }

    #[test]
    fn numeric_keeps_every_digit_and_non_numbers_are_null() {
        assert_eq!(
            json(Cell::Number("123456789012345678.25")),
            "123456789012345678.25"
        );
        assert_eq!(
            json(Cell::Number("0.100000000000000000001")),
            "0.100000000000000000001"
        );
        assert_eq!(
            json(Cell::Numbers(
                "[1.10, \"NaN\", null, \"-Infinity\", \"Infinity\"]"
            )),
            "[1.10, null, null, null, null]"
        );
    }
}

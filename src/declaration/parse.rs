//! The YAML form of a pipeline declaration, as written; [`super::model`] checks it.
//!
//! Values that errors point at are [`Spanned`], so that a mistake found after parsing still
//! names its line.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipeline {
    pub index: RawIndex,
    pub root: Spanned<String>,
    pub tables: BTreeMap<String, Spanned<RawTable>>,
    #[serde(default)]
    pub document: Option<Spanned<Fields>>,
    /// The escape hatch, instead of `document`.
    #[serde(default)]
    pub query: Option<Spanned<RawQuery>>,
}

/// Where the declaration runs out: SQL that builds the documents, and for every followed
/// table other than the root, SQL that maps its changed keys to root keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuery {
    /// `$1` = root keys (text[]; cast them, e.g. `$1::uuid[]`) → rows of `id`, `document`.
    pub sql: Spanned<String>,
    /// Table → `$1` = its changed keys (text[]) → root keys, one column.
    #[serde(default)]
    pub touches: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIndex {
    pub alias: Spanned<String>,
    pub config: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTable {
    pub key: Spanned<String>,
    #[serde(default)]
    pub key_type: Option<Spanned<String>>,
    #[serde(default)]
    pub changed_by: Option<Spanned<String>>,
    /// For a `changed_by` column of type `timestamp` (without time zone): the zone its values
    /// are in, e.g. `UTC` or `Europe/Moscow`.
    #[serde(default)]
    pub zone: Option<Spanned<String>>,
    #[serde(default)]
    pub refs: BTreeMap<String, Spanned<String>>,
}

/// Document fields in the order they were written.
#[derive(Debug, Default)]
pub(super) struct Fields(pub Vec<(Spanned<String>, Spanned<RawField>)>);

/// A field: a column name, or a mapping that says more.
#[derive(Debug)]
pub(super) enum RawField {
    Column(String),
    Detailed(Box<RawDetail>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDetail {
    /// A column of the table, with `default` as the value written for NULL.
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default, rename = "default")]
    pub null: Option<serde_json::Value>,
    /// An array of objects (or, with `one: true`, one object) from the rows of this table.
    #[serde(default)]
    pub list: Option<Spanned<String>>,
    #[serde(default)]
    pub one: bool,
    /// The link table between the root and `list` (many-to-many).
    #[serde(default)]
    pub through: Option<Spanned<String>>,
    /// Equality filters on the link table's (or, without one, the list table's) columns.
    #[serde(default, rename = "where")]
    pub filter: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub fields: Option<Fields>,
    /// Columns gathered into sorted arrays, one object per distinct `fields`.
    #[serde(default)]
    pub collect: Option<Fields>,
    #[serde(default)]
    pub sort: Vec<Spanned<String>>,
    /// A plain array of one field of another list field of the document.
    #[serde(default)]
    pub names: Option<Spanned<String>>,
    #[serde(default)]
    pub field: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of field name to column or field declaration")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    fields.push((name, map.next_value::<Spanned<RawField>>()?));
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

impl<'de> Deserialize<'de> for RawField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = RawField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name or a mapping (column, list, names, ...)")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawField, E> {
                Ok(RawField::Column(value.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawField, A::Error> {
                let detail = RawDetail::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawField::Detailed(Box::new(detail)))
            }
        }
        deserializer.deserialize_any(FieldVisitor)
    }
}

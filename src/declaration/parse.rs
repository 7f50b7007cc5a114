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
    /// Absent: the config is derived from the declaration and the column types.
    #[serde(default)]
    pub config: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTable {
    /// One column, or a list of columns for a composite key: `key: [book_isbn, author_id]`.
    pub key: Spanned<RawKey>,
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

/// A key as written: one column name, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawKey(pub Vec<String>);

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = RawKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name, or a list of column names: [book_isbn, author_id]")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawKey, E> {
                Ok(RawKey(vec![value.to_owned()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawKey, A::Error> {
                let mut columns: Vec<String> = Vec::new();
                while let Some(column) = seq.next_element::<String>()? {
                    if columns.contains(&column) {
                        return Err(de::Error::custom(format!(
                            "{column} is named twice in the key"
                        )));
                    }
                    columns.push(column);
                }
                if columns.is_empty() {
                    return Err(de::Error::custom("a key needs at least one column"));
                }
                Ok(RawKey(columns))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
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
    /// Inside a `through` list: a column of the link table instead of the list table's.
    #[serde(default)]
    pub link: Option<String>,
    /// In `collect`: each value once (equal as the database compares them).
    #[serde(default)]
    pub distinct: bool,
    /// An array of objects (or, with `one: true`, one object) from the rows of this table.
    #[serde(default)]
    pub list: Option<Spanned<String>>,
    #[serde(default)]
    pub one: bool,
    /// The link table between the root and `list` (many-to-many).
    #[serde(default)]
    pub through: Option<Spanned<String>>,
    /// Conditions on the link table's (or, without one, the list table's) columns
    /// ([`super::filter`]).
    #[serde(default, rename = "where")]
    pub filter: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub fields: Option<Fields>,
    /// Columns gathered into sorted arrays, one object per distinct `fields`.
    #[serde(default)]
    pub collect: Option<Fields>,
    /// Sort keys, most significant first: `name`, `{name: desc}`, or
    /// `{field: name, order: desc, collate: "und-x-icu"}`.
    #[serde(default)]
    pub sort: Vec<Spanned<RawSortKey>>,
    /// A plain array of one field of another list field of the document.
    #[serde(default)]
    pub names: Option<Spanned<String>>,
    #[serde(default)]
    pub field: Option<Spanned<String>>,
}

/// A sort key as written: a field name, `{name: asc|desc}`, or the long form with `field`,
/// `order` and `collate`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct RawSortKey {
    pub field: String,
    /// `asc` or `desc`, as written (checked by the model).
    pub order: Option<String>,
    pub collate: Option<String>,
}

impl<'de> Deserialize<'de> for RawSortKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SortVisitor;
        impl<'de> Visitor<'de> for SortVisitor {
            type Value = RawSortKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name, {field: asc|desc}, or {field: NAME, order: asc|desc, collate: COLLATION}")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawSortKey, E> {
                Ok(RawSortKey {
                    field: value.to_owned(),
                    ..RawSortKey::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSortKey, A::Error> {
                let mut entries: Vec<(String, String)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    entries.push((key, map.next_value::<String>()?));
                }
                sort_key(entries).map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(SortVisitor)
    }
}

/// The mapping form of a sort key: `{name: desc}` or `{field: …, order: …, collate: …}`.
fn sort_key(entries: Vec<(String, String)>) -> Result<RawSortKey, String> {
    let long = entries.iter().any(|(key, _)| key == "field");
    if !long {
        let [(field, order)] = <[_; 1]>::try_from(entries).map_err(|_| {
            "a sort key is `name`, `{name: desc}` or `{field: name, order: desc, collate: …}`"
                .to_owned()
        })?;
        return Ok(RawSortKey {
            field,
            order: Some(order),
            collate: None,
        });
    }
    let mut key = RawSortKey::default();
    for (name, value) in entries {
        match name.as_str() {
            "field" => key.field = value,
            "order" => key.order = Some(value),
            "collate" => key.collate = Some(value),
            other => {
                return Err(format!(
                    "unknown sort key option `{other}`: expected `field`, `order` or `collate`"
                ))
            }
        }
    }
    Ok(key)
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

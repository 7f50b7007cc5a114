//! The index config of a declaration without `index.config`: a strict mapping derived from its
//! fields and the catalog's column types, in the REST API Elasticsearch 7.10+, 8.x and
//! OpenSearch share. The README's "A derived index config" table is this file's `mapping`.

use serde_json::{json, Map, Value};

use super::model::{Column, Field, List, Model};
use super::schema::ColumnType;

/// `{"settings": …, "mappings": {"dynamic": "strict", "properties": …}}`, as the shipped
/// configs: one shard, no replica.
pub(super) fn derive(model: &Model, column_type: impl Fn(usize, &str) -> ColumnType) -> Value {
    let mut properties = Map::new();
    for field in &model.fields {
        let (name, mapping) = match field {
            Field::Column(column) => (
                column.name.clone(),
                mapping(&column_type(model.root, &column.column)),
            ),
            Field::List(list) => (list.name.clone(), list_mapping(list, &column_type)),
            Field::Names { name, list, field } => {
                (name.clone(), names(model, *list, *field, &column_type))
            }
        };
        properties.insert(name, mapping);
    }
    json!({
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"dynamic": "strict", "properties": properties},
    })
}

/// A list is `nested` (each object searched on its own); a `one:` list an `object`.
fn list_mapping(list: &List, column_type: &impl Fn(usize, &str) -> ColumnType) -> Value {
    let table_of = |column: &Column| match column.link {
        true => list.join.filtered(),
        false => list.join.table(),
    };
    let mut properties: Map<String, Value> = list
        .fields
        .iter()
        .chain(&list.collect)
        .map(|column| {
            let ty = column_type(table_of(column), &column.column);
            (column.name.clone(), mapping(&ty))
        })
        .collect();
    // A `one:` object inside each of the list's objects (a second hop): an object.
    for hop in &list.hops {
        let fields: Map<String, Value> = hop
            .fields
            .iter()
            .map(|column| {
                let ty = column_type(hop.table, &column.column);
                (column.name.clone(), mapping(&ty))
            })
            .collect();
        let object = json!({"type": "object", "properties": fields});
        properties.insert(hop.name.clone(), object);
    }
    // A list inside each of the list's objects: nested too.
    for inner in &list.nested {
        let fields: Map<String, Value> = inner
            .fields
            .iter()
            .map(|column| {
                let ty = column_type(inner.table, &column.column);
                (column.name.clone(), mapping(&ty))
            })
            .collect();
        let nested = json!({"type": "nested", "properties": fields});
        properties.insert(inner.name.clone(), nested);
    }
    match list.one {
        true => json!({"type": "object", "properties": properties}),
        false => json!({"type": "nested", "properties": properties}),
    }
}

/// A `names` field: the plain array of one field of a list, mapped as that field.
fn names(
    model: &Model,
    list: usize,
    field: usize,
    column_type: &impl Fn(usize, &str) -> ColumnType,
) -> Value {
    let Field::List(list) = &model.fields[list] else {
        return text();
    };
    let Some(column) = list.fields.get(field) else {
        return text();
    };
    let table = match column.link {
        true => list.join.filtered(),
        false => list.join.table(),
    };
    mapping(&column_type(table, &column.column))
}

/// Text searched by words, with a `raw` keyword sub-field for exact match, sort and terms.
fn text() -> Value {
    json!({"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}})
}

/// The mapping of one column's values, as "What a document holds" writes them.
pub(super) fn mapping(ty: &ColumnType) -> Value {
    if ty.type_kind == "e" {
        return json!({"type": "keyword"});
    }
    let name = ty.type_name.as_str();
    // An array's values are its elements: Elasticsearch maps arrays as their element.
    let element = name.strip_prefix('_').unwrap_or(name);
    scalar(element)
}

fn scalar(type_name: &str) -> Value {
    let simple = |kind: &str| json!({"type": kind});
    match type_name {
        "text" | "varchar" | "bpchar" | "name" | "citext" => text(),
        "int2" | "int4" => simple("integer"),
        "int8" => simple("long"),
        "float4" => simple("float"),
        // Documents keep every digit in `_source`; `double` searches and sorts them by value.
        "float8" | "numeric" | "money" => simple("double"),
        "bool" => simple("boolean"),
        "timestamptz" | "timestamp" | "date" => {
            json!({"type": "date", "format": "strict_date_optional_time"})
        }
        "inet" => simple("ip"),
        "bytea" => simple("binary"),
        // Kept in `_source` as written, not indexed: a document's JSON may hold any shape.
        "jsonb" | "json" => json!({"type": "object", "enabled": false}),
        // uuid, interval, cidr, enums in arrays and anything else: the exact string.
        _ => simple("keyword"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::declaration::Declaration;

    fn column(type_name: &str, type_kind: &str) -> ColumnType {
        ColumnType {
            type_name: type_name.into(),
            type_kind: type_kind.into(),
            sql_type: type_name.into(),
            not_null: false,
        }
    }

    #[test]
    fn every_column_type_of_the_readme_table_has_its_mapping() {
        let text =
            json!({"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}});
        let date = json!({"type": "date", "format": "strict_date_optional_time"});
        for (type_name, kind, expected) in [
            ("text", "b", text.clone()),
            ("varchar", "b", text.clone()),
            ("citext", "b", text.clone()),
            ("mood", "e", json!({"type": "keyword"})),
            ("uuid", "b", json!({"type": "keyword"})),
            ("int2", "b", json!({"type": "integer"})),
            ("int4", "b", json!({"type": "integer"})),
            ("int8", "b", json!({"type": "long"})),
            ("float4", "b", json!({"type": "float"})),
            ("float8", "b", json!({"type": "double"})),
            ("numeric", "b", json!({"type": "double"})),
            ("money", "b", json!({"type": "double"})),
            ("bool", "b", json!({"type": "boolean"})),
            ("timestamptz", "b", date.clone()),
            ("timestamp", "b", date.clone()),
            ("date", "b", date.clone()),
            ("interval", "b", json!({"type": "keyword"})),
            ("jsonb", "b", json!({"type": "object", "enabled": false})),
            ("json", "b", json!({"type": "object", "enabled": false})),
            ("inet", "b", json!({"type": "ip"})),
            ("bytea", "b", json!({"type": "binary"})),
            ("_text", "b", text.clone()),
            ("_int8", "b", json!({"type": "long"})),
            ("_numeric", "b", json!({"type": "double"})),
            ("_timestamptz", "b", date.clone()),
        ] {
            assert_eq!(mapping(&column(type_name, kind)), expected, "{type_name}");
        }
    }

    #[test]
    fn a_declaration_derives_a_strict_mapping_with_nested_lists_and_objects() {
        let text = include_str!("../../tests/shop/orders.yaml")
            .replace("  config: orders_index.json\n", "");
        let declaration = Declaration::parse("orders", Path::new("orders.yaml"), &text).unwrap();
        assert_eq!(declaration.index_config, None);
        let model = &declaration.model;
        let types = |table: usize, name: &str| {
            let relation = model.tables[table].relation.as_str();
            match (relation, name) {
                (_, "id" | "product_id") => column("int8", "b"),
                (_, "quantity") => column("int4", "b"),
                (_, "placed_at") => column("timestamptz", "b"),
                (_, "price") => column("numeric", "b"),
                (_, "status") => column("order_status", "e"),
                _ => column("text", "b"),
            }
        };
        let config = derive(model, types);
        let text =
            json!({"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}});
        let long = json!({"type": "long"});
        assert_eq!(
            config,
            json!({
                "settings": {"number_of_shards": 1, "number_of_replicas": 0},
                "mappings": {"dynamic": "strict", "properties": {
                    "id": long,
                    "status": {"type": "keyword"},
                    "placed_at": {"type": "date", "format": "strict_date_optional_time"},
                    "customer": {"type": "object", "properties": {"id": long, "name": text}},
                    "lines": {"type": "nested", "properties": {
                        "id": long, "product_id": long, "quantity": {"type": "integer"}}},
                    "products": {"type": "nested", "properties": {
                        "id": long, "title": text, "price": {"type": "double"}}},
                    "product_titles": text,
                }},
            })
        );
    }

    #[test]
    fn a_query_declaration_needs_its_index_config() {
        let text = include_str!("../../tests/escape/genre_counts.yaml");
        let without = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("config:"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(text, without);
        let err = Declaration::parse("g", Path::new("g.yaml"), &without).unwrap_err();
        assert!(err.to_string().contains("needs `index.config`"), "{err}");
    }

    #[test]
    fn a_one_object_inside_a_list_is_an_object_in_the_lists_mapping() {
        let text =
            include_str!("../../tests/hops/items.yaml").replace("  config: items_index.json\n", "");
        let declaration = Declaration::parse("items", Path::new("items.yaml"), &text).unwrap();
        let config = derive(&declaration.model, |_, name: &str| match name {
            "id" | "quantity" => column("int4", "b"),
            _ => column("text", "b"),
        });
        let stock = &config["mappings"]["properties"]["stock"];
        assert_eq!(stock["type"], "nested");
        let text =
            json!({"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}});
        assert_eq!(
            stock["properties"]["store"],
            json!({"type": "object", "properties": {"name": text, "city": text}})
        );
        assert_eq!(
            config["mappings"]["properties"]["tags"]["properties"]["group"],
            json!({"type": "object", "properties": {"label": text}})
        );
    }
}

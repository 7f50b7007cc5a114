//! Lists inside a list's objects: one query per nested list for a whole batch, its rows keyed
//! by the key of the outer list's row they belong to (never a product with the outer rows).

use super::queries::nested_query;
use super::{order_key, rank, select, Columns, Layout, Out, Query, Shape, Slot};
use crate::declaration::model::{List, Model, Nested};
use crate::declaration::schema::{ColumnType, Kind};
use crate::extract::composite;

/// A list inside each of a list's objects.
#[derive(Debug)]
pub(super) struct NestedOut {
    pub name: String,
    /// How many fields come before it in the object.
    pub position: usize,
    /// Its place among the object's `one:` objects and lists.
    pub order: usize,
    /// Index into the plan's nested queries.
    pub query: usize,
    pub layout: Layout,
    /// The position of the entries' rank in the declared order (`None`: unsorted).
    pub rank: Option<usize>,
}

/// `shape` with the list's nested lists: their queries added to `queries`, and the outer rows'
/// own keys read by the outer query (`columns`), which the nested rows are matched on.
pub(super) fn with_nested(
    mut shape: Shape,
    model: &Model,
    list: &List,
    columns: &mut Columns,
    column_type: &impl Fn(usize, &str) -> ColumnType,
    slot: &impl Fn(usize, &str, Kind) -> Slot,
    queries: &mut Vec<Query>,
) -> Shape {
    let Shape::List { layout, .. } = &mut shape else {
        return shape;
    };
    if list.nested.is_empty() {
        return shape;
    }
    let table = list.join.table();
    let key = &model.tables[table].key;
    for column in key {
        if !columns.raw.contains(column) {
            columns.raw.push(column.clone());
        }
    }
    let expr = composite::text_of(key, "t");
    layout.key = Some(columns.add(expr, slot(table, "key", Kind::Text)));
    for inner in &list.nested {
        let out = nested_out(model, list, inner, column_type, slot, queries);
        layout.nested.push(out);
    }
    shape
}

fn nested_out(
    model: &Model,
    list: &List,
    inner: &Nested,
    column_type: &impl Fn(usize, &str) -> ColumnType,
    slot: &impl Fn(usize, &str, Kind) -> Slot,
    queries: &mut Vec<Query>,
) -> NestedOut {
    let mut columns = Columns::default();
    let fields = inner
        .fields
        .iter()
        .map(|column| {
            let ty = column_type(inner.table, &column.column);
            let expr = select(&format!("t.{}", column.column), &ty);
            Out {
                name: column.name.clone(),
                pos: columns.add(expr, slot(inner.table, &column.column, ty.kind())),
                null: column.null.clone(),
                rank: None,
                distinct: false,
            }
        })
        .collect();
    let rank = (!inner.sort.is_empty()).then(|| {
        let keys: Vec<String> = inner
            .sort
            .iter()
            .map(|key| {
                let column = &inner.fields[key.field].column;
                let ty = column_type(inner.table, column);
                order_key(
                    format!("t.{column}"),
                    &ty,
                    key.descending,
                    key.collation.as_deref(),
                )
            })
            .collect();
        columns.add(rank(&keys), slot(inner.table, &inner.name, Kind::Int))
    });
    for via in &inner.via {
        // Looked up so that the column counts as read by the compiled queries.
        let _ = column_type(inner.table, via);
    }
    let sql = nested_query(model, &list.join, inner, &columns.exprs, column_type);
    queries.push(Query {
        sql,
        slots: columns.slots,
    });
    NestedOut {
        name: inner.name.clone(),
        position: inner.position,
        order: inner.order,
        query: queries.len() - 1,
        layout: Layout {
            fields,
            ..Layout::default()
        },
        rank,
    }
}

//! Building documents: the queries run for a batch of root keys, their rows decoded and grouped
//! into each list's sorted entries per root key, then written as JSON ([`super::json`]).

use std::collections::HashMap;

use futures_util::future::try_join_all;
use sqlx::postgres::PgRow;
use sqlx::PgPool;

use super::entry::{ByKey, Entry};
use super::json::View;
use super::{Layout, Plan, Query, Shape, BODY_CAPACITY};
use crate::declaration::cell::{self, Cell};
use crate::transform::{Document, Key};

/// A decoded row: its root key and the cells after it.
pub(super) type Decoded<'r> = (&'r str, Vec<Cell<'r>>);

fn decode_each<'r>(
    results: &'r [Vec<PgRow>],
    queries: &[Query],
) -> Result<Vec<Vec<Decoded<'r>>>, sqlx::Error> {
    results
        .iter()
        .zip(queries)
        .map(|(rows, query)| decode_all(rows, query))
        .collect()
}

fn decode_all<'r>(rows: &'r [PgRow], query: &Query) -> Result<Vec<Decoded<'r>>, sqlx::Error> {
    let mut decoded = Vec::with_capacity(rows.len());
    for row in rows {
        let key: &str = cell::column(row, 0, "key")?;
        let mut cells = Vec::with_capacity(query.slots.len() + 1);
        cells.push(Cell::Null);
        for (index, slot) in query.slots.iter().enumerate() {
            cells.push(cell::decode(row, index + 1, slot.kind, &slot.name)?);
        }
        decoded.push((key, cells));
    }
    Ok(decoded)
}

impl Plan {
    pub async fn build(&self, pool: &PgPool, ids: &[Key]) -> Result<Vec<Document>, sqlx::Error> {
        let keys: Vec<&str> = ids.iter().map(Key::as_str).collect();
        let root = sqlx::query(&self.root.sql).bind(&keys).fetch_all(pool);
        let lists = try_join_all(
            self.lists
                .iter()
                .map(|query| sqlx::query(&query.sql).bind(&keys).fetch_all(pool)),
        );
        let nested = try_join_all(
            self.nested
                .iter()
                .map(|query| sqlx::query(&query.sql).bind(&keys).fetch_all(pool)),
        );
        let (root, lists, nested) = tokio::try_join!(root, lists, nested)?;
        let root = decode_all(&root, &self.root)?;
        let list_rows = decode_each(&lists, &self.lists)?;
        let nested_rows = decode_each(&nested, &self.nested)?;
        let entries = self.entries(&list_rows);
        let nested = self.nested_entries(&nested_rows);
        let mut built = Vec::with_capacity(root.len());
        for (key, cells) in &root {
            let view = View {
                plan: self,
                root: cells,
                key,
                entries: &entries,
                nested: &nested,
            };
            let mut body = Vec::with_capacity(BODY_CAPACITY);
            serde_json::to_writer(&mut body, &view)
                .map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
            built.push(Document {
                id: Key::from(*key),
                body: body.into(),
                version: None,
            });
        }
        Ok(built)
    }

    /// For every list inside a list's objects (by its query), its sorted entries per key of
    /// the outer row.
    fn nested_entries<'r>(&self, rows: &[Vec<Decoded<'r>>]) -> Vec<ByKey<'r>> {
        let mut entries: Vec<ByKey<'r>> = (0..rows.len()).map(|_| HashMap::new()).collect();
        for shape in &self.shape {
            let Shape::List { layout, .. } = shape else {
                continue;
            };
            for inner in &layout.nested {
                let query = inner.query;
                entries[query] = list_entries(&rows[query], None, &inner.layout, inner.rank);
            }
        }
        entries
    }

    /// For every list field (by field index), its sorted entries per root key.
    fn entries<'r>(&self, lists: &[Vec<Decoded<'r>>]) -> Vec<ByKey<'r>> {
        self.shape
            .iter()
            .map(|shape| match shape {
                Shape::List {
                    query,
                    filter,
                    layout,
                    rank,
                    ..
                } => list_entries(&lists[*query], *filter, layout, *rank),
                _ => HashMap::new(),
            })
            .collect()
    }
}

pub(super) fn list_entries<'r>(
    rows: &[Decoded<'r>],
    filter: Option<usize>,
    layout: &Layout,
    rank: Option<usize>,
) -> ByKey<'r> {
    let collect = &layout.collect;
    let mut by_root: ByKey<'r> = HashMap::new();
    let mut groups: HashMap<(&'r str, String), usize> = HashMap::new();
    for (key, cells) in rows {
        let wanted = filter.is_none_or(|pos| matches!(cells[pos], Cell::Bool(true)));
        if !wanted {
            continue;
        }
        let values: Vec<Cell<'r>> = layout.fields.iter().map(|out| cells[out.pos]).collect();
        let hops = layout
            .hops
            .iter()
            .map(|hop| {
                let present = matches!(cells[hop.present], Cell::Bool(true));
                present.then(|| hop.fields.iter().map(|out| cells[out.pos]).collect())
            })
            .collect();
        let entries = by_root.entry(key).or_default();
        let entry = Entry {
            rank: rank.map_or(0, |pos| rank_of(&cells[pos])),
            fields: values,
            collected: vec![Vec::new(); collect.len()],
            hops,
            key: match layout.key.map(|pos| cells[pos]) {
                Some(Cell::Text(key)) => key,
                _ => "",
            },
        };
        if collect.is_empty() {
            entries.push(entry);
            continue;
        }
        let group_key = (
            *key,
            serde_json::to_string(&(entry.key, &entry.fields, &entry.hops)).unwrap_or_default(),
        );
        let index = *groups.entry(group_key).or_insert_with(|| {
            entries.push(entry);
            entries.len() - 1
        });
        for (slot, out) in collect.iter().enumerate() {
            let ranked = (
                out.rank.map_or(0, |pos| rank_of(&cells[pos])),
                cells[out.pos],
            );
            entries[index].collected[slot].push(ranked);
        }
    }
    for entries in by_root.values_mut() {
        // Stable: rows the order does not tell apart keep the order they came in.
        entries.sort_by_key(|entry| entry.rank);
        for entry in entries.iter_mut() {
            for (values, out) in entry.collected.iter_mut().zip(collect) {
                values.sort_by_key(|(rank, _)| *rank);
                if out.distinct {
                    // Equal ranks are values the database's order holds equal.
                    values.dedup_by_key(|(rank, _)| *rank);
                }
            }
        }
    }
    by_root
}

fn rank_of(cell: &Cell<'_>) -> i64 {
    match cell {
        Cell::Int(rank) => *rank,
        _ => 0,
    }
}

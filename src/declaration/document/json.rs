//! One document written as JSON in the declared field order, strings borrowed from the rows.

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::Value;

use super::entry::{ByKey, Entry};
use super::nested::NestedOut;
use super::{HopOut, Layout, Out, Plan, Shape};
use crate::declaration::cell::Cell;

/// One document, serialized in the declared field order.
pub(super) struct View<'a, 'r> {
    pub(super) plan: &'a Plan,
    pub(super) key: &'r str,
    pub(super) root: &'a [Cell<'r>],
    pub(super) entries: &'a [ByKey<'r>],
    /// The entries of each list inside a list's objects, by its query.
    pub(super) nested: &'a [ByKey<'r>],
}

const NO_ENTRIES: &[Entry<'static>] = &[];

impl View<'_, '_> {
    fn entries(&self, field: usize) -> &[Entry<'_>] {
        self.entries[field]
            .get(self.key)
            .map_or(NO_ENTRIES, Vec::as_slice)
    }
}

impl Serialize for View<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.plan.shape.len()))?;
        for (index, shape) in self.plan.shape.iter().enumerate() {
            match shape {
                Shape::Column(out) => {
                    map.serialize_entry(&out.name, &Value_(&self.root[out.pos], &out.null))?
                }
                Shape::List {
                    name,
                    one: true,
                    layout,
                    ..
                } => {
                    let entry = self.entries(index).first();
                    let nested = self.nested;
                    let object = entry.map(|entry| Object {
                        entry,
                        layout,
                        nested,
                    });
                    map.serialize_entry(name, &object)?
                }
                Shape::List { name, layout, .. } => map.serialize_entry(
                    name,
                    &Objects {
                        entries: self.entries(index),
                        layout,
                        nested: self.nested,
                    },
                )?,
                Shape::Names { name, list, field } => {
                    let Shape::List { layout, .. } = &self.plan.shape[*list] else {
                        continue;
                    };
                    let fields = &layout.fields;
                    map.serialize_entry(
                        name,
                        &Names {
                            entries: self.entries(*list),
                            field: *field,
                            null: &fields[*field].null,
                        },
                    )?
                }
            }
        }
        map.end()
    }
}

/// A cell, or the declared value for NULL.
struct Value_<'a, 'r>(&'a Cell<'r>, &'a Option<Value>);

impl Serialize for Value_<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (self.0, self.1) {
            (Cell::Null, Some(default)) => default.serialize(serializer),
            (cell, _) => cell.serialize(serializer),
        }
    }
}

struct Object<'a, 'r> {
    entry: &'a Entry<'r>,
    layout: &'a Layout,
    nested: &'a [ByKey<'r>],
}

/// A `one:` object or a list inside a list's object.
enum Inner<'a, 'r> {
    Hop(&'a HopOut, Option<&'a [Cell<'r>]>),
    List(&'a NestedOut),
}

impl<'a, 'r> Object<'a, 'r> {
    /// The object's `one:` objects and lists with the number of fields declared before each,
    /// in declared order.
    fn inner(&self) -> Vec<(usize, Inner<'a, 'r>)> {
        let layout = self.layout;
        let mut inner: Vec<(usize, usize, Inner<'a, 'r>)> = layout
            .hops
            .iter()
            .zip(&self.entry.hops)
            .map(|(hop, cells)| (hop.position, hop.order, Inner::Hop(hop, cells.as_deref())))
            .chain(
                layout
                    .nested
                    .iter()
                    .map(|list| (list.position, list.order, Inner::List(list))),
            )
            .collect();
        inner.sort_by_key(|(position, order, _)| (*position, *order));
        inner
            .into_iter()
            .map(|(position, _, inner)| (position, inner))
            .collect()
    }

    fn write<M: SerializeMap>(&self, map: &mut M, inner: &Inner<'_, 'r>) -> Result<(), M::Error> {
        match inner {
            Inner::Hop(hop, cells) => {
                map.serialize_entry(&hop.name, &HopObject(&hop.fields, *cells))
            }
            Inner::List(list) => {
                let entries = self.nested[list.query]
                    .get(self.entry.key)
                    .map_or(NO_ENTRIES, Vec::as_slice);
                let objects = Objects {
                    entries,
                    layout: &list.layout,
                    nested: self.nested,
                };
                map.serialize_entry(&list.name, &objects)
            }
        }
    }
}

impl Serialize for Object<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let layout = self.layout;
        let size = layout.fields.len() + layout.collect.len() + layout.hops.len();
        let mut map = serializer.serialize_map(Some(size + layout.nested.len()))?;
        let inner = self.inner();
        let mut inner = inner.iter().peekable();
        for (index, (out, cell)) in layout.fields.iter().zip(&self.entry.fields).enumerate() {
            while let Some((_, next)) = inner.next_if(|(position, _)| *position <= index) {
                self.write(&mut map, next)?;
            }
            map.serialize_entry(&out.name, &Value_(cell, &out.null))?;
        }
        for (_, next) in inner {
            self.write(&mut map, next)?;
        }
        for (out, values) in layout.collect.iter().zip(&self.entry.collected) {
            map.serialize_entry(&out.name, &Collected(values))?;
        }
        map.end()
    }
}

/// A `one:` object inside a list's object, or `null` when its row refs nothing.
struct HopObject<'a, 'r>(&'a [Out], Option<&'a [Cell<'r>]>);

impl Serialize for HopObject<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(cells) = self.1 else {
            return serializer.serialize_none();
        };
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (out, cell) in self.0.iter().zip(cells) {
            map.serialize_entry(&out.name, &Value_(cell, &out.null))?;
        }
        map.end()
    }
}

/// A collected array: the values without their ranks.
pub(super) struct Collected<'a, 'r>(pub(super) &'a [(i64, Cell<'r>)]);

impl Serialize for Collected<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(_, cell)| cell))
    }
}

pub(super) struct Objects<'a, 'r> {
    pub(super) entries: &'a [Entry<'r>],
    pub(super) layout: &'a Layout,
    pub(super) nested: &'a [ByKey<'r>],
}

impl Serialize for Objects<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.entries.len()))?;
        for entry in self.entries {
            seq.serialize_element(&Object {
                entry,
                layout: self.layout,
                nested: self.nested,
            })?;
        }
        seq.end()
    }
}

struct Names<'a, 'r> {
    entries: &'a [Entry<'r>],
    field: usize,
    null: &'a Option<Value>,
}

impl Serialize for Names<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.entries.len()))?;
        for entry in self.entries {
            seq.serialize_element(&Value_(&entry.fields[self.field], self.null))?;
        }
        seq.end()
    }
}

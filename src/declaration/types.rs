//! The column types of a compiled declaration, by table, and every column its queries read.

use std::cell::RefCell;

use super::model::{Model, TableDecl};
use super::schema::{Catalog, ColumnType};
use crate::extract::composite;

/// Column types by table index.
pub(super) struct Types<'a> {
    pub(super) model: &'a Model,
    pub(super) catalog: &'a Catalog,
    /// Every column looked up: what the compiled queries read.
    pub(super) read: RefCell<Catalog>,
}

impl Types<'_> {
    pub(super) fn column(&self, table: usize, column: &str) -> &ColumnType {
        let relation = &self.model.tables[table].relation;
        let found = &self.catalog[relation][column];
        self.read
            .borrow_mut()
            .entry(relation.clone())
            .or_default()
            .insert(column.to_owned(), found.clone());
        found
    }

    pub(super) fn table(&self, table: usize) -> &TableDecl {
        &self.model.tables[table]
    }

    /// The SQL type a key value of this column is cast to (checked: keys and refs are keys).
    pub(super) fn cast(&self, table: usize, column: &str) -> &'static str {
        self.column(table, column).key_type().unwrap_or("text")
    }

    /// The SQL type of each key column of `table`.
    pub(super) fn key_casts(&self, table: usize) -> Vec<String> {
        self.casts(table, &self.table(table).key)
    }

    /// The SQL type of each of `columns` of `table` (a key, or refs that hold one).
    fn casts(&self, table: usize, columns: &[String]) -> Vec<String> {
        columns
            .iter()
            .map(|c| self.cast(table, c).to_owned())
            .collect()
    }

    /// Whether the row `alias`'s `columns` (of `table`) hold one of the keys in `$1`.
    pub(super) fn keys_in(&self, table: usize, columns: &[String], alias: &str) -> String {
        composite::any_of(columns, &self.casts(table, columns), alias, "$1")
    }
}

//! One object of a list as the rows give it, before it is written as JSON.

use std::collections::HashMap;

use crate::declaration::cell::Cell;

/// One object of a list: its field values, and the collected arrays.
#[derive(Debug)]
pub(super) struct Entry<'r> {
    /// Its place in the list's declared order (0 when the list has none).
    pub(super) rank: i64,
    pub(super) fields: Vec<Cell<'r>>,
    /// Each collected value with its rank in the database's order of that column.
    pub(super) collected: Vec<Vec<(i64, Cell<'r>)>>,
    /// Each `one:` object's fields, `None` when the row refs nothing.
    pub(super) hops: Vec<Option<Vec<Cell<'r>>>>,
    /// The row's own key as text, when lists inside its object hold rows that ref it.
    pub(super) key: &'r str,
}

/// A list's sorted entries per key: of the root row, or of the outer row of a nested list.
pub(super) type ByKey<'r> = HashMap<&'r str, Vec<Entry<'r>>>;

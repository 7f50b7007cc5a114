//! From changed rows to the root documents they touch: a root row is its own document, a row
//! of another table reaches the roots its fan-out finds. Shared by the triggers' recorded
//! changes, the slot's streamed ones and the partition watch.

use std::collections::BTreeMap;

use tracing::debug;

use crate::declaration::Touch;
use crate::extract::Change;
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::stages::source::Source;
use crate::pipeline::stages::units::Unit;
use crate::transform::Key;

/// The root documents a window of recorded changes touches, each key once (also when it
/// is reached from several tables), in units of a batch: a backlog of many writes to few
/// rows costs one build per document.
pub(in crate::pipeline) async fn touched_units<P: Pipeline, S: Source>(
    pipeline: &P,
    source: &S,
    changes: &[Change],
    batch_size: u32,
) -> Result<Vec<Unit<()>>, SyncError> {
    let mut by_column: BTreeMap<(&str, &str), Vec<Key>> = BTreeMap::new();
    for change in changes.iter().filter(|change| !change.is_truncate()) {
        by_column
            .entry((change.relation.as_str(), change.column.as_str()))
            .or_default()
            .push(Key::from(change.value.as_str()));
    }
    let mut roots: Vec<Key> = Vec::new();
    for ((relation, column), mut keys) in by_column {
        keys.sort_unstable();
        keys.dedup();
        match pipeline.touch(relation, column) {
            None => debug!(
                relation,
                column,
                rows = keys.len(),
                "recorded changes this pipeline does not read"
            ),
            Some(Touch::Root) => roots.extend(keys),
            Some(Touch::FanOut(sql)) => {
                for chunk in keys.chunks(batch_size as usize) {
                    let units = fan_out_units(source, sql, chunk, batch_size, ()).await?;
                    roots.extend(units.into_iter().flat_map(|unit| unit.ids));
                }
            }
        }
    }
    roots.sort_unstable();
    roots.dedup();
    let root = pipeline.root();
    roots.retain(|key| root.accepts(key.as_str()));
    Ok(roots
        .chunks(batch_size as usize)
        .map(|ids| Unit {
            ids: ids.to_vec(),
            mark: None,
        })
        .collect())
}

/// The root documents that changed child rows touch, a page per unit; the last unit carries
/// `mark` (an empty unit when no document is touched).
pub(in crate::pipeline) async fn fan_out_units<S: Source, M>(
    source: &S,
    sql: &str,
    changed: &[Key],
    batch_size: u32,
    mark: M,
) -> Result<Vec<Unit<M>>, SyncError> {
    let mut units = Vec::new();
    let mut after = None;
    loop {
        let roots = source
            .fan_out(sql, changed, after.as_ref(), batch_size)
            .await?;
        let full = roots.len() == batch_size as usize;
        after = roots.last().cloned();
        if !roots.is_empty() {
            units.push(Unit {
                ids: roots,
                mark: None,
            });
        }
        if !full {
            break;
        }
    }
    match units.last_mut() {
        Some(last) => last.mark = Some(mark),
        None => units.push(Unit {
            ids: Vec::new(),
            mark: Some(mark),
        }),
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sqlx::PgPool;

    use super::*;
    use crate::extract::Table;
    use crate::pipeline::stages::memory::MemoryRows;
    use crate::transform::Document;

    /// A pipeline of a root keyed by `key_type` and two tables that reach it through the
    /// fan-outs named `genre` and `person`; `content.other` is not read.
    struct Films {
        tables: Vec<Table>,
        touches: BTreeMap<(String, String), Touch>,
    }

    impl Films {
        fn new(key_type: &str) -> Self {
            let table = |relation: &str, key_type: &str| Table {
                relation: relation.into(),
                key: vec!["id".into()],
                key_types: vec![key_type.into()],
                changed_by: None,
                fan_out: None,
                captured: vec!["id".into()],
            };
            let mut touches = BTreeMap::new();
            let mut touch = |relation: &str, touch: Touch| {
                touches.insert((relation.to_owned(), "id".to_owned()), touch);
            };
            touch("content.film", Touch::Root);
            touch("content.genre", Touch::FanOut("genre".into()));
            touch("content.person", Touch::FanOut("person".into()));
            Self {
                tables: vec![
                    table("content.film", key_type),
                    table("content.genre", "text"),
                    table("content.person", "text"),
                ],
                touches,
            }
        }
    }

    impl Pipeline for Films {
        fn name(&self) -> &str {
            "films"
        }
        fn tables(&self) -> &[Table] {
            &self.tables
        }
        fn touch(&self, relation: &str, column: &str) -> Option<&Touch> {
            self.touches.get(&(relation.to_owned(), column.to_owned()))
        }
        fn fingerprint(&self) -> &str {
            "films"
        }
        fn builds_undeclared_documents(&self) -> bool {
            false
        }
        async fn build(&self, _: &PgPool, _: &[Key]) -> Result<Vec<Document>, sqlx::Error> {
            unreachable!("documents come from the source")
        }
    }

    fn change(relation: &str, value: &str) -> Change {
        let column = if value.is_empty() { "" } else { "id" };
        Change {
            seq: 0,
            relation: relation.into(),
            column: column.into(),
            value: value.into(),
        }
    }

    fn ids(units: &[Unit<()>]) -> Vec<Vec<&str>> {
        units
            .iter()
            .map(|unit| unit.ids.iter().map(Key::as_str).collect())
            .collect()
    }

    #[tokio::test]
    async fn each_root_touched_is_built_once_in_units_of_a_batch() {
        let rows = MemoryRows::default();
        rows.link("genre", "drama", &["k3", "k1"]);
        rows.link("person", "ann", &["k2", "k3"]);
        let changes = [
            change("content.film", "k1"),
            change("content.film", "k1"),
            change("content.genre", "drama"),
            change("content.person", "ann"),
            change("content.person", "ann"),
        ];
        let units = touched_units(&Films::new("text"), &rows, &changes, 2).await;
        assert_eq!(ids(&units.unwrap()), [vec!["k1", "k2"], vec!["k3"]]);
    }

    #[tokio::test]
    async fn a_fan_out_larger_than_a_page_is_read_to_its_end() {
        let rows = MemoryRows::default();
        let roots: Vec<String> = (1..=25).map(|n| format!("k{n:02}")).collect();
        let roots: Vec<&str> = roots.iter().map(String::as_str).collect();
        rows.link("genre", "drama", &roots);
        let changes = [change("content.genre", "drama")];
        let units = touched_units(&Films::new("text"), &rows, &changes, 10)
            .await
            .unwrap();
        let sizes: Vec<usize> = units.iter().map(|unit| unit.ids.len()).collect();
        assert_eq!(sizes, [10, 10, 5]);
        assert_eq!(units.iter().flat_map(|unit| &unit.ids).count(), 25);
    }

    #[tokio::test]
    async fn unread_tables_truncations_and_ids_no_root_can_have_touch_nothing() {
        let rows = MemoryRows::default();
        rows.link("genre", "drama", &["7", "not-a-number"]);
        let changes = [
            change("content.other", "1"),
            change("content.film", ""),
            change("content.genre", "drama"),
            change("content.film", "8"),
        ];
        let units = touched_units(&Films::new("bigint"), &rows, &changes, 10).await;
        assert_eq!(ids(&units.unwrap()), [vec!["7", "8"]]);
    }
}

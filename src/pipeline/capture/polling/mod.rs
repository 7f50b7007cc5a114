//! Following changes: a keyset cursor on `(changed_at, id)` per table, so rows sharing a
//! timestamp and batch boundaries lose nothing; child tables fan out to their root documents.
//! The cursor never passes the start of a transaction still open, so a late commit is read
//! once it commits (see `horizon.sql`).

pub(crate) mod guard;

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{stream, Stream, TryStreamExt};
use tracing::debug;

use crate::config::{PollingGuard, SyncConfig};
use crate::extract::{start_cursor, Table};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;
use crate::pipeline::stages::source::Source;
use crate::pipeline::stages::touched::fan_out_units;
use crate::pipeline::stages::units::Unit;
use crate::pipeline::{log_progress, Engine};
use crate::state::Cursor;
use crate::transform::Key;

/// What polling keeps between cycles: the late-commit guard's settings, and the session it
/// last named for holding polling back (named once, not every cycle).
pub(crate) struct Polling {
    guard: PollingGuard,
    held_back_after: Duration,
    named_holder: Option<i32>,
}

impl Polling {
    pub fn new(sync: &SyncConfig) -> Self {
        Self {
            guard: sync.polling_guard,
            held_back_after: sync.held_back_after,
            named_holder: None,
        }
    }
}

impl<P: Pipeline> Engine<P> {
    pub(in crate::pipeline) async fn catch_up(&mut self) -> Result<(), SyncError> {
        let before = self.totals;
        let horizon = self.polling_horizon().await?;
        let tables = self.pipeline.tables().to_vec();
        for table in tables {
            self.follow(table, horizon).await?;
        }
        if self.totals != before {
            log_progress("changes", self.totals);
        }
        Ok(())
    }

    /// Indexes what changed in `table` after its cursor; the cursor moves past a page of
    /// changes once every document it touches was acknowledged.
    async fn follow(&mut self, table: Table, horizon: DateTime<Utc>) -> Result<(), SyncError> {
        let after = self
            .state
            .cursors
            .get(&table.relation)
            .cloned()
            .unwrap_or_else(|| start_cursor(&table));
        let relation = table.relation.clone();
        let units = change_units(self.rows(), table, after, horizon, self.batch_size);
        self.write_units(units, |engine, cursor| {
            engine.state.cursors.insert(relation.clone(), cursor);
            true
        })
        .await
    }
}

/// Pages of changed rows after `after`, each turned into units of root ids; the last unit of a
/// page carries the page's last cursor.
fn change_units<S: Source>(
    rows: S,
    table: Table,
    after: Cursor,
    horizon: DateTime<Utc>,
    batch_size: u32,
) -> impl Stream<Item = Result<Unit<Cursor>, SyncError>> {
    stream::try_unfold(Some(after), move |next| {
        let rows = rows.clone();
        let table = table.clone();
        async move {
            let Some(after) = next else {
                return Ok::<_, SyncError>(None);
            };
            let changes = rows.changes(&table, &after, horizon, batch_size).await?;
            let Some(last) = changes.last().cloned() else {
                return Ok(None);
            };
            debug!(table = table.relation, rows = changes.len(), "changed rows");
            let ids: Vec<Key> = changes.iter().map(|change| change.id.clone()).collect();
            let units = match &table.fan_out {
                None => vec![Unit {
                    ids,
                    mark: Some(last.clone()),
                }],
                Some(sql) => fan_out_units(&rows, sql, &ids, batch_size, last.clone()).await?,
            };
            let more = changes.len() == batch_size as usize;
            let units = stream::iter(units.into_iter().map(Ok::<_, SyncError>));
            Ok(Some((units, more.then_some(last))))
        }
    })
    .try_flatten()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use futures_util::StreamExt;

    use super::*;
    use crate::load::memory::MemoryIndex;
    use crate::load::Sink;
    use crate::pipeline::stages::memory::MemoryRows;
    use crate::pipeline::stages::units;
    use crate::state::Position;

    const PAGE: u32 = 4;
    const FILM: &str = "content.film";
    const PERSON: &str = "content.person";

    fn at(second: u32) -> Position {
        Position::Time(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap())
    }

    fn horizon(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap()
    }

    fn table(relation: &str, fan_out: Option<&str>) -> Table {
        Table {
            relation: relation.into(),
            key: vec!["id".into()],
            key_types: vec!["text".into()],
            changed_by: None,
            fan_out: fan_out.map(str::to_owned),
            captured: vec!["id".into()],
        }
    }

    /// One polling pass over `table` as the engine runs it: from the last cursor stored, the
    /// units built in order, each written, and a unit's cursor stored once it was written.
    async fn pass(
        rows: &MemoryRows,
        index: &MemoryIndex,
        table: &Table,
        stored: &mut Vec<Cursor>,
        horizon: DateTime<Utc>,
    ) -> Result<(), SyncError> {
        let start = Cursor {
            at: at(0),
            id: Key::from(""),
        };
        let after = stored.last().cloned().unwrap_or(start);
        let units = change_units(rows.clone(), table.clone(), after, horizon, PAGE);
        let built = units::built(rows.clone(), units);
        let mut built = std::pin::pin!(built);
        while let Some(unit) = built.next().await {
            let unit = unit?;
            index.write(unit.actions).await?;
            if let Some(cursor) = unit.mark {
                stored.push(cursor);
            }
        }
        Ok(())
    }

    fn ids(stored: &[Cursor]) -> Vec<String> {
        stored.iter().map(|cursor| cursor.id.to_string()).collect()
    }

    /// `count` films `k0001`… all changed at the same second.
    fn films_changed_together(count: usize, second: u32) -> MemoryRows {
        let rows = MemoryRows::numbered(count);
        for n in 1..=count {
            rows.changed(FILM, &format!("k{n:04}"), at(second));
        }
        rows
    }

    #[tokio::test]
    async fn rows_sharing_a_timestamp_across_pages_are_each_read_and_the_cursor_ends_at_the_last() {
        let rows = films_changed_together(10, 5);
        let index = MemoryIndex::default();
        let mut stored = Vec::new();
        let film = table(FILM, None);
        pass(&rows, &index, &film, &mut stored, horizon(59))
            .await
            .expect("the pass");
        assert_eq!(index.documents(), rows.documents());
        assert_eq!(ids(&stored), ["k0004", "k0008", "k0010"], "each page's end");
        assert!(stored.iter().all(|cursor| cursor.at == at(5)));
    }

    #[tokio::test]
    async fn a_pass_stopped_by_a_failed_request_resumes_from_the_stored_cursor() {
        let rows = films_changed_together(10, 5);
        let index = MemoryIndex::default();
        index.fail_request(2);
        let mut stored = Vec::new();
        let film = table(FILM, None);
        let stopped = pass(&rows, &index, &film, &mut stored, horizon(59)).await;
        assert!(stopped.is_err(), "the failed request stops the pass");
        assert_eq!(ids(&stored), ["k0004"], "no cursor past the failed page");
        // Before the next pass a film of the failed page changes again, one before the
        // cursor too: both are read (the first at its new position).
        rows.set("k0006", r#"{"n":"changed"}"#);
        rows.changed(FILM, "k0006", at(7));
        rows.set("k0002", r#"{"n":"changed too"}"#);
        rows.changed(FILM, "k0002", at(8));
        pass(&rows, &index, &film, &mut stored, horizon(59))
            .await
            .expect("the resumed pass");
        assert_eq!(index.documents(), rows.documents());
        assert_eq!(
            stored.last().map(|c| c.id.to_string()),
            Some("k0002".into())
        );
    }

    #[tokio::test]
    async fn a_child_row_fans_out_to_its_roots_and_only_the_last_unit_moves_the_cursor() {
        let rows = MemoryRows::numbered(11);
        let roots: Vec<String> = (1..=10).map(|n| format!("k{n:04}")).collect();
        let roots: Vec<&str> = roots.iter().map(String::as_str).collect();
        rows.link("person", "p1", &roots);
        rows.changed(PERSON, "p1", at(5));
        // Committed at the horizon: a transaction still open may write before it.
        rows.link("person", "p2", &["k0011"]);
        rows.changed(PERSON, "p2", at(30));
        let index = MemoryIndex::default();
        let mut stored = Vec::new();
        let person = table(PERSON, Some("person"));
        pass(&rows, &index, &person, &mut stored, horizon(30))
            .await
            .expect("the pass");
        assert_eq!(index.documents().len(), 10, "the ten films of p1, not p2's");
        assert_eq!(ids(&stored), ["p1"], "once, after its last unit");
        pass(&rows, &index, &person, &mut stored, horizon(31))
            .await
            .expect("the next pass");
        assert_eq!(index.documents(), rows.documents());
        assert_eq!(ids(&stored), ["p1", "p2"]);
    }
}

//! Logical capture: a publication over the followed tables and a `pgoutput` slot per
//! pipeline and alias. This file sets them up, takes them down and reads their state; the
//! stream itself is in `stream`, the message format in `pgoutput`.

mod failover;
mod pgoutput;
mod requirements;
mod slot;
mod standby;
mod stream;
mod tls;

use std::collections::BTreeMap;

use sqlx::Row;

use super::{captured_columns, PgError, Postgres, Table};

pub(crate) use failover::{
    enable_failover, switch_point, timeline_history, FailoverSlot, FIRST_WITH_FAILOVER,
};
pub(crate) use slot::Slot;
pub(crate) use stream::{mark_position, parse_lsn, Event, LogicalError, LogicalStream};

/// How often a streamed commit's visibility is asked while it is not visible yet.
const VISIBLE_POLL: std::time::Duration = std::time::Duration::from_millis(2);
/// How long dropping a slot waits for the walsender of a reader that just went away.
const RELEASE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);
const RELEASE_POLL: std::time::Duration = std::time::Duration::from_millis(100);
/// A committed transaction is visible within moments; past this something else is wrong.
const VISIBLE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// A slot as `pg_replication_slots` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct SlotState {
    pub plugin: Option<String>,
    pub database: Option<String>,
    pub active_pid: Option<i32>,
    /// `reserved`, `extended`, `unreserved` or `lost`.
    pub wal_status: Option<String>,
    pub confirmed_flush_lsn: Option<String>,
    /// Log the slot keeps on the server's disk.
    pub retained_bytes: Option<i64>,
    /// Log written since the last position the reader confirmed.
    pub unconfirmed_bytes: Option<i64>,
}

/// A followed table whose replica identity does not put the recorded columns in the old
/// row of updates and deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShortIdentity {
    /// The table (or partition) whose identity is short.
    pub relation: String,
    /// The followed table it holds rows of (itself, or a partitioned parent).
    pub followed: String,
    pub missing: Vec<String>,
}

fn quoted_relation(relation: &str) -> String {
    relation
        .split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

impl Postgres {
    /// The slot's state; `None` when there is no such slot.
    pub async fn slot_state(&self, slot: &Slot) -> Result<Option<SlotState>, PgError> {
        let row = self
            .call("read the replication slot", || {
                sqlx::query(include_str!("sql/slot.sql"))
                    .bind(&slot.name)
                    .fetch_optional(self.pool())
            })
            .await?;
        let Some(row) = row else { return Ok(None) };
        let state = (|| {
            Ok::<_, sqlx::Error>(SlotState {
                plugin: row.try_get("plugin")?,
                database: row.try_get("database")?,
                active_pid: row.try_get("active_pid")?,
                wal_status: row.try_get("wal_status")?,
                confirmed_flush_lsn: row.try_get("confirmed_flush_lsn")?,
                retained_bytes: row.try_get("retained_bytes")?,
                unconfirmed_bytes: row.try_get("unconfirmed_bytes")?,
            })
        })()
        .map_err(PgError::new("read the replication slot"))?;
        Ok(Some(state))
    }

    /// Creates the slot unless it is there; `true` when it was created. On Postgres 17+ it is
    /// a failover slot: a standby that synchronizes slots keeps it across its promotion.
    pub async fn create_slot(&self, slot: &Slot) -> Result<bool, PgError> {
        if self.slot_state(slot).await?.is_some() {
            return Ok(false);
        }
        let sql = match self.keeps_slots_across_failover().await? {
            true => include_str!("sql/create_failover_slot.sql"),
            false => include_str!("sql/create_slot.sql"),
        };
        self.call("create the replication slot", || {
            sqlx::query_scalar::<_, String>(sql)
                .bind(&slot.name)
                .fetch_one(self.pool())
        })
        .await?;
        Ok(true)
    }

    /// Drops the slot if it is there; `true` when there was one. A reader that just let go
    /// (a worker stopped a moment ago) leaves its walsender for a moment: that is waited for,
    /// up to `RELEASE_PATIENCE`; a slot still in use then fails with Postgres's own words
    /// ("replication slot … is active for PID …").
    pub async fn drop_slot(&self, slot: &Slot) -> Result<bool, PgError> {
        let deadline = tokio::time::Instant::now() + RELEASE_PATIENCE;
        while let Some(SlotState {
            active_pid: Some(_),
            ..
        }) = self.slot_state(slot).await?
        {
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(RELEASE_POLL).await;
        }
        let dropped = self
            .call("drop the replication slot", || {
                sqlx::query(include_str!("sql/drop_slot.sql"))
                    .bind(&slot.name)
                    .execute(self.pool())
            })
            .await?;
        Ok(dropped.rows_affected() > 0)
    }

    /// Creates the publication over `tables`, or sets its tables to them.
    pub async fn publish(&self, slot: &Slot, tables: &[Table]) -> Result<(), PgError> {
        let mut relations: Vec<String> = tables
            .iter()
            .map(|t| quoted_relation(&t.relation))
            .collect();
        relations.sort();
        relations.dedup();
        let exists = self.publication_exists(slot).await?;
        // Through the root: a change in any partition, present or future, arrives as a change
        // of the followed table. (A TRUNCATE of one partition does not arrive at all: the
        // engine's partition watch sees it.)
        let verb = match exists {
            true => "ALTER PUBLICATION {name} SET TABLE {tables}; ALTER PUBLICATION {name} SET (publish_via_partition_root = true)",
            false => "CREATE PUBLICATION {name} FOR TABLE {tables} WITH (publish_via_partition_root = true)",
        };
        let sql = verb
            .replace("{name}", &slot.name)
            .replace("{tables}", &relations.join(", "));
        sqlx::raw_sql(&sql)
            .execute(self.pool())
            .await
            .map_err(PgError::new("create the publication"))?;
        Ok(())
    }

    pub async fn publication_exists(&self, slot: &Slot) -> Result<bool, PgError> {
        self.call("read the publication", || {
            sqlx::query_scalar(include_str!("sql/publication_exists.sql"))
                .bind(&slot.name)
                .fetch_one(self.pool())
        })
        .await
    }

    /// The publication's oid, `None` when it does not exist.
    pub async fn publication_oid(&self, slot: &Slot) -> Result<Option<i64>, PgError> {
        self.call("read the publication", || {
            sqlx::query_scalar(include_str!("sql/publication_oid.sql"))
                .bind(&slot.name)
                .fetch_optional(self.pool())
        })
        .await
    }

    /// Whether the publication sends the changes of partitions as changes of their root
    /// (without, they carry the partitions' own names and the stream passes them over).
    pub async fn publishes_via_root(&self, slot: &Slot) -> Result<bool, PgError> {
        self.call("read the publication", || {
            sqlx::query_scalar(include_str!("sql/publication_via_root.sql"))
                .bind(&slot.name)
                .fetch_one(self.pool())
        })
        .await
    }

    /// Drops the publication if it is there; `true` when there was one.
    pub async fn unpublish(&self, slot: &Slot) -> Result<bool, PgError> {
        let exists: bool = sqlx::query_scalar(include_str!("sql/publication_exists.sql"))
            .bind(&slot.name)
            .fetch_one(self.pool())
            .await
            .map_err(PgError::new("drop the publication"))?;
        if exists {
            sqlx::raw_sql(&format!("DROP PUBLICATION {}", slot.name))
                .execute(self.pool())
                .await
                .map_err(PgError::new("drop the publication"))?;
        }
        Ok(exists)
    }

    /// Followed tables (or, of a partitioned one, partitions) whose replica identity misses a
    /// recorded column: each partition's own identity decides what its updates and deletes
    /// carry, whatever the parent's is.
    pub async fn short_identities(&self, tables: &[Table]) -> Result<Vec<ShortIdentity>, PgError> {
        let trees = self.partition_trees(tables).await?;
        let mut short = Vec::new();
        for (relation, recorded) in captured_columns(tables) {
            let columns = identity_columns(&recorded);
            let holders: Vec<String> = match trees.get(&relation) {
                Some(members) if members.iter().any(|m| m.is_partition()) => members
                    .iter()
                    .filter(|m| m.leaf)
                    .map(|m| m.name.clone())
                    .collect(),
                _ => vec![relation.clone()],
            };
            for holder in holders {
                let (identity, have) = self.identity(&holder).await?;
                if identity == "f" {
                    continue;
                }
                let missing: Vec<String> = columns
                    .iter()
                    .filter(|c| !have.contains(c))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    short.push(ShortIdentity {
                        relation: holder,
                        followed: relation.clone(),
                        missing,
                    });
                }
            }
        }
        Ok(short)
    }

    async fn identity(&self, relation: &str) -> Result<(String, Vec<String>), PgError> {
        let row = self
            .call("read the replica identity", || {
                sqlx::query(include_str!("sql/identity.sql"))
                    .bind(relation)
                    .fetch_one(self.pool())
            })
            .await?;
        let identity: String = row
            .try_get("identity")
            .map_err(PgError::new("read the replica identity"))?;
        let columns: Vec<String> = row
            .try_get("columns")
            .map_err(PgError::new("read the replica identity"))?;
        Ok((identity, columns))
    }

    /// Gives each table whose replica identity is too short one that carries the recorded
    /// columns: a unique index over them when there is one, else `FULL`. Returns what was set.
    pub async fn widen_identities(
        &self,
        tables: &[Table],
    ) -> Result<BTreeMap<String, String>, PgError> {
        let mut set = BTreeMap::new();
        for short in self.short_identities(tables).await? {
            let recorded = captured_columns(tables)
                .remove(&short.followed)
                .unwrap_or_default();
            let columns = identity_columns(&recorded);
            let index: Option<String> = self
                .call("find a replica identity index", || {
                    sqlx::query_scalar(include_str!("sql/identity_index.sql"))
                        .bind(&short.relation)
                        .bind(&columns)
                        .fetch_optional(self.pool())
                })
                .await?;
            let identity = match index {
                Some(index) => format!("USING INDEX {index}"),
                None => "FULL".to_owned(),
            };
            // Partition names come quoted from the catalogue (`partitions.sql`).
            let table = match short.relation == short.followed {
                true => quoted_relation(&short.relation),
                false => short.relation.clone(),
            };
            let sql = format!("ALTER TABLE {table} REPLICA IDENTITY {identity}");
            self.ddl("set the replica identity", &sql).await?;
            set.insert(short.relation, identity);
        }
        Ok(set)
    }

    /// Writes a mark into the log and returns its position.
    pub async fn fence(&self, slot: &Slot) -> Result<String, PgError> {
        self.call("mark the log", || async {
            let mut tx = self.pool().begin().await?;
            sqlx::query("SET LOCAL synchronous_commit = on")
                .execute(&mut *tx)
                .await?;
            let position: String = sqlx::query_scalar(include_str!("sql/fence.sql"))
                .bind(&slot.name)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(position)
        })
        .await
    }

    /// Waits until a new snapshot sees every transaction of `xids` (committed ones, read from
    /// the stream): the stream may deliver a commit a moment before it is visible.
    pub async fn wait_visible(&self, xids: &[u32]) -> Result<(), PgError> {
        let xids: Vec<i64> = xids.iter().map(|xid| i64::from(*xid)).collect();
        until_none_invisible(VISIBLE_PATIENCE, || {
            self.call("wait for streamed commits to be visible", || {
                sqlx::query_scalar(include_str!("sql/invisible.sql"))
                    .bind(&xids)
                    .fetch_one(self.pool())
            })
        })
        .await
    }

    /// `<system identifier>/<timeline>` of the server.
    pub async fn server_identity(&self) -> Result<String, PgError> {
        self.call("read the system identifier", || {
            sqlx::query_scalar(include_str!("sql/server.sql")).fetch_one(self.pool())
        })
        .await
    }

    /// The oid of each followed relation, to know them in the stream.
    pub async fn relation_oids(&self, tables: &[Table]) -> Result<BTreeMap<u32, String>, PgError> {
        let mut oids = BTreeMap::new();
        for table in tables {
            let oid: i64 = self
                .call("read the followed tables", || {
                    sqlx::query_scalar(include_str!("sql/relation_oid.sql"))
                        .bind(&table.relation)
                        .fetch_one(self.pool())
                })
                .await?;
            oids.insert(oid as u32, table.relation.clone());
        }
        Ok(oids)
    }
}

/// The columns a replica identity must carry for the recorded ones (a composite key or ref
/// is recorded as one name for its columns).
fn identity_columns(recorded: &[String]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for name in recorded {
        for column in super::composite::recorded_columns(name) {
            if !columns.iter().any(|c| c == column) {
                columns.push(column.to_owned());
            }
        }
    }
    columns
}

/// Asks `invisible` until it says 0. Documents built before then could miss a transaction
/// whose position is confirmed with them, so there is no giving up: past each `patience` an
/// error line says how many are still invisible and for how long.
async fn until_none_invisible<F, Fut>(
    patience: std::time::Duration,
    mut invisible: F,
) -> Result<(), PgError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<i64, PgError>>,
{
    let started = tokio::time::Instant::now();
    let mut next_warning = started + patience;
    loop {
        let count = invisible().await?;
        if count == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() >= next_warning {
            let waited_s = started.elapsed().as_secs();
            tracing::error!(
                invisible = count,
                waited_s,
                "streamed transactions still not visible to new snapshots: waiting for them before building their documents (a stuck commit? see pg_stat_activity)"
            );
            next_warning += patience;
        }
        tokio::time::sleep(VISIBLE_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn documents_wait_for_a_streamed_transaction_past_any_patience() {
        let patience = std::time::Duration::from_secs(30);
        let started = tokio::time::Instant::now();
        let visible_after = std::time::Duration::from_secs(95);
        let mut asked_when_visible = false;
        until_none_invisible(patience, || {
            let visible = started.elapsed() >= visible_after;
            asked_when_visible |= visible;
            async move { Ok(i64::from(!visible)) }
        })
        .await
        .unwrap();
        assert!(asked_when_visible, "gave up after {:?}", started.elapsed());
        assert!(started.elapsed() >= visible_after);
    }
}

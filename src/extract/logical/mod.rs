//! Logical capture: a publication over the followed tables and a `pgoutput` slot per
//! pipeline and alias. This file sets them up, takes them down and reads their state; the
//! stream itself is in `stream`, the message format in `pgoutput`.

mod pgoutput;
mod requirements;
mod stream;
mod tls;

use std::collections::BTreeMap;

use sqlx::Row;

use super::{captured_columns, PgError, Postgres, Table};

pub(crate) use stream::{mark_position, parse_lsn, Event, LogicalError, LogicalStream};

/// How often a streamed commit's visibility is asked while it is not visible yet.
const VISIBLE_POLL: std::time::Duration = std::time::Duration::from_millis(2);
/// How long dropping a slot waits for the walsender of a reader that just went away.
const RELEASE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);
const RELEASE_POLL: std::time::Duration = std::time::Duration::from_millis(100);
/// A committed transaction is visible within moments; past this something else is wrong.
const VISIBLE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// The slot and the publication of one pipeline and alias (both named alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    pub name: String,
    /// The name earlier releases gave it, when that differs (it could be another pipeline's).
    pub legacy: Option<String>,
}

/// Postgres cuts identifiers, slot names included, at this many bytes.
const MAX_NAME_BYTES: usize = 63;

impl Slot {
    /// A name no other pipeline and alias can have, of at most 63 bytes of `[a-z0-9_]`.
    /// `pg2es_<pipeline>_<alias>` when that says which pipeline and alias it is (a pipeline
    /// name without `_`, an alias of `[a-z0-9_]`, 63 bytes at most: the name earlier
    /// releases gave); otherwise `pg2es__<hash of both>_<both, cut to fit>`, which no name
    /// of the first form can equal (a pipeline name is never empty).
    pub fn of(pipeline: &str, alias: &str) -> Self {
        let legacy = legacy_name(pipeline, alias);
        let plain = !pipeline.contains('_')
            && pipeline
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && alias
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && format!("pg2es_{pipeline}_{alias}").len() <= MAX_NAME_BYTES;
        if plain {
            return Self {
                name: legacy,
                legacy: None,
            };
        }
        let hash = fnv1a(format!("{pipeline}\0{alias}").as_bytes());
        let mut name = format!(
            "pg2es__{hash:016x}_{}",
            sanitized(&format!("{pipeline}_{alias}"))
        );
        name.truncate(MAX_NAME_BYTES);
        Self {
            name,
            legacy: Some(legacy),
        }
    }
}

/// Lowercase, every other character `_` (all ASCII, so any cut is on a character).
fn sanitized(text: &str) -> String {
    text.chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_lowercase(),
            false => '_',
        })
        .collect()
}

/// The name of releases before 0.x: `pg2es_<pipeline>_<alias>` sanitized and cut, which
/// two pipelines could share (`a_b`+`c` and `a`+`b_c`).
fn legacy_name(pipeline: &str, alias: &str) -> String {
    let mut name = sanitized(&format!("pg2es_{pipeline}_{alias}"));
    name.truncate(MAX_NAME_BYTES);
    name
}

/// FNV-1a, 64 bits: stable across releases and platforms (std's hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

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

    /// Creates the slot unless it is there; `true` when it was created.
    pub async fn create_slot(&self, slot: &Slot) -> Result<bool, PgError> {
        if self.slot_state(slot).await?.is_some() {
            return Ok(false);
        }
        self.call("create the replication slot", || {
            sqlx::query_scalar::<_, String>(include_str!("sql/create_slot.sql"))
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
        for (relation, columns) in captured_columns(tables) {
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
            let columns = captured_columns(tables)
                .remove(&short.followed)
                .unwrap_or_default();
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
            sqlx::raw_sql(&sql)
                .execute(self.pool())
                .await
                .map_err(PgError::new("set the replica identity"))?;
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

    #[test]
    fn a_slot_name_is_what_postgres_accepts() {
        assert_eq!(
            Slot::of("movies", "staging-Movies").name,
            "pg2es__a0511b7f504a0d25_movies_staging_movies"
        );
        for (pipeline, alias) in [
            ("p", "x".repeat(100).as_str()),
            ("order_lines", "orders-v2.eu+x"),
            ("movies", "movies"),
        ] {
            let name = Slot::of(pipeline, alias).name;
            assert!(name.len() <= 63, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn slot_names_of_different_pipelines_or_aliases_differ() {
        let long = "x".repeat(100);
        let pairs = [
            ("a_b", "c"),
            ("a", "b_c"),
            ("a", "b-c"),
            ("a", "b.c"),
            ("p", long.as_str()),
            ("p", &long[..99]),
            ("pp", &long[..98]),
        ];
        let names: std::collections::BTreeSet<String> =
            pairs.iter().map(|(p, a)| Slot::of(p, a).name).collect();
        assert_eq!(names.len(), pairs.len(), "{names:?}");
    }

    #[test]
    fn a_slot_name_that_was_unambiguous_is_kept() {
        assert_eq!(
            Slot::of("movies", "movies_v2").name,
            "pg2es_movies_movies_v2"
        );
        assert_eq!(Slot::of("movies", "movies_v2").legacy, None);
        let renamed = Slot::of("a_b", "c");
        assert_eq!(renamed.legacy.as_deref(), Some("pg2es_a_b_c"));
        assert!(renamed.name.starts_with("pg2es__"));
    }
}

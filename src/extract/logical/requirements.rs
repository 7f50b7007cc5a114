//! What logical capture needs of the server (its version, `wal_level`) and of the role, and
//! whether the disk is guarded against a slot whose reader is gone.

use sqlx::Row;

use crate::extract::{PgError, Postgres};

/// What logical capture needs and what guards the disk.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Requirements {
    pub wal_level: String,
    pub replication: bool,
    pub role: String,
    pub max_slot_wal_keep_size: String,
    pub server_version_num: i32,
    pub server_version: String,
}

/// `server_version_num` of the oldest server logical capture streams from: a cycle reads up to
/// the mark it wrote with `pg_logical_emit_message`, which `pgoutput` sends (option `messages`,
/// always asked by the replication client) from Postgres 14 on; 13 refuses the option
/// ("unrecognized pgoutput option: messages").
pub(crate) const OLDEST_FOR_LOGICAL: i32 = 140_000;

impl Requirements {
    /// What is missing, each said as what to do; empty when logical capture can work.
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.server_version_num < OLDEST_FOR_LOGICAL {
            missing.push(format!(
                "PostgreSQL {} (server_version_num {}) cannot stream to pg2es: logical capture needs PostgreSQL 14 or newer (server_version_num {OLDEST_FOR_LOGICAL})",
                self.server_version, self.server_version_num
            ));
        }
        if self.wal_level != "logical" {
            missing.push(format!(
                "wal_level is {}: set wal_level = logical in postgresql.conf and restart Postgres",
                self.wal_level
            ));
        }
        if !self.replication {
            missing.push(format!(
                "role {} cannot replicate: ALTER ROLE {} REPLICATION",
                self.role, self.role
            ));
        }
        missing
    }

    /// A slot whose reader is gone keeps the log for ever unless this is set.
    pub fn unbounded(&self) -> bool {
        self.max_slot_wal_keep_size.trim() == "-1"
    }
}

impl Postgres {
    pub async fn logical_requirements(&self) -> Result<Requirements, PgError> {
        let row = self
            .call("read the replication settings", || {
                sqlx::query(include_str!("sql/requirements.sql")).fetch_one(self.pool())
            })
            .await?;
        let field = |name: &str| row.try_get::<String, _>(name).unwrap_or_default();
        Ok(Requirements {
            wal_level: field("wal_level"),
            replication: row.try_get("replication").unwrap_or(false),
            role: field("role"),
            max_slot_wal_keep_size: field("max_slot_wal_keep_size"),
            server_version_num: row.try_get("server_version_num").unwrap_or_default(),
            server_version: field("server_version"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_requirements_say_what_to_do() {
        let requirements = Requirements {
            wal_level: "replica".into(),
            replication: false,
            role: "app".into(),
            max_slot_wal_keep_size: "-1".into(),
            server_version_num: 140_000,
            server_version: "14.0".into(),
        };
        let missing = requirements.missing();
        assert!(missing[0].contains("wal_level = logical"), "{missing:?}");
        assert!(
            missing[1].contains("ALTER ROLE app REPLICATION"),
            "{missing:?}"
        );
        assert!(requirements.unbounded());
    }

    #[test]
    fn postgres_13_cannot_stream_and_says_which_version_is_needed() {
        let on = |server_version_num, server_version: &str| Requirements {
            wal_level: "logical".into(),
            replication: true,
            role: "app".into(),
            max_slot_wal_keep_size: "10GB".into(),
            server_version_num,
            server_version: server_version.into(),
        };
        assert_eq!(
            on(130_023, "13.23").missing(),
            ["PostgreSQL 13.23 (server_version_num 130023) cannot stream to pg2es: logical capture needs PostgreSQL 14 or newer (server_version_num 140000)"]
        );
        assert!(on(140_000, "14.0").missing().is_empty());
        assert!(on(180_004, "18.4").missing().is_empty());
    }
}

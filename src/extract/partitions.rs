//! Partitioned tables: a followed table is declared by its parent's name, and its rows live in
//! partitions that appear (`CREATE … PARTITION OF`, `ATTACH`), go (`DETACH`, `DROP`) and are
//! emptied (`TRUNCATE` of one partition) without a row change any capture mode sees. This
//! reads the partition trees of the followed tables, so that the engine can compare them
//! between cycles (`pipeline/stages/partitions.rs`), and the rows of one partition.

use std::collections::BTreeSet;

use sqlx::Row;

use super::{Change, PgError, Postgres, Table};
pub(crate) use crate::state::{any_partitioned, Member, Trees};

impl Postgres {
    /// The partition trees of `tables` (each relation once).
    pub async fn partition_trees(&self, tables: &[Table]) -> Result<Trees, PgError> {
        let relations: Vec<String> = tables
            .iter()
            .map(|table| table.relation.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let rows = self
            .call("read the partitions of the followed tables", || {
                sqlx::query(include_str!("sql/partitions.sql"))
                    .bind(&relations)
                    .fetch_all(self.pool())
            })
            .await?;
        let mut trees = Trees::new();
        for row in rows {
            let member = (|| {
                Ok::<_, sqlx::Error>((
                    row.try_get::<String, _>("relation")?,
                    Member {
                        name: row.try_get("name")?,
                        oid: row.try_get::<i64, _>("oid")? as u32,
                        filenode: row.try_get::<i64, _>("filenode")? as u32,
                        level: row.try_get::<i32, _>("level")? as u32,
                        leaf: row.try_get("leaf")?,
                    },
                ))
            })()
            .map_err(PgError::new("read the partitions of the followed tables"))?;
            trees.entry(member.0).or_default().push(member.1);
        }
        Ok(trees)
    }

    /// Which of `oids` still name a relation.
    pub async fn relations_exist(&self, oids: &[u32]) -> Result<BTreeSet<u32>, PgError> {
        let oids: Vec<i64> = oids.iter().map(|oid| i64::from(*oid)).collect();
        let found: Vec<i64> = self
            .call("look for detached partitions", || {
                sqlx::query_scalar(include_str!("sql/relations_exist.sql"))
                    .bind(&oids)
                    .fetch_all(self.pool())
            })
            .await?;
        Ok(found.into_iter().map(|oid| oid as u32).collect())
    }

    /// The recorded columns (key and refs) of every row of `partition`, as changes of the
    /// followed `table`: what its rows touch, exactly as if each row had just changed.
    pub async fn partition_rows(
        &self,
        table: &Table,
        partition: &str,
    ) -> Result<Vec<Change>, PgError> {
        let mut changes = Vec::new();
        for column in &table.captured {
            let quoted: Vec<String> = super::composite::recorded_columns(column)
                .into_iter()
                .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                .collect();
            let sql = include_str!("sql/partition_values.sql")
                .replace("{value}", &super::composite::text_of(&quoted, "p"))
                .replace(
                    "{present}",
                    &quoted
                        .iter()
                        .map(|c| format!("p.{c} IS NOT NULL"))
                        .collect::<Vec<_>>()
                        .join(" AND "),
                )
                .replace("{partition}", partition);
            let values: Vec<String> = self
                .call("read the rows of a moved partition", || {
                    sqlx::query_scalar(&sql).fetch_all(self.pool())
                })
                .await?;
            changes.extend(values.into_iter().map(|value| Change {
                seq: 0,
                relation: table.relation.clone(),
                column: column.clone(),
                value,
            }));
        }
        Ok(changes)
    }
}

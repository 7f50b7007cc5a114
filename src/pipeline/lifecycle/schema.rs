//! The start-up check that Postgres has what the pipeline reads: every query it will run is
//! run once on no rows, so a missing table or column stops the worker with its name before
//! anything is written.

use crate::extract::{PgError, Postgres};
use crate::pipeline::documents::Pipeline;
use crate::pipeline::error::SyncError;

pub(crate) async fn check_schema<P: Pipeline>(
    pipeline: &P,
    pg: &Postgres,
) -> Result<(), SyncError> {
    for table in pipeline.tables() {
        let checked = async {
            pg.latest(table).await?;
            if let Some(sql) = &table.fan_out {
                pg.fan_out(sql.as_str(), &[], None, 1).await?;
            }
            Ok::<_, PgError>(())
        };
        checked.await.map_err(|source| SyncError::Schema {
            what: table.relation.to_owned(),
            source,
        })?;
    }
    pg.root_ids(pipeline.root(), None, 1)
        .await
        .map_err(|source| SyncError::Schema {
            what: pipeline.root().relation.to_owned(),
            source,
        })?;
    // Through the retry like every query: a pooled connection the server ended (a restart)
    // is transient, not a schema that lacks something.
    pg.call("build documents", || pipeline.build(pg.pool(), &[]))
        .await
        .map_err(|source| SyncError::Schema {
            what: format!("the {} document queries", pipeline.name()),
            source,
        })?;
    Ok(())
}

//! Whether the configured role may do what pg2es needs (`pg2es check`).

use super::{PgError, Postgres};

impl Postgres {
    /// The relations of `wanted` (relation, privilege) on which the role lacks the privilege.
    pub async fn missing_privileges(
        &self,
        wanted: &[(&str, &str)],
    ) -> Result<Vec<String>, PgError> {
        let relations: Vec<&str> = wanted.iter().map(|(relation, _)| *relation).collect();
        let privileges: Vec<&str> = wanted.iter().map(|(_, privilege)| *privilege).collect();
        self.call("check privileges", || {
            sqlx::query_scalar(include_str!("sql/missing_privileges.sql"))
                .bind(&relations)
                .bind(&privileges)
                .fetch_all(self.pool())
        })
        .await
    }
}

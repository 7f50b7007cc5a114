use crate::retry::Retryable;

/// A failed Postgres call, with what pg2es was doing, and where when it is known.
#[derive(Debug, thiserror::Error)]
#[error("postgres{}: {what} failed", .server.as_ref().map(|server| format!(" at {server}")).unwrap_or_default())]
pub(crate) struct PgError {
    pub what: &'static str,
    /// `host:port/database` (never the user or password).
    pub server: Option<String>,
    #[source]
    pub source: sqlx::Error,
}

impl PgError {
    pub fn new(what: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self {
            what,
            server: None,
            source,
        }
    }
}

impl Retryable for PgError {
    /// Connection-level faults and server shutdowns are transient; SQL errors are not.
    fn is_retryable(&self) -> bool {
        match &self.source {
            // A certificate the configured CA does not trust is not transient.
            sqlx::Error::Io(io) => !crate::retry::refused_by_tls(io),
            sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot
                // connect now; 40001/40P01: serialization failure, deadlock; 53300: too many
                // connections.
                code.starts_with("08")
                    || matches!(
                        &*code,
                        "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "53300"
                    )
            }),
            _ => false,
        }
    }
}

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

    /// Whether the call gave up waiting for a lock other transactions hold (55P03, after the
    /// `lock_timeout` pg2es sets on its own DDL): it may succeed once they end.
    pub fn is_lock_timeout(&self) -> bool {
        self.has_code(LOCK_NOT_AVAILABLE)
    }

    /// Whether the session may not write (25006): a standby, or `default_transaction_read_only`.
    pub fn is_read_only(&self) -> bool {
        self.has_code(READ_ONLY)
    }

    fn has_code(&self, code: &str) -> bool {
        matches!(&self.source, sqlx::Error::Database(db) if db.code().as_deref() == Some(code))
    }
}

/// SQLSTATE lock_not_available.
const LOCK_NOT_AVAILABLE: &str = "55P03";
/// SQLSTATE read_only_sql_transaction (a standby, `default_transaction_read_only`).
const READ_ONLY: &str = "25006";

/// How long pg2es's own DDL on a followed table (capture triggers, a replica identity) waits
/// for the locks of other transactions before it gives up, to try again with backoff: DDL
/// waiting in the lock queue would hold up every later query of that table.
pub(crate) const DDL_LOCK_TIMEOUT: &str = "2s";

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
                // connections; 55P03: a lock other transactions hold (DDL_LOCK_TIMEOUT).
                code.starts_with("08")
                    || matches!(
                        &*code,
                        "57P01"
                            | "57P02"
                            | "57P03"
                            | "40001"
                            | "40P01"
                            | "53300"
                            | LOCK_NOT_AVAILABLE
                    )
            }),
            _ => false,
        }
    }
}

/// SQLSTATEs that say Postgres no longer has what a query reads, as the query was written
/// for it: 42703 undefined_column, 42P01 undefined_table, 3F000 invalid_schema_name, 42704
/// undefined_object (a type), 42804 datatype_mismatch, 42846 cannot_coerce, 42883
/// undefined_function (an operator for a retyped column), and 0A000, which pg2es's own
/// queries only meet as "cached plan must not change result type" (a column retyped under a
/// prepared statement).
const SCHEMA_CHANGED: [&str; 8] = [
    "42703", "42P01", "3F000", "42704", "42804", "42846", "42883", "0A000",
];

/// Whether Postgres refused a query because a table, column or type it reads changed.
pub(crate) fn is_schema_change(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| schema_sqlstate(&code)),
        // A column that is not in the row, or of another type than the one decoded.
        sqlx::Error::ColumnNotFound(_) | sqlx::Error::ColumnDecode { .. } => true,
        _ => false,
    }
}

fn schema_sqlstate(code: &str) -> bool {
    SCHEMA_CHANGED.contains(&code)
}

/// Whether some cause of `err` is a schema change (see [`is_schema_change`]).
pub(crate) fn schema_changed(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err
            .downcast_ref::<sqlx::Error>()
            .is_some_and(is_schema_change)
        {
            return true;
        }
        cause = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_schema_sqlstate_is_a_schema_change_and_others_are_not() {
        for code in ["42703", "42P01", "42804", "42846", "0A000"] {
            assert!(schema_sqlstate(code), "{code}");
        }
        // Connection faults, shutdowns, conflicts, constraint and privilege errors are not.
        for code in ["08006", "57P01", "40001", "23505", "42501"] {
            assert!(!schema_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn a_column_missing_from_the_row_or_of_another_type_is_a_schema_change() {
        assert!(is_schema_change(&sqlx::Error::ColumnNotFound(
            "description".into()
        )));
        let decode = sqlx::Error::ColumnDecode {
            index: "\"rating\"".into(),
            source: "mismatched types".into(),
        };
        assert!(is_schema_change(&decode));
        assert!(!is_schema_change(&sqlx::Error::PoolTimedOut));
        assert!(!is_schema_change(&sqlx::Error::RowNotFound));
    }

    #[test]
    fn a_schema_change_is_found_under_the_errors_that_wrap_it() {
        let pg = PgError::new("build documents")(sqlx::Error::ColumnNotFound("x".into()));
        let wrapped = crate::pipeline::SyncError::from(pg);
        assert!(schema_changed(&wrapped));
        let timed_out = PgError::new("build documents")(sqlx::Error::PoolTimedOut);
        assert!(!schema_changed(&crate::pipeline::SyncError::from(
            timed_out
        )));
    }
}

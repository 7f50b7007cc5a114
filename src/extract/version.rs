//! Which Postgres servers pg2es works with: 13 and newer. An older one is refused at start-up
//! (and by `pg2es check`) with the version found, rather than failing later on a catalogue
//! column or a replication option it lacks.

use super::{PgError, Postgres};

/// `server_version_num` of the oldest supported server (13.0).
pub(crate) const OLDEST_SUPPORTED: i32 = 130_000;

/// The server's version as it reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServerVersion {
    /// `server_version_num`: 130023 for 13.23.
    pub number: i32,
    /// `server_version`: "13.23", or a packager's longer name.
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum VersionError {
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error("postgres at {server} is PostgreSQL {} (server_version_num {}); pg2es needs PostgreSQL 13 or newer (server_version_num {OLDEST_SUPPORTED})", .found.name, .found.number)]
    TooOld {
        server: String,
        found: ServerVersion,
    },
}

/// The pure decision: supported, or the error that names both versions.
pub(crate) fn judge(server: &str, found: ServerVersion) -> Result<ServerVersion, VersionError> {
    match found.number >= OLDEST_SUPPORTED {
        true => Ok(found),
        false => Err(VersionError::TooOld {
            server: server.to_owned(),
            found,
        }),
    }
}

impl Postgres {
    /// The server's version, refused when older than the oldest supported.
    pub async fn supported_version(&self) -> Result<ServerVersion, VersionError> {
        let found = self
            .call("read the server version", || async {
                let (number, name): (i32, String) =
                    sqlx::query_as(include_str!("sql/server_version.sql"))
                        .fetch_one(self.pool())
                        .await?;
                Ok(ServerVersion { number, name })
            })
            .await?;
        judge(&self.server, found)
    }

    /// Whether the server is a hot standby (in recovery), not a primary.
    pub async fn is_standby(&self) -> Result<bool, PgError> {
        self.call("read whether the server is a standby", || {
            sqlx::query_scalar("SELECT pg_is_in_recovery()").fetch_one(self.pool())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(number: i32, name: &str) -> ServerVersion {
        ServerVersion {
            number,
            name: name.to_owned(),
        }
    }

    #[test]
    fn thirteen_and_newer_are_supported() {
        for (number, name) in [(130_000, "13.0"), (130_023, "13.23"), (180_004, "18.4")] {
            assert_eq!(
                judge("db:5432/app", version(number, name)).unwrap().number,
                number
            );
        }
    }

    #[test]
    fn an_older_server_is_refused_naming_the_version_found_and_the_minimum() {
        let err = judge("db:5432/app", version(120_022, "12.22")).unwrap_err();
        assert!(matches!(err, VersionError::TooOld { .. }));
        assert_eq!(
            err.to_string(),
            "postgres at db:5432/app is PostgreSQL 12.22 (server_version_num 120022); \
             pg2es needs PostgreSQL 13 or newer (server_version_num 130000)"
        );
        assert!(judge("db:5432/app", version(90_624, "9.6.24")).is_err());
    }
}

//! The replication connection of one slot: `pgoutput` messages turned into what the engine
//! needs (the key and ref values of changed rows, truncations, and positions up to which
//! everything was received). The position is confirmed to Postgres only when the engine
//! says so, after Elasticsearch acknowledged what came before it.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::pgoutput::{self, Message, Value};
use super::tls::{tls_config, TlsRefused};
use super::Slot;
use crate::config::PostgresConfig;
use crate::extract::{captured_columns, composite, connect_options, Change, Table};
use crate::retry::Retryable;
use pgwire_replication::{
    Lsn, PgWireError, ReplicationClient, ReplicationConfig, ReplicationEvent,
};

/// How soon a confirmed position reaches the server.
const STATUS_INTERVAL: Duration = Duration::from_millis(200);
/// How long the last confirmation may take to be sent when the stream closes.
const CLOSE_PATIENCE: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub(crate) enum LogicalError {
    #[error("replication stream of slot {slot} failed")]
    Stream {
        slot: String,
        #[source]
        source: PgWireError,
    },
    #[error("replication stream of slot {slot} ended")]
    Ended { slot: String },
    #[error("replication stream of slot {slot}: {source}")]
    Decode {
        slot: String,
        #[source]
        source: pgoutput::Malformed,
    },
    #[error(transparent)]
    Tls(#[from] TlsRefused),
    #[error("invalid postgres.url for the replication connection: {0}")]
    Url(String),
    /// What Postgres gave as a position is no LSN: asking again gives the same.
    #[error("the mark written for slot {slot} is at {text:?}, which is no log position")]
    Position { slot: String, text: String },
}

impl Retryable for LogicalError {
    /// A dropped connection, a server going down or a slot still held by the reader before
    /// come back; a missing slot, a refused role or an invalidated slot do not.
    fn is_retryable(&self) -> bool {
        match self {
            Self::Ended { .. } => true,
            Self::Stream { source, .. } => match source {
                PgWireError::Server(message) => sqlstate(message).is_some_and(|code| {
                    code.starts_with("08")
                        || code.starts_with("57")
                        || code.starts_with("53")
                        // object_in_use: the slot's previous reader has not let go yet.
                        || code == "55006"
                }),
                // A certificate the CA does not trust, a name that does not match, a server
                // without TLS for a URL that requires it: another attempt meets the same.
                PgWireError::Auth(_) | PgWireError::Tls(_) => false,
                _ => true,
            },
            _ => false,
        }
    }
}

/// The SQLSTATE the transport appends to a server error (`… (SQLSTATE 42704)`).
fn sqlstate(message: &str) -> Option<&str> {
    let (_, tail) = message.rsplit_once("(SQLSTATE ")?;
    tail.strip_suffix(')')
}

/// What the stream says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// Key and ref values of changed rows of followed tables (old and new), committed at
    /// `committed_at` (microseconds since 2000-01-01).
    Changes {
        changes: Vec<Change>,
        committed_at: i64,
        xid: u32,
        /// The position of the transaction's commit: the changes lie before it.
        commit: Lsn,
    },
    /// These followed tables were truncated.
    Truncated(Vec<String>),
    /// Every transaction that committed before this position was received (a commit, a
    /// keepalive or a mark between transactions).
    Through(Lsn),
}

/// A followed relation as the stream describes it: the positions of its recorded columns.
#[derive(Debug, Clone)]
struct Followed {
    relation: String,
    /// Each recorded column (or, of a composite key or ref, columns: [`composite::recorded`])
    /// with its place(s) in the rows.
    columns: Vec<(Vec<usize>, String)>,
}

pub(crate) struct LogicalStream {
    slot: String,
    client: ReplicationClient,
    /// Followed relations by oid, with the columns their rows are read for.
    followed: BTreeMap<u32, String>,
    recorded: BTreeMap<String, Vec<String>>,
    relations: HashMap<u32, Followed>,
    committed_at: i64,
    xid: u32,
    /// The commit position of the transaction being received.
    commit: Lsn,
    in_transaction: bool,
    confirmed: Lsn,
}

/// The replication connection's settings from `postgres`.
pub(super) fn replication_config(
    config: &PostgresConfig,
    slot: &Slot,
) -> Result<ReplicationConfig, LogicalError> {
    // The query pool's options: the same sslmode and certificate files.
    let options =
        connect_options(config).map_err(|err| LogicalError::Url(err.source.to_string()))?;
    let tls = tls_config(&options)?;
    let url = config.url.expose();
    let password = url::Url::parse(url)
        .ok()
        .and_then(|url| url.password().map(percent_decoded))
        .unwrap_or_default();
    let host = match options.get_socket() {
        Some(dir) => dir.display().to_string(),
        None => options.get_host().to_owned(),
    };
    let database = options
        .get_database()
        .unwrap_or(options.get_username())
        .to_owned();
    Ok(ReplicationConfig::new(
        host,
        options.get_username(),
        password,
        database,
        slot.name.clone(),
        slot.name.clone(),
    )
    .with_port(options.get_port())
    .with_status_interval(STATUS_INTERVAL)
    .with_application_name(format!("pg2es {}", slot.name))
    .with_tls(tls))
}

impl LogicalStream {
    /// Connects and starts streaming after `confirmed` (the slot's confirmed position).
    pub async fn start(
        config: &PostgresConfig,
        slot: &Slot,
        tables: &[Table],
        followed: BTreeMap<u32, String>,
        confirmed: Lsn,
    ) -> Result<Self, LogicalError> {
        let settings = replication_config(config, slot)?
            .with_start_lsn(confirmed)
            .with_ack_lsn(confirmed);
        let failed = |source| LogicalError::Stream {
            slot: slot.name.clone(),
            source,
        };
        let mut client = ReplicationClient::connect(settings).await.map_err(failed)?;
        client.wait_started().await.map_err(failed)?;
        Ok(Self {
            slot: slot.name.clone(),
            client,
            followed,
            recorded: captured_columns(tables),
            relations: HashMap::new(),
            committed_at: 0,
            xid: 0,
            commit: confirmed,
            in_transaction: false,
            confirmed,
        })
    }

    /// The next event worth the engine's attention (keepalives inside a transaction, changes
    /// of other tables and the like are passed over).
    pub async fn next(&mut self) -> Result<Event, LogicalError> {
        loop {
            let event = self
                .client
                .recv()
                .await
                .map_err(|source| LogicalError::Stream {
                    slot: self.slot.clone(),
                    source,
                })?;
            let Some(event) = event else {
                return Err(LogicalError::Ended {
                    slot: self.slot.clone(),
                });
            };
            if let Some(event) = self.read(event)? {
                return Ok(event);
            }
        }
    }

    fn read(&mut self, event: ReplicationEvent) -> Result<Option<Event>, LogicalError> {
        Ok(match event {
            ReplicationEvent::Begin {
                commit_time_micros,
                xid,
                final_lsn,
            } => {
                self.commit = final_lsn;
                self.in_transaction = true;
                self.committed_at = commit_time_micros;
                self.xid = xid;
                None
            }
            ReplicationEvent::Commit { end_lsn, .. } => {
                self.in_transaction = false;
                Some(Event::Through(end_lsn))
            }
            ReplicationEvent::KeepAlive { wal_end, .. } if !self.in_transaction => {
                Some(Event::Through(wal_end))
            }
            ReplicationEvent::Message {
                transactional: false,
                lsn,
                ..
            } if !self.in_transaction => Some(Event::Through(lsn)),
            ReplicationEvent::XLogData { data, .. } => {
                let message = pgoutput::decode(&data).map_err(|source| LogicalError::Decode {
                    slot: self.slot.clone(),
                    source,
                })?;
                self.message(message)
            }
            ReplicationEvent::StoppedAt { .. } => {
                return Err(LogicalError::Ended {
                    slot: self.slot.clone(),
                })
            }
            _ => None,
        })
    }

    fn message(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Relation(relation) => {
                // Sent before the first row of a relation, and again before the first row
                // after its shape changed (a column added, dropped or retyped): rows are read
                // by the positions of the last one, never by an older shape's.
                if let Some(name) = self.followed.get(&relation.oid) {
                    let wanted = self.recorded.get(name).cloned().unwrap_or_default();
                    self.relations
                        .insert(relation.oid, shaped(name, &relation, &wanted));
                }
                None
            }
            Message::Row { relation, old, new } => {
                let followed = self.relations.get(&relation)?;
                let changes = row_changes(followed, old.as_deref(), new.as_deref());
                (!changes.is_empty()).then_some(Event::Changes {
                    changes,
                    committed_at: self.committed_at,
                    xid: self.xid,
                    commit: self.commit,
                })
            }
            Message::Truncate { relations } => {
                let names: Vec<String> = relations
                    .iter()
                    .filter_map(|oid| self.followed.get(oid).cloned())
                    .collect();
                (!names.is_empty()).then_some(Event::Truncated(names))
            }
            Message::Other => None,
        }
    }

    /// Everything before `position` is in Elasticsearch: Postgres may let go of it.
    pub fn confirm(&mut self, position: Lsn) {
        if position > self.confirmed {
            self.confirmed = position;
            self.client.update_applied_lsn(position);
        }
    }

    /// Sends the last confirmation, then ends the stream.
    pub async fn close(mut self) {
        let metrics = self.client.metrics();
        let deadline = tokio::time::Instant::now() + CLOSE_PATIENCE;
        while metrics.last_applied_lsn() < self.confirmed && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(STATUS_INTERVAL / 4).await;
        }
        let _ = tokio::time::timeout(CLOSE_PATIENCE, self.client.shutdown()).await;
    }
}

/// Where the recorded columns (`wanted`) are in the rows of `relation`'s shape, found by name.
fn shaped(name: &str, relation: &pgoutput::Relation, wanted: &[String]) -> Followed {
    let place = |column: &str| relation.columns.iter().position(|c| c == column);
    let columns = wanted
        .iter()
        .filter_map(|recorded| {
            let places: Option<Vec<usize>> = composite::recorded_columns(recorded)
                .into_iter()
                .map(place)
                .collect();
            places.map(|places| (places, recorded.clone()))
        })
        .collect();
    Followed {
        relation: name.to_owned(),
        columns,
    }
}

/// The recorded columns' values in the old and the new row.
fn row_changes(followed: &Followed, old: Option<&[Value]>, new: Option<&[Value]>) -> Vec<Change> {
    let mut changes = Vec::new();
    for row in [old, new].into_iter().flatten() {
        for (places, column) in &followed.columns {
            let parts: Option<Vec<&str>> = places
                .iter()
                .map(|place| match row.get(*place) {
                    Some(Value::Text(value)) => Some(value.as_str()),
                    _ => None,
                })
                .collect();
            if let Some(parts) = parts {
                let change = Change {
                    seq: 0,
                    relation: followed.relation.clone(),
                    column: column.clone(),
                    value: composite::encode(&parts),
                };
                if !changes.contains(&change) {
                    changes.push(change);
                }
            }
        }
    }
    changes
}

/// A URL part with its `%XX` escapes decoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a position as Postgres prints it (`16/B374D848`).
pub(crate) fn parse_lsn(text: &str) -> Option<Lsn> {
    Lsn::parse(text).ok()
}

/// The position of a mark written into the log (`pg_logical_emit_message`): the cycle reads
/// up to it, so one that does not parse is an error, never a position no stream reaches.
pub(crate) fn mark_position(slot: &Slot, text: &str) -> Result<Lsn, LogicalError> {
    parse_lsn(text).ok_or_else(|| LogicalError::Position {
        slot: slot.name.clone(),
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_position_that_does_not_parse_is_a_permanent_error() {
        let slot = Slot::of("movies", "movies");
        assert_eq!(
            mark_position(&slot, "0/16B3748").unwrap(),
            Lsn::parse("0/16B3748").unwrap()
        );
        let err = mark_position(&slot, "16B3748").unwrap_err();
        assert!(matches!(err, LogicalError::Position { .. }), "{err}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn an_update_moving_a_link_row_touches_both_films() {
        let followed = Followed {
            relation: "content.person_film_work".into(),
            columns: vec![(vec![1], "film_work_id".into())],
        };
        let old = [Value::Null, Value::Text("a".into())];
        let new = [Value::Text("id".into()), Value::Text("b".into())];
        let values: Vec<String> = row_changes(&followed, Some(&old), Some(&new))
            .into_iter()
            .map(|c| c.value)
            .collect();
        assert_eq!(values, ["a", "b"]);
        let same = row_changes(&followed, Some(&new), Some(&new));
        assert_eq!(same.len(), 1);
        let unchanged = [Value::Null, Value::Unchanged];
        assert!(row_changes(&followed, None, Some(&unchanged)).is_empty());
    }

    #[test]
    fn rows_after_a_new_relation_message_are_read_by_its_shape() {
        let relation = |columns: &[&str]| pgoutput::Relation {
            oid: 7,
            namespace: "content".into(),
            name: "genre_film_work".into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
        };
        let wanted = ["film_work_id".to_owned()];
        let before = shaped(
            "content.genre_film_work",
            &relation(&["id", "note", "film_work_id"]),
            &wanted,
        );
        let row = [
            Value::Text("1".into()),
            Value::Null,
            Value::Text("a".into()),
        ];
        let values = |followed: &Followed, row: &[Value]| -> Vec<String> {
            row_changes(followed, None, Some(row))
                .into_iter()
                .map(|c| c.value)
                .collect()
        };
        assert_eq!(values(&before, &row), ["a"]);
        // `note` dropped: the next Relation message moves film_work_id to position 1.
        let after = shaped(
            "content.genre_film_work",
            &relation(&["id", "film_work_id"]),
            &wanted,
        );
        let row = [Value::Text("2".into()), Value::Text("b".into())];
        assert_eq!(values(&after, &row), ["b"]);
        assert!(
            values(&before, &row).is_empty(),
            "the old shape reads nothing here"
        );
    }

    #[test]
    fn the_replication_connection_takes_the_urls_parts_and_tls_with_the_ca() {
        let mut config = PostgresConfig::default();
        config.url = crate::config::Secret::new(
            "postgres://u:p%40ss@db:6432/movies?sslmode=verify-full&sslrootcert=/url/ca.pem",
        );
        config.ca_cert = Some("/etc/pg2es/ca.pem".into());
        let settings = replication_config(&config, &Slot::of("movies", "movies")).unwrap();
        assert_eq!(
            (
                settings.host.as_str(),
                settings.port,
                settings.password.as_str()
            ),
            ("db", 6432, "p@ss")
        );
        assert_eq!(settings.database, "movies");
        let tls = settings.tls;
        assert_eq!(tls.mode, pgwire_replication::SslMode::VerifyFull);
        assert_eq!(tls.ca_pem_path, Some("/etc/pg2es/ca.pem".into()));
    }
}

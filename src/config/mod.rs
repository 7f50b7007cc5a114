//! Configuration: `config.yaml` plus `PG2ES__SECTION__KEY` environment overrides, validated once
//! at start-up into a [`Config`] the rest of the code trusts.

mod duration;
mod elasticsearch;
mod env;
mod http;
mod rules;
mod secret;
mod secret_files;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use validator::Validate;

pub use elasticsearch::{ElasticsearchConfig, NodeUrls, DEFAULT_ELASTICSEARCH_URL};
pub use http::{HttpConfig, DEFAULT_HTTP_ADDRESS};
pub use secret::{redact_url, Secret};

/// The pipelines shipped in `pipelines/`: the three indexes of the movies catalogue.
pub const DEFAULT_PIPELINES: [&str; 3] = ["movies", "genres", "persons"];
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@localhost:5432/movies";
pub const DEFAULT_POSTGRES_MAX_CONNECTIONS: u32 = 8;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Earlier indexes kept after a rebuild, for `pg2es reindex --rollback`.
pub const DEFAULT_KEEP_PREVIOUS: u32 = 1;
pub const DEFAULT_STATE_PATH: &str = "state.yaml";
pub const DEFAULT_DEAD_LETTER_PATH: &str = "dead_letter.ndjson";
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// A transaction open this long that holds polling back is named (log, `status`, `check`).
pub const DEFAULT_HELD_BACK_AFTER: Duration = Duration::from_secs(60);
pub const DEFAULT_BATCH_SIZE: u32 = 500;
/// Elasticsearch's guidance is 5 to 15 MB per bulk request.
pub const DEFAULT_BULK_MAX_BYTES: u64 = 5 * 1024 * 1024;
pub const DEFAULT_BULK_CONCURRENCY: u32 = 3;
pub const DEFAULT_RETRY_INITIAL_DELAY: Duration = Duration::from_millis(200);
pub const DEFAULT_RETRY_MAX_DELAY: Duration = Duration::from_secs(30);
pub const DEFAULT_LOG_LEVEL: &str = "info";
/// The prefix of environment variables that override config keys.
pub const ENV_PREFIX: &str = "PG2ES__";

/// Why the configuration was refused. Every variant names the offending key or file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    #[error("invalid environment variable {var}: {reason}")]
    Env { var: String, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The pipelines to serve, by name: each a declaration file (see `pipelines/*.yaml`).
    #[validate(custom(function = "rules::pipelines"))]
    pub pipelines: BTreeMap<String, PipelineEntry>,
    #[validate(nested)]
    pub postgres: PostgresConfig,
    #[validate(nested)]
    pub elasticsearch: ElasticsearchConfig,
    #[validate(nested)]
    pub index: IndexConfig,
    #[validate(nested)]
    pub state: StateConfig,
    #[validate(nested)]
    pub dead_letter: DeadLetterConfig,
    #[validate(nested)]
    pub sync: SyncConfig,
    #[validate(nested)]
    pub log: LogConfig,
    #[validate(nested)]
    pub http: HttpConfig,
    /// The directory of the config file: relative pipeline files are found from there.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        let pipeline = |name: &str| {
            let entry = PipelineEntry {
                file: PathBuf::from(format!("pipelines/{name}.yaml")),
                alias: None,
                index_config: None,
            };
            (name.to_owned(), entry)
        };
        Self {
            pipelines: DEFAULT_PIPELINES
                .iter()
                .map(|name| pipeline(name))
                .collect(),
            postgres: PostgresConfig::default(),
            elasticsearch: ElasticsearchConfig::default(),
            index: IndexConfig::default(),
            state: StateConfig::default(),
            dead_letter: DeadLetterConfig::default(),
            sync: SyncConfig::default(),
            log: LogConfig::default(),
            http: HttpConfig::default(),
            base_dir: PathBuf::new(),
        }
    }
}

/// One pipeline of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineEntry {
    /// The declaration, relative to the config file.
    pub file: PathBuf,
    /// Replaces the declaration's index alias (a second deployment: `staging_movies`).
    #[serde(default)]
    pub alias: Option<String>,
    /// Replaces the declaration's index config file.
    #[serde(default)]
    pub index_config: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/db?sslmode=...`
    #[validate(custom(function = "rules::postgres_url"))]
    pub url: Secret,
    /// A file whose trimmed content is the URL; when set it replaces `url`.
    pub url_file: Option<PathBuf>,
    /// The primary, when `url` points at a hot standby that logical capture reads (16+): what
    /// cannot be written on a standby goes there (`setup`'s publication and replica
    /// identities, those of new partitions, and the nudge that shortens slot creation).
    /// Same user, password and TLS settings as `url`.
    #[validate(custom(function = "rules::postgres_url"))]
    pub primary_url: Option<Secret>,
    /// PEM file with the certificate authority of the server (`sslmode=verify-full` in the URL
    /// makes pg2es check the certificate against it).
    #[validate(custom(function = "rules::readable_file"))]
    pub ca_cert: Option<PathBuf>,
    #[validate(range(min = 1, max = 64))]
    pub max_connections: u32,
    #[serde(with = "duration")]
    #[validate(custom(function = "rules::positive_duration"))]
    pub connect_timeout: Duration,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            url: Secret::new(DEFAULT_POSTGRES_URL),
            url_file: None,
            primary_url: None,
            ca_cert: None,
            max_connections: DEFAULT_POSTGRES_MAX_CONNECTIONS,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct IndexConfig {
    /// Indexes kept after the alias moved away from them, newest first, for rollback.
    #[validate(range(max = 20))]
    pub keep_previous: u32,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            keep_previous: DEFAULT_KEEP_PREVIOUS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    pub path: PathBuf,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from(DEFAULT_STATE_PATH),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct DeadLetterConfig {
    /// NDJSON file that receives every document Elasticsearch rejected, with the reason.
    pub path: PathBuf,
}

impl Default for DeadLetterConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from(DEFAULT_DEAD_LETTER_PATH),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// How changes are found: `polling` (no DDL), `triggers` or `logical` (exact; need `pg2es setup`).
    pub capture: Capture,
    #[serde(with = "duration")]
    #[validate(custom(function = "rules::positive_duration"))]
    pub poll_interval: Duration,
    /// Rows read per query, and at most this many documents per bulk request.
    #[validate(range(min = 1, max = 50_000))]
    pub batch_size: u32,
    /// A bulk request is split before its body grows past this many bytes.
    #[validate(range(min = 1024, max = 104_857_600))]
    pub bulk_max_bytes: u64,
    /// Bulk requests in flight during the back-fill.
    #[validate(range(min = 1, max = 32))]
    pub bulk_concurrency: u32,
    /// `refresh_interval: -1` while back-filling, restored afterwards. (Replicas are left as
    /// they are: without them, losing a node in the middle would lose acknowledged documents.)
    pub tune_backfill: bool,
    /// Polling never reads past the start of the oldest open transaction (`on`); `off` reads
    /// up to now, accepting that a late commit may be skipped (a role that cannot see other
    /// roles' sessions has no working guard anyway: it must be given `pg_read_all_stats`, or
    /// this set to `off` deliberately).
    pub polling_guard: PollingGuard,
    /// A transaction open longer than this that holds polling back is named in a warning, in
    /// `status` and in `check`.
    #[serde(with = "duration")]
    pub held_back_after: Duration,
    #[validate(nested)]
    pub retry: RetryConfig,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            capture: Capture::Polling,
            poll_interval: DEFAULT_POLL_INTERVAL,
            batch_size: DEFAULT_BATCH_SIZE,
            bulk_max_bytes: DEFAULT_BULK_MAX_BYTES,
            bulk_concurrency: DEFAULT_BULK_CONCURRENCY,
            tune_backfill: true,
            polling_guard: PollingGuard::On,
            held_back_after: DEFAULT_HELD_BACK_AFTER,
            retry: RetryConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
#[validate(schema(function = "rules::retry_delays"))]
pub struct RetryConfig {
    #[serde(with = "duration")]
    #[validate(custom(function = "rules::positive_duration"))]
    pub initial_delay: Duration,
    #[serde(with = "duration")]
    pub max_delay: Duration,
    /// 0 retries transient errors for ever (a worker should outlive outages).
    pub max_attempts: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial_delay: DEFAULT_RETRY_INITIAL_DELAY,
            max_delay: DEFAULT_RETRY_MAX_DELAY,
            max_attempts: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capture {
    /// Keyset cursors on `updated_at`/`created_at`; cannot see deletes.
    #[default]
    Polling,
    /// Triggers record every changed key in `pg2es.changes`; LISTEN/NOTIFY wakes the worker.
    Triggers,
    /// A logical replication slot (`pgoutput`) streams every change; needs `wal_level =
    /// logical`, a role with `REPLICATION` and `pg2es setup`.
    Logical,
}

/// The late-commit guard of polling (see [`SyncConfig::polling_guard`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PollingGuard {
    #[default]
    On,
    Off,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter (`info`, `pg2es=debug`); `RUST_LOG` wins when set.
    #[validate(custom(function = "rules::log_level"))]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: DEFAULT_LOG_LEVEL.to_owned(),
        }
    }
}

impl Config {
    /// Loads `path` (a missing file means defaults), applies the process environment, validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        Self::from_yaml_and_env(text.as_deref(), path, vars)
    }

    fn from_yaml_and_env(
        yaml: Option<&str>,
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let from_file = match yaml {
            Some(text) if !text.trim().is_empty() => serde_saphyr::from_str::<Config>(text)
                .map_err(|source| ConfigError::Parse {
                    path: path.to_owned(),
                    source: Box::new(source),
                })?,
            _ => Config::default(),
        };
        let mut config = env::apply(from_file, vars)?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        secret_files::resolve(&mut config)?;
        config
            .validate()
            .map_err(|errors| ConfigError::Invalid(rules::describe(&errors)))?;
        Ok(config)
    }
}

impl Config {
    /// A pipeline's declaration file, found from the config file's directory.
    pub fn pipeline_file(&self, entry: &PipelineEntry) -> PathBuf {
        self.base_dir.join(&entry.file)
    }

    /// A pipeline's state file: `state.path` with the pipeline's name before the extension
    /// (`state.yaml` → `state.movies.yaml`).
    pub fn state_path(&self, pipeline: &str) -> PathBuf {
        per_pipeline(&self.state.path, pipeline)
    }

    /// A pipeline's repair ledger, beside its state file (`state.yaml` →
    /// `state.movies.repairs.yaml`): what `verify --repair` wrote, for the worker to count as
    /// its own.
    pub fn repair_ledger_path(&self, pipeline: &str) -> PathBuf {
        per_pipeline(&self.state.path, &format!("{pipeline}.repairs"))
    }

    /// A pipeline's dead-letter file, named like its state file.
    pub fn dead_letter_path(&self, pipeline: &str) -> PathBuf {
        per_pipeline(&self.dead_letter.path, pipeline)
    }
}

/// `dir/name.ext` → `dir/name.<pipeline>.ext`.
pub fn per_pipeline(path: &Path, pipeline: &str) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{pipeline}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{pipeline}"),
    };
    path.with_file_name(name)
}

#[cfg(test)]
mod connection_tests;
#[cfg(test)]
mod reference_tests;
#[cfg(test)]
mod tests;

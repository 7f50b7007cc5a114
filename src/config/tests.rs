use std::path::Path;
use std::time::Duration;

use super::*;

fn parse(yaml: &str) -> Result<Config, ConfigError> {
    parse_env(yaml, &[])
}

fn parse_env(yaml: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Config::from_yaml_and_env(Some(yaml), Path::new("config.yaml"), vars)
}

fn error_text(yaml: &str, vars: &[(&str, &str)]) -> String {
    let err = parse_env(yaml, vars).expect_err("config should be refused");
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(&format!(" | {cause}"));
        source = cause.source();
    }
    text
}

#[test]
fn empty_file_gives_defaults() {
    let config = parse("").unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.sync.batch_size, DEFAULT_BATCH_SIZE);
    assert_eq!(
        config.pipelines.keys().collect::<Vec<_>>(),
        ["genres", "movies", "persons"]
    );
}

#[test]
fn missing_file_gives_defaults() {
    let config = Config::load_with_env(Path::new("/nonexistent/pg2es.yaml"), Vec::new()).unwrap();
    assert_eq!(config.base_dir, Path::new("/nonexistent"));
    assert_eq!(config.pipelines, Config::default().pipelines);
}

#[test]
fn file_values_are_read() {
    let config = parse(
        "postgres:\n  url: postgres://app:pw@db:5433/films\nelasticsearch:\n  url: https://es:9200\n  username: elastic\n  password: changeme\npipelines:\n  films: {file: films.yaml, alias: films}\nsync:\n  poll_interval: 250ms\n  batch_size: 100\nlog:\n  format: json\n",
    )
    .unwrap();
    assert_eq!(
        config.postgres.url.expose(),
        "postgres://app:pw@db:5433/films"
    );
    assert_eq!(config.elasticsearch.username.as_deref(), Some("elastic"));
    assert_eq!(config.pipelines["films"].alias.as_deref(), Some("films"));
    assert_eq!(config.sync.poll_interval, Duration::from_millis(250));
    assert_eq!(config.sync.batch_size, 100);
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.sync.capture, Capture::Polling);
}

#[test]
fn capture_mode_is_read_and_checked() {
    let config = parse("sync:\n  capture: triggers\n").unwrap();
    assert_eq!(config.sync.capture, Capture::Triggers);
    let config = parse("sync:\n  capture: logical\n").unwrap();
    assert_eq!(config.sync.capture, Capture::Logical);
    let text = error_text("sync:\n  capture: wal\n", &[]);
    assert!(text.contains("wal"), "{text}");
}

#[test]
fn the_polling_guard_is_on_unless_turned_off() {
    assert_eq!(parse("").unwrap().sync.polling_guard, PollingGuard::On);
    let config = parse("sync:\n  polling_guard: off\n  held_back_after: 0s\n").unwrap();
    assert_eq!(config.sync.polling_guard, PollingGuard::Off);
    assert_eq!(config.sync.held_back_after, Duration::ZERO);
    let config = parse_env("", &[("PG2ES__SYNC__POLLING_GUARD", "off")]).unwrap();
    assert_eq!(config.sync.polling_guard, PollingGuard::Off);
    let text = error_text("sync:\n  polling_guard: maybe\n", &[]);
    assert!(text.contains("maybe"), "{text}");
}

#[test]
fn unknown_key_is_named() {
    let text = error_text("sync:\n  batch_sise: 10\n", &[]);
    assert!(text.contains("batch_sise"), "{text}");
}

#[test]
fn parse_error_gives_the_line() {
    let text = error_text(
        "index:\n  keep_previous: 1\nsync:\n  batch_size: many\n",
        &[],
    );
    assert!(text.contains("line 4") || text.contains("4:"), "{text}");
}

#[test]
fn wrong_type_is_refused() {
    let text = error_text("sync:\n  poll_interval: soon\n", &[]);
    assert!(text.contains("soon"), "{text}");
}

#[test]
fn out_of_range_batch_size_names_the_field() {
    let text = error_text("sync:\n  batch_size: 0\n", &[]);
    assert!(text.contains("sync.batch_size"), "{text}");
}

#[test]
fn bad_urls_name_the_field() {
    let text = error_text("postgres:\n  url: mysql://x/y\n", &[]);
    assert!(text.contains("postgres.url"), "{text}");
    let text = error_text("elasticsearch:\n  url: localhost:9200\n", &[]);
    assert!(text.contains("elasticsearch.url"), "{text}");
}

#[test]
fn bad_index_name_is_refused() {
    let text = error_text("pipelines:\n  movies: {file: m.yaml, alias: Movies}\n", &[]);
    assert!(text.contains("pipelines.movies.alias"), "{text}");
}

#[test]
fn keep_previous_is_read_and_bounded() {
    assert_eq!(
        parse("").unwrap().index.keep_previous,
        DEFAULT_KEEP_PREVIOUS
    );
    assert_eq!(
        parse("index:\n  keep_previous: 0\n")
            .unwrap()
            .index
            .keep_previous,
        0
    );
    let text = error_text("index:\n  keep_previous: 99\n", &[]);
    assert!(text.contains("index.keep_previous"), "{text}");
    let long = "m".repeat(240);
    let text = error_text(
        &format!("pipelines:\n  movies: {{file: m.yaml, alias: {long}}}\n"),
        &[],
    );
    assert!(
        text.contains("pipelines.movies.alias") && text.contains("235"),
        "{text}"
    );
}

#[test]
fn zero_duration_is_refused() {
    let text = error_text("sync:\n  poll_interval: 0s\n", &[]);
    assert!(text.contains("sync.poll_interval"), "{text}");
}

#[test]
fn retry_max_delay_below_initial_is_refused() {
    let text = error_text(
        "sync:\n  retry:\n    initial_delay: 10s\n    max_delay: 1s\n",
        &[],
    );
    assert!(text.contains("sync.retry"), "{text}");
}

#[test]
fn environment_overrides_file() {
    let config = parse_env(
        "sync:\n  batch_size: 100\nelasticsearch:\n  username: elastic\n",
        &[
            ("PG2ES__SYNC__BATCH_SIZE", "42"),
            ("PG2ES__POSTGRES__URL", "postgres://u:p@h/d"),
            ("PG2ES__ELASTICSEARCH__PASSWORD", "12345"),
            ("PG2ES__SYNC__POLL_INTERVAL", "2s"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert_eq!(config.sync.batch_size, 42);
    assert_eq!(config.postgres.url.expose(), "postgres://u:p@h/d");
    assert_eq!(
        config.elasticsearch.password.as_ref().map(Secret::expose),
        Some("12345")
    );
    assert_eq!(config.sync.poll_interval, Duration::from_secs(2));
}

#[test]
fn bad_environment_value_names_the_variable() {
    let text = error_text("", &[("PG2ES__SYNC__BATCH_SIZE", "lots")]);
    assert!(text.contains("PG2ES__SYNC__BATCH_SIZE"), "{text}");
    let text = error_text("", &[("PG2ES__SYNC__NOPE", "1")]);
    assert!(text.contains("PG2ES__SYNC__NOPE"), "{text}");
}

#[test]
fn secrets_are_not_in_debug_output() {
    let config = parse_env(
        "postgres:\n  url: postgres://app:topsecret@db/films\nelasticsearch:\n  username: elastic\n",
        &[("PG2ES__ELASTICSEARCH__PASSWORD", "alsosecret")],
    )
    .unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("topsecret"), "{printed}");
    assert!(!printed.contains("alsosecret"), "{printed}");
}

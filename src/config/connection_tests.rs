//! Rules of the connection keys: node lists, cloud id, authentication, TLS, secret files, http.

use std::path::Path;

use super::*;

fn parse_env(yaml: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Config::from_yaml_and_env(Some(yaml), Path::new("config.yaml"), vars)
}

fn parse(yaml: &str) -> Result<Config, ConfigError> {
    parse_env(yaml, &[])
}

fn refused(yaml: &str, vars: &[(&str, &str)]) -> String {
    parse_env(yaml, vars)
        .expect_err("config should be refused")
        .to_string()
}

#[test]
fn one_url_a_list_or_a_comma_separated_string_give_the_nodes_in_order() {
    let config = parse("elasticsearch:\n  url: http://a:9200\n").unwrap();
    assert_eq!(config.elasticsearch.node_urls(), ["http://a:9200"]);
    let config = parse("elasticsearch:\n  url: [http://a:9200, http://b:9200]\n").unwrap();
    assert_eq!(
        config.elasticsearch.node_urls(),
        ["http://a:9200", "http://b:9200"]
    );
    let config = parse_env(
        "elasticsearch:\n  url: [http://a:9200]\n",
        &[("PG2ES__ELASTICSEARCH__URL", "http://c:9200, http://d:9200")],
    )
    .unwrap();
    assert_eq!(
        config.elasticsearch.node_urls(),
        ["http://c:9200", "http://d:9200"]
    );
    assert_eq!(
        Config::default().elasticsearch.node_urls(),
        [DEFAULT_ELASTICSEARCH_URL]
    );
}

#[test]
fn a_bad_url_in_the_list_or_an_empty_list_names_the_field() {
    let text = refused("elasticsearch:\n  url: [http://a:9200, a:9200]\n", &[]);
    assert!(text.contains("elasticsearch.url"), "{text}");
    let text = refused("elasticsearch:\n  url: []\n", &[]);
    assert!(text.contains("elasticsearch.url"), "{text}");
}

#[test]
fn cloud_id_with_url_is_refused_naming_both() {
    let text = refused(
        "elasticsearch:\n  cloud_id: \"prod:ZXUtd2VzdC0xLmF3cy5mb3VuZC5pbyRhYmMkZGVm\"\n  url: http://a:9200\n",
        &[],
    );
    assert!(
        text.contains("elasticsearch.cloud_id") && text.contains("elasticsearch.url"),
        "{text}"
    );
    let config =
        parse("elasticsearch:\n  cloud_id: \"prod:ZXUtd2VzdC0xLmF3cy5mb3VuZC5pbyRhYmMkZGVm\"\n")
            .unwrap();
    assert_eq!(
        config.elasticsearch.describe(),
        "elastic cloud deployment prod"
    );
}

#[test]
fn malformed_cloud_id_is_refused() {
    let text = refused("elasticsearch:\n  cloud_id: nocolon\n", &[]);
    assert!(text.contains("elasticsearch.cloud_id"), "{text}");
}

#[test]
fn api_key_with_basic_auth_is_refused_naming_both() {
    let text = refused(
        "elasticsearch:\n  api_key: abc\n  username: elastic\n  password: pw\n",
        &[],
    );
    assert!(
        text.contains("elasticsearch.api_key") && text.contains("elasticsearch.username"),
        "{text}"
    );
}

#[test]
fn password_without_username_is_refused() {
    let text = refused("elasticsearch:\n  password: pw\n", &[]);
    assert!(text.contains("elasticsearch.username"), "{text}");
}

#[test]
fn ca_cert_with_insecure_skip_verify_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "pem").unwrap();
    let yaml = format!(
        "elasticsearch:\n  ca_cert: {}\n  insecure_skip_verify: true\n",
        ca.display()
    );
    let text = refused(&yaml, &[]);
    assert!(
        text.contains("elasticsearch.ca_cert") && text.contains("insecure_skip_verify"),
        "{text}"
    );
    let config = parse("elasticsearch:\n  insecure_skip_verify: true\n").unwrap();
    assert!(config.elasticsearch.insecure_skip_verify);
}

#[test]
fn missing_ca_files_name_the_field() {
    let text = refused("elasticsearch:\n  ca_cert: /nonexistent/ca.pem\n", &[]);
    assert!(
        text.contains("elasticsearch.ca_cert") && text.contains("/nonexistent/ca.pem"),
        "{text}"
    );
    let text = refused("", &[("PG2ES__POSTGRES__CA_CERT", "/nonexistent/root.crt")]);
    assert!(text.contains("postgres.ca_cert"), "{text}");
}

#[test]
fn secrets_are_read_from_files_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    };
    let url = write("url", "postgres://app:fromfile@db/films\n");
    let password = write("password", "  s3cret \n");
    let key = write("key", "id:key\n");
    let config = parse_env(
        "elasticsearch:\n  username: elastic\n",
        &[
            ("PG2ES__POSTGRES__URL_FILE", &url),
            ("PG2ES__ELASTICSEARCH__PASSWORD_FILE", &password),
        ],
    )
    .unwrap();
    assert_eq!(
        config.postgres.url.expose(),
        "postgres://app:fromfile@db/films"
    );
    let password = config.elasticsearch.password.as_ref().map(Secret::expose);
    assert_eq!(password, Some("s3cret"));
    let yaml = format!("elasticsearch:\n  api_key_file: {key}\n");
    let config = parse(&yaml).unwrap();
    let api_key = config.elasticsearch.api_key.as_ref().map(Secret::expose);
    assert_eq!(api_key, Some("id:key"));
    assert!(!format!("{config:?}").contains("id:key"));
}

#[test]
fn a_secret_and_its_file_together_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("password");
    std::fs::write(&path, "pw").unwrap();
    let yaml = format!(
        "elasticsearch:\n  username: elastic\n  password: inline\n  password_file: {}\n",
        path.display()
    );
    let text = refused(&yaml, &[]);
    assert!(text.contains("elasticsearch.password_file"), "{text}");
}

#[test]
fn missing_or_empty_secret_files_name_the_key_not_the_content() {
    let text = refused(
        "",
        &[("PG2ES__ELASTICSEARCH__API_KEY_FILE", "/nonexistent/key")],
    );
    assert!(text.contains("elasticsearch.api_key_file"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, " \n").unwrap();
    let empty = empty.display().to_string();
    let text = refused("", &[("PG2ES__POSTGRES__URL_FILE", &empty)]);
    assert!(
        text.contains("postgres.url_file") && text.contains("empty"),
        "{text}"
    );
}

#[test]
fn http_address_is_off_by_default_and_must_be_ip_and_port() {
    assert_eq!(Config::default().http.listen_address(), None);
    let config = parse_env("", &[("PG2ES__HTTP__ADDRESS", "127.0.0.1:0")]).unwrap();
    assert_eq!(
        config.http.listen_address(),
        Some("127.0.0.1:0".parse().unwrap())
    );
    let text = refused("http:\n  address: localhost\n", &[]);
    assert!(text.contains("http.address"), "{text}");
}

#[test]
fn node_urls_with_passwords_are_redacted_in_debug_output() {
    let config = parse("elasticsearch:\n  url: https://elastic:hunter2@es:9200\n").unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(!config.elasticsearch.describe().contains("hunter2"));
}

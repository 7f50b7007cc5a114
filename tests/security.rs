//! TLS and authentication against servers that enforce them: the stack's secure OpenSearch node
//! (security plugin: HTTPS with the test CA, basic auth, roles) and a Postgres of the test's own
//! that takes TLS connections only (`sslmode=verify-full`, the queries and logical capture's
//! replication connection alike). A wrong CA, a wrong password or a missing privilege each end
//! the command at once with one clear error, never a secret in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sqlx::Connection as _;

use crate::support::pg_cluster::PgCluster;
use crate::support::process::Running;
use crate::support::secure::{secure_url, tls_file, READER, WRITER};
use crate::support::{
    assert_index_equals_postgres, no_logical_capture, unique_name, wait_until, SearchIndex, TestDb,
    Worker,
};

/// Ample for a command that fails at once; an error retried for ever outlasts it.
const FAILS_WITHIN: Duration = Duration::from_secs(60);

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A worker writing to the secure node as `user`, trusting `ca` (a file of the test CA folder).
fn secure_worker(db: &TestDb, name: &str, (user, password): (&str, &str), ca: &str) -> Worker {
    let mut worker = Worker::new(db, name);
    worker.set("PG2ES__ELASTICSEARCH__URL", &secure_url());
    worker.set(
        "PG2ES__ELASTICSEARCH__CA_CERT",
        &tls_file(ca).display().to_string(),
    );
    worker.set("PG2ES__ELASTICSEARCH__USERNAME", user);
    worker.set("PG2ES__ELASTICSEARCH__PASSWORD", password);
    worker
}

/// Fails at once, saying `expected`, without printing `secret` nor retrying.
async fn fails_once(worker: &Worker, args: &[&str], expected: &str, secret: &str) -> String {
    let output = worker.output_within(args, FAILS_WITHIN).await;
    let text = printed(&output);
    assert!(!output.status.success(), "{args:?} succeeded: {text}");
    assert!(
        text.contains(expected),
        "{args:?} does not say {expected:?}: {text}"
    );
    assert!(
        !text.contains(secret),
        "{args:?} printed the secret: {text}"
    );
    assert!(!text.contains("retrying"), "{args:?} retried: {text}");
    text
}

#[tokio::test]
async fn https_with_the_test_ca_and_basic_auth_indexes_and_check_passes() {
    let name = unique_name("secure_sync");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::on(&secure_url(), &name).await;
    let worker = secure_worker(&db, &name, WRITER, "ca.pem");

    let (indexed, _, dead_lettered, log) = worker.sync_once();

    assert_eq!((indexed, dead_lettered), (999, 0), "{log}");
    assert_index_equals_postgres(&db, &index).await;
    let check = worker.output(&["check"]);
    let text = printed(&check);
    assert!(check.status.success(), "{text}");
    assert!(text.contains("✓ elasticsearch privileges"), "{text}");
    assert!(!text.contains("security off"), "{text}");
    assert!(
        !text.contains(WRITER.1) && !log.contains(WRITER.1),
        "{text}{log}"
    );
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_fails_once() {
    let name = unique_name("secure_wrong_ca");
    let db = TestDb::create(&name).await;
    let _index = SearchIndex::on(&secure_url(), &name).await;
    let worker = secure_worker(&db, &name, WRITER, "other-ca.pem");

    fails_once(&worker, &["sync", "--once"], "UnknownIssuer", WRITER.1).await;
}

#[tokio::test]
async fn a_wrong_password_fails_once() {
    let name = unique_name("secure_wrong_password");
    let db = TestDb::create(&name).await;
    let _index = SearchIndex::on(&secure_url(), &name).await;
    let wrong = (WRITER.0, "not-the-password");
    let worker = secure_worker(&db, &name, wrong, "ca.pem");

    fails_once(&worker, &["sync", "--once"], "HTTP 401", wrong.1).await;
    let check = fails_once(&worker, &["check"], "HTTP 401", wrong.1).await;
    assert!(check.contains("✗ elasticsearch reachable"), "{check}");
}

#[tokio::test]
async fn a_user_who_may_not_write_fails_once_and_check_names_what_is_missing() {
    let name = unique_name("secure_reader");
    let db = TestDb::with_dataset(&name).await;
    let index = SearchIndex::on(&secure_url(), &name).await;
    let worker = secure_worker(&db, &name, READER, "ca.pem");

    let check = fails_once(&worker, &["check"], "✗ elasticsearch privileges", READER.1).await;
    assert!(
        check.contains(&format!(
            "missing create_index, write, view_index_metadata, manage on {name}"
        )),
        "{check}"
    );
    fails_once(&worker, &["sync", "--once"], "HTTP 403", READER.1).await;
    assert!(!index.exists().await);
}

/// The tests' own Postgres over TLS only, a database with `films` films, and a role that logs
/// in with a password, may read everything and see every session (the polling guard).
async fn tls_postgres(name: &str, films: u32) -> (PgCluster, TestDb) {
    let cluster = PgCluster::start_tls(&tls_file("node.pem"), &tls_file("node.key"));
    let db = TestDb::generated_on(&cluster.admin_url(), name, films).await;
    // pg_read_all_data is Postgres 14's: the grants it stands for, on the tables there are.
    db.execute(
        "CREATE ROLE pg2es_app LOGIN PASSWORD 'pg-app-s3cret'; GRANT pg_read_all_stats TO pg2es_app;
         GRANT USAGE ON SCHEMA content TO pg2es_app;
         GRANT SELECT ON ALL TABLES IN SCHEMA content TO pg2es_app",
    )
    .await;
    (cluster, db)
}

/// `sslmode=verify-full` to `localhost` (the certificate's name) as `pg2es_app`.
fn verify_full_url(cluster: &PgCluster, name: &str, password: &str) -> String {
    format!(
        "postgres://pg2es_app:{password}@localhost:{}/{name}?sslmode=verify-full",
        cluster.port
    )
}

#[tokio::test]
async fn verify_full_to_postgres_with_the_test_ca() {
    let name = unique_name("pg_verify_full");
    let (cluster, db) = tls_postgres(&name, 40).await;
    let index = SearchIndex::new(&name).await;
    let mut worker = Worker::new(&db, &name);
    worker.set(
        "PG2ES__POSTGRES__URL",
        &verify_full_url(&cluster, &name, "pg-app-s3cret"),
    );
    worker.set(
        "PG2ES__POSTGRES__CA_CERT",
        &tls_file("ca.pem").display().to_string(),
    );

    let (indexed, _, _, log) = worker.sync_once();

    assert_eq!(indexed, db.expected_documents().await.len() as u64, "{log}");
    assert_index_equals_postgres(&db, &index).await;
    assert!(!log.contains("pg-app-s3cret"), "{log}");
}

#[tokio::test]
async fn postgres_with_another_ca_or_a_wrong_password_fails_once() {
    let name = unique_name("pg_tls_refused");
    let (cluster, db) = tls_postgres(&name, 5).await;
    let _index = SearchIndex::new(&name).await;
    let cases = [
        ("other-ca.pem", "pg-app-s3cret", "UnknownIssuer"),
        ("ca.pem", "wrong-s3cret", "password authentication failed"),
    ];
    for (ca, password, expected) in cases {
        let mut worker = Worker::new(&db, &name);
        worker.set(
            "PG2ES__POSTGRES__URL",
            &verify_full_url(&cluster, &name, password),
        );
        worker.set(
            "PG2ES__POSTGRES__CA_CERT",
            &tls_file(ca).display().to_string(),
        );
        fails_once(&worker, &["sync", "--once"], expected, password).await;
    }
}

/// A worker in logical mode on the TLS-only cluster, `pg2es setup` done as the tables' owner
/// (over `verify-full` too), reading as `pg2es_app` (which may replicate) and trusting the test
/// CA; its first `sync --once` back-filled the index.
async fn logical_over_verify_full(name: &str) -> (PgCluster, TestDb, SearchIndex, Worker) {
    let (cluster, db) = tls_postgres(name, 20).await;
    db.execute("ALTER ROLE pg2es_app REPLICATION").await;
    let index = SearchIndex::new(name).await;
    let mut worker = Worker::new(&db, name);
    worker.set(
        "PG2ES__POSTGRES__CA_CERT",
        &tls_file("ca.pem").display().to_string(),
    );
    worker.set(
        "PG2ES__POSTGRES__URL",
        &format!(
            "postgres://postgres@localhost:{}/{name}?sslmode=verify-full",
            cluster.port
        ),
    );
    worker.capture_logical();
    worker.set(
        "PG2ES__POSTGRES__URL",
        &verify_full_url(&cluster, name, "pg-app-s3cret"),
    );
    let (indexed, _, _, log) = worker.sync_once();
    assert_eq!(indexed, db.expected_documents().await.len() as u64, "{log}");
    (cluster, db, index, worker)
}

/// `(encrypted, all)`: the replication connections of the cluster, and those over TLS.
async fn replication_connections(db: &TestDb) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*)
         FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn logical_capture_streams_over_verify_full_with_the_test_ca() {
    if no_logical_capture("logical_capture_streams_over_verify_full_with_the_test_ca") {
        return;
    }
    let name = unique_name("pg_tls_logical");
    let (_cluster, db, index, worker) = logical_over_verify_full(&name).await;
    let before = index.alias_target().await;
    let mut running = Running::start(&worker);
    running
        .wait_for_log("streaming changes", FAILS_WITHIN)
        .await;
    assert_eq!(
        replication_connections(&db).await,
        (1, 1),
        "{}",
        running.log()
    );

    let film: String =
        sqlx::query_scalar("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    db.execute(&format!(
        "UPDATE content.film_work SET title = 'Streamed Over TLS', updated_at = now() WHERE id = '{film}'"
    ))
    .await;
    wait_until(
        "the update to reach the index through the stream",
        FAILS_WITHIN,
        || async {
            index.refresh().await;
            index.documents().await[&film]["title"] == "Streamed Over TLS"
        },
    )
    .await;

    running.kill();
    let log = running.log();
    assert_eq!(index.alias_target().await, before, "not a rebuild: {log}");
    assert!(!log.contains("rebuilding"), "{log}");
    assert!(!log.contains("pg-app-s3cret"), "{log}");
    assert_index_equals_postgres(&db, &index).await;
}

/// A CA of the test's own, made here, and a server certificate for `localhost` it issued:
/// `(certificate, key)`. The test CA did not issue it.
fn certificate_of_another_ca(dir: &Path) -> (PathBuf, PathBuf) {
    let file = |name: &str| dir.join(name).display().to_string();
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=another CA",
            "-keyout",
            &file("ca.key"),
            "-out",
            &file("ca.pem"),
        ],
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &file("server.key"),
            "-out",
            &file("server.csr"),
        ],
        &[
            "x509",
            "-req",
            "-in",
            &file("server.csr"),
            "-CA",
            &file("ca.pem"),
            "-CAkey",
            &file("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &file("ext"),
            "-out",
            &file("server.pem"),
        ],
    ];
    for args in steps {
        let output = Command::new("openssl")
            .args(args)
            .output()
            .expect("run openssl");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    (dir.join("server.pem"), dir.join("server.key"))
}

/// Whether a new connection trusting the test CA is refused (the new certificate is served).
async fn test_ca_refused(cluster: &PgCluster) -> bool {
    let url = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        cluster.port,
        tls_file("ca.pem").display()
    );
    sqlx::PgConnection::connect(&url).await.is_err()
}

#[tokio::test]
async fn logical_capture_with_a_server_certificate_from_another_ca_fails_once() {
    if no_logical_capture("logical_capture_with_a_server_certificate_from_another_ca_fails_once") {
        return;
    }
    let name = unique_name("pg_tls_logical_ca");
    let (cluster, db, _index, worker) = logical_over_verify_full(&name).await;
    let mut running = Running::start(&worker);
    running
        .wait_for_log("streaming changes", FAILS_WITHIN)
        .await;

    // The queries' connections stay as they are: only the replication connection, cut, is
    // made again, and meets a certificate the test CA did not sign.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate_of_another_ca(dir.path());
    cluster.replace_certificate(&cert, &key);
    wait_until(
        "the server to present the new certificate",
        FAILS_WITHIN,
        || test_ca_refused(&cluster),
    )
    .await;
    db.execute(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
         WHERE database = current_database() AND active_pid IS NOT NULL",
    )
    .await;

    let code = running.wait_for_exit(FAILS_WITHIN).await;
    let log = running.log();
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains("replication stream of slot"), "{log}");
    assert!(log.contains("UnknownIssuer"), "{log}");
    assert!(!log.contains("retrying"), "retried: {log}");
    assert!(!log.contains("pg-app-s3cret"), "{log}");
}

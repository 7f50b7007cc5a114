//! The stack's secure search node (`scripts/stack/up.sh secure`: OpenSearch with its security
//! plugin, HTTPS with the test CA, the users and roles of `scripts/stack/secure/`) and the test
//! CA's files (`target/stack/tls`).

use std::path::PathBuf;

use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::transport::{SingleNodeConnectionPool, Transport, TransportBuilder};

use super::env_or_fail;

/// `(user, password)`: every permission; the tests' own, to make and read indexes.
pub const ADMIN: (&str, &str) = ("admin", "pg2es-admin-pw");
/// What pg2es needs on `pg2es_*` indexes (role `pg2es_writer`).
pub const WRITER: (&str, &str) = ("pg2es_writer", "pg2es-writer-pw");
/// May read `pg2es_*` indexes, not write them (role `pg2es_reader`).
pub const READER: (&str, &str) = ("pg2es_reader", "pg2es-reader-pw");

pub fn secure_url() -> String {
    env_or_fail("PG2ES_TEST_SECURE_URL")
}

/// A file of the test CA's folder: `ca.pem`, `other-ca.pem`, `node.pem`, `node.key`.
pub fn tls_file(name: &str) -> PathBuf {
    PathBuf::from(env_or_fail("PG2ES_TEST_TLS_DIR")).join(name)
}

/// A transport to `url`: to the secure node as its admin over HTTPS with the test CA.
pub fn transport(url: &str) -> Transport {
    if std::env::var("PG2ES_TEST_SECURE_URL").ok().as_deref() != Some(url) {
        return Transport::single_node(url).unwrap();
    }
    let pem = std::fs::read(tls_file("ca.pem")).unwrap();
    let ca = Certificate::from_pem(&pem).unwrap();
    let pool = SingleNodeConnectionPool::new(url::Url::parse(url).unwrap());
    TransportBuilder::new(pool)
        .auth(Credentials::Basic(ADMIN.0.into(), ADMIN.1.into()))
        .cert_validation(CertificateValidation::Full(ca))
        .build()
        .unwrap()
}

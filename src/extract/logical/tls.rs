//! The replication connection's TLS, read from the very options the query pool connects with
//! (`extract::connect_options`: `sslmode`, `sslrootcert` or `postgres.ca_cert`, `sslcert`,
//! `sslkey`, and the `PGSSL*` variables sqlx reads), so that the stream is encrypted and
//! checked exactly as the queries are. What the transport cannot do alike is refused at
//! start-up, never downgraded to clear text.

use std::path::PathBuf;

use pgwire_replication::{SslMode, TlsConfig};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::ConnectOptions;

/// How sqlx prints a certificate or key given as a path in its options' URL.
const FILE_PREFIX: &str = "file: ";

/// A TLS setting of `postgres.url` the replication connection cannot honour as sqlx does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("postgres.url: the replication connection of sync.capture: logical {problem}: {instead}")]
pub(crate) struct TlsRefused {
    problem: String,
    instead: &'static str,
}

/// The replication connection's TLS settings from the query pool's `options`.
pub(super) fn tls_config(options: &PgConnectOptions) -> Result<TlsConfig, TlsRefused> {
    let mode = match options.get_ssl_mode() {
        // sqlx speaks clear text for `allow` too (it does not implement the retry with TLS).
        PgSslMode::Disable | PgSslMode::Allow => return Ok(TlsConfig::disabled()),
        // Clear text only when the server answers that it has no TLS, as sqlx does.
        PgSslMode::Prefer => SslMode::Prefer,
        PgSslMode::Require => SslMode::Require,
        PgSslMode::VerifyCa => SslMode::VerifyCa,
        PgSslMode::VerifyFull => SslMode::VerifyFull,
    };
    let files = Files::of(options)?;
    let mut tls = TlsConfig {
        mode,
        ca_pem_path: files.root,
        ..TlsConfig::default()
    };
    match (files.cert, files.key) {
        (Some(cert), Some(key)) => tls = tls.with_client_cert(cert, key),
        (None, None) => {}
        (cert, _) => {
            let (given, missing) = match cert {
                Some(_) => ("sslcert", "sslkey"),
                None => ("sslkey", "sslcert"),
            };
            return Err(TlsRefused {
                problem: format!("needs a client key and certificate together: {given} is given without {missing}"),
                instead: "give both sslcert= and sslkey= (PEM files), or neither",
            });
        }
    }
    if mode == SslMode::VerifyFull {
        // The host checked against the certificate, named explicitly: the transport refuses
        // an IP address otherwise, which sqlx (like libpq) checks against the IP addresses
        // the certificate names.
        tls = tls.with_sni_hostname(options.get_host());
    }
    Ok(tls)
}

/// The certificate files of the options, as paths.
struct Files {
    root: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

impl Files {
    /// sqlx keeps its certificate inputs private: its URL of the options shows them, a path as
    /// `file: <path>`, an inline PEM as the PEM itself.
    fn of(options: &PgConnectOptions) -> Result<Self, TlsRefused> {
        let url = options.to_url_lossy();
        let mut files = Self {
            root: None,
            cert: None,
            key: None,
        };
        for (key, value) in url.query_pairs() {
            let (slot, what) = match &*key {
                "sslrootcert" => (
                    &mut files.root,
                    "certificate authority (sslrootcert, PGSSLROOTCERT)",
                ),
                "sslcert" => (&mut files.cert, "client certificate (sslcert, PGSSLCERT)"),
                "sslkey" => (&mut files.key, "client key (sslkey, PGSSLKEY)"),
                _ => continue,
            };
            let Some(path) = value.strip_prefix(FILE_PREFIX) else {
                return Err(TlsRefused {
                    problem: format!("reads the {what} from a file only, not as inline PEM"),
                    instead: "write it to a PEM file and name that file (postgres.ca_cert for the certificate authority)",
                });
            };
            *slot = Some(PathBuf::from(path));
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn tls(url: &str) -> Result<TlsConfig, TlsRefused> {
        tls_config(&PgConnectOptions::from_str(url).unwrap())
    }

    #[test]
    fn each_sslmode_maps_to_the_same_mode() {
        let cases = [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ];
        for (sslmode, expected) in cases {
            let url = format!("postgres://u:p@db.example:5432/movies?sslmode={sslmode}");
            assert_eq!(tls(&url).unwrap().mode, expected, "{sslmode}");
        }
    }

    #[test]
    fn the_ca_file_of_the_config_or_the_url_and_the_client_pair_are_passed_on() {
        let url =
            "postgres://u:p@db.example/movies?sslmode=verify-full&sslrootcert=/etc/url-ca.pem";
        let options = PgConnectOptions::from_str(url).unwrap();
        assert_eq!(
            tls_config(&options).unwrap().ca_pem_path,
            Some(PathBuf::from("/etc/url-ca.pem"))
        );
        // `postgres.ca_cert` is given to sqlx after the URL (`connect_options`): it wins.
        let configured = tls_config(&options.ssl_root_cert("/etc/pg2es/ca.pem")).unwrap();
        assert_eq!(
            configured.ca_pem_path,
            Some(PathBuf::from("/etc/pg2es/ca.pem"))
        );
        assert_eq!(configured.sni_hostname.as_deref(), Some("db.example"));
        assert!(!configured.is_mtls());

        let pair = tls(&format!("{url}&sslcert=/c/client.pem&sslkey=/c/client.key")).unwrap();
        assert_eq!(
            (pair.client_cert_pem_path, pair.client_key_pem_path),
            (
                Some(PathBuf::from("/c/client.pem")),
                Some(PathBuf::from("/c/client.key"))
            )
        );
    }

    #[test]
    fn what_the_transport_cannot_do_alike_is_refused_naming_postgres_url() {
        let lone = tls("postgres://u:p@db/movies?sslmode=require&sslcert=/c/client.pem")
            .unwrap_err()
            .to_string();
        assert!(lone.starts_with("postgres.url:"), "{lone}");
        assert!(lone.contains("sslcert is given without sslkey"), "{lone}");

        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        let options = PgConnectOptions::from_str("postgres://u:p@db/movies?sslmode=verify-ca")
            .unwrap()
            .ssl_root_cert_from_pem(pem.as_bytes().to_vec());
        let inline = tls_config(&options).unwrap_err().to_string();
        assert!(inline.contains("not as inline PEM"), "{inline}");
        assert!(inline.contains("postgres.ca_cert"), "{inline}");
        assert!(
            !inline.contains("MIIB") && !inline.contains(":p@"),
            "{inline}"
        );
    }
}

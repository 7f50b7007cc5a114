//! A Postgres cluster of one test's own (the stack's version: `PG2ES_TEST_PG_BIN`, else Debian's
//! newest; a temporary data dir, a free loopback port), so that the test can stop and start it
//! without disturbing the others.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// `LD_LIBRARY_PATH` of the binaries (the npm package's carry their own libraries).
    lib: Option<String>,
    pub port: u16,
}

impl PgCluster {
    /// Creates and starts a new cluster.
    pub fn start() -> Self {
        let cluster = Self::init();
        cluster.resume();
        cluster
    }

    /// A new cluster that accepts TCP connections over TLS only, with `cert` and `key` (PEM):
    /// `postgres` without a password, every other role with its SCRAM password.
    pub fn start_tls(cert: &Path, key: &Path) -> Self {
        let cluster = Self::init();
        let data = cluster.data();
        std::fs::copy(cert, data.join("server.crt")).unwrap();
        std::fs::copy(key, data.join("server.key")).unwrap();
        run(Command::new("chmod")
            .arg("600")
            .arg(data.join("server.key")));
        if is_root() {
            run(Command::new("chown")
                .arg("postgres")
                .arg(data.join("server.crt"))
                .arg(data.join("server.key")));
        }
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        conf.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        // Postgres 13 stores new passwords as md5 by default, which scram-sha-256 cannot check.
        conf.push_str("password_encryption = 'scram-sha-256'\n");
        std::fs::write(data.join("postgresql.conf"), conf).unwrap();
        let hba = "local all all trust\n\
                   hostssl all postgres 127.0.0.1/32 trust\n\
                   hostssl all all 127.0.0.1/32 scram-sha-256\n";
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
        cluster.resume();
        cluster
    }

    /// Makes a TLS cluster present `cert` and `key` (PEM) to the connections made from now on;
    /// those already open keep theirs. The reload is asynchronous: wait for its effect.
    pub fn replace_certificate(&self, cert: &Path, key: &Path) {
        let data = self.data();
        let (crt, pem_key) = (data.join("server.crt"), data.join("server.key"));
        // Written beside, then renamed: the server never reads a half-copied file.
        for (from, to) in [(cert, &crt), (key, &pem_key)] {
            let temporary = to.with_extension("new");
            std::fs::copy(from, &temporary).unwrap();
            run(Command::new("chmod").arg("600").arg(&temporary));
            if is_root() {
                run(Command::new("chown").arg("postgres").arg(&temporary));
            }
            std::fs::rename(&temporary, to).unwrap();
        }
        self.pg_ctl(&["reload"]);
    }

    fn init() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // The postgres user must reach the data dir inside our temporary directory.
        run(Command::new("chmod").args(["755"]).arg(dir.path()));
        let cluster = Self {
            bin: pg_bin(),
            lib: std::env::var("PG2ES_TEST_PG_LIB")
                .ok()
                .filter(|lib| !lib.is_empty()),
            port: free_port(),
            dir,
        };
        std::fs::create_dir(cluster.data()).unwrap();
        if is_root() {
            run(Command::new("chown").arg("postgres").arg(cluster.data()));
        }
        cluster.as_postgres(&[
            "initdb",
            "-D",
            &cluster.data_str(),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        cluster
    }

    /// A hot standby of this cluster, streaming from it with `hot_standby_feedback` on, made
    /// from a copy of its data directory taken while it was stopped: the same way on every
    /// version, without `pg_basebackup` (the npm servers lack it, and Debian's refuses newer
    /// servers). This cluster is stopped for the copy and started again.
    pub fn standby(&self) -> Self {
        let standby = self.copy_as_standby("");
        self.resume();
        standby.resume();
        standby
    }

    /// The physical slot of the standby `synced_standby` makes.
    pub const STANDBY_SLOT: &'static str = "pg2es_test_standby";

    /// A hot standby (as `standby`) that keeps this cluster's failover slots (Postgres 17+): it
    /// streams through the physical slot `STANDBY_SLOT` and synchronizes slots
    /// (`sync_replication_slots`, `dbname` in `primary_conninfo`), and this cluster sends no
    /// logical change before that standby has it (`synchronized_standby_slots`).
    pub fn synced_standby(&self) -> Self {
        let standby = self.copy_as_standby(&format!(
            "primary_slot_name = '{}'\nsync_replication_slots = on\n",
            Self::STANDBY_SLOT
        ));
        self.append_auto_conf(&format!(
            "synchronized_standby_slots = '{}'\n",
            Self::STANDBY_SLOT
        ));
        self.resume();
        run(Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.admin_url(),
                "-c",
            ])
            .arg(format!(
                "SELECT pg_create_physical_replication_slot('{}')",
                Self::STANDBY_SLOT
            )));
        standby.resume();
        standby
    }

    /// Stops this cluster and makes a standby of it from a copy of its data directory, with
    /// `extra` settings; the standby is not started, and this cluster not started again.
    fn copy_as_standby(&self, extra: &str) -> Self {
        self.stop();
        let dir = tempfile::tempdir().unwrap();
        run(Command::new("chmod").args(["755"]).arg(dir.path()));
        let standby = Self {
            dir,
            bin: self.bin.clone(),
            lib: self.lib.clone(),
            port: free_port(),
        };
        // `cp -a` keeps the postgres user's ownership when we are root.
        run(Command::new("cp")
            .arg("-a")
            .arg(self.data())
            .arg(standby.data()));
        let data = standby.data();
        std::fs::write(data.join("standby.signal"), "").unwrap();
        if is_root() {
            run(Command::new("chown")
                .arg("postgres")
                .arg(data.join("standby.signal")));
        }
        standby.append_auto_conf(&format!(
            "primary_conninfo = 'host=127.0.0.1 port={} user=postgres dbname=postgres'\nhot_standby_feedback = on\n{extra}",
            self.port
        ));
        standby
    }

    fn append_auto_conf(&self, settings: &str) {
        let path = self.data().join("postgresql.auto.conf");
        let mut auto = std::fs::read_to_string(&path).unwrap();
        auto.push_str(settings);
        std::fs::write(&path, auto).unwrap();
        if is_root() {
            run(Command::new("chown").arg("postgres").arg(&path));
        }
    }

    /// Promotes a standby to a primary (on a new timeline), waiting until it is one.
    pub fn promote(&self) {
        self.pg_ctl(&["promote", "-w"]);
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server: open connections are closed, new ones refused.
    pub fn stop(&self) {
        self.pg_ctl(&["stop", "-m", "fast", "-w"]);
    }

    /// Starts the stopped server again on the same port and data.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c wal_level=logical",
            self.port,
            self.data_str()
        );
        let log = self.data().join("postgres.log");
        self.pg_ctl(&[
            "start",
            "-w",
            "-l",
            &log.display().to_string(),
            "-o",
            &options,
        ]);
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn data_str(&self) -> String {
        self.data().display().to_string()
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data_str();
        let mut full = vec!["pg_ctl", "-D", &data];
        full.extend_from_slice(args);
        self.as_postgres(&full);
    }

    /// Runs one of the cluster's binaries as the postgres user (Postgres refuses root).
    fn as_postgres(&self, args: &[&str]) {
        run(self.command(args).current_dir(self.dir.path()));
    }

    /// `args[0]` of the cluster's binaries with `args[1..]`, as the postgres user when we are
    /// root, with the binaries' libraries.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = match is_root() {
            true => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--", "env"]);
                command
            }
            false => Command::new("env"),
        };
        if let Some(lib) = &self.lib {
            command.arg(format!("LD_LIBRARY_PATH={lib}"));
        }
        command.arg(self.bin.join(args[0])).args(&args[1..]);
        command
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data_str();
        let _ = self
            .command(&["pg_ctl", "-D", &data, "stop", "-m", "immediate"])
            .output();
    }
}

fn run(command: &mut Command) {
    let output = command.output().expect("start a Postgres tool");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.starts_with(b"0\n"))
}

/// The stack's server binaries (`PG2ES_TEST_PG_BIN`, written by `scripts/stack/up.sh`), else
/// the newest Debian PostgreSQL installed.
fn pg_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("PG2ES_TEST_PG_BIN") {
        return PathBuf::from(bin);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Debian's postgresql is installed")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            Path::new(&bin.join("initdb"))
                .exists()
                .then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().expect("a PostgreSQL with initdb").1
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

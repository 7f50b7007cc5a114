//! The real `pg2es` binary in a directory of its own: a `config.yaml` there names the movies
//! pipeline (its alias is the test's index), everything else comes from `PG2ES__*` variables.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{index_config_path, TestDb};

/// What a background worker has written to stderr so far.
pub type Log = Arc<Mutex<String>>;

pub struct Worker {
    pub dir: tempfile::TempDir,
    /// Where `config.yaml` is: beside the work directory, so that a test may mount over that.
    config_dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Worker {
    pub fn new(db: &TestDb, index: &str) -> Self {
        let pipelines = format!(
            "pipelines:\n  movies:\n    file: {}/pipelines/movies.yaml\n    alias: {index}\n    index_config: {}\n",
            super::REPO,
            index_config_path().display()
        );
        Self::with_pipelines(db, &pipelines)
    }

    /// A worker whose `config.yaml` holds `pipelines` (a `pipelines:` section).
    pub fn with_pipelines(db: &TestDb, pipelines: &str) -> Self {
        let dir = super::work_dir();
        let config_dir = super::work_dir();
        std::fs::write(config_dir.path().join("config.yaml"), pipelines)
            .expect("write config.yaml");
        let env = vec![
            ("PG2ES__POSTGRES__URL".into(), db.url.clone()),
            ("PG2ES__ELASTICSEARCH__URL".into(), super::search_url()),
            ("PG2ES__SYNC__POLL_INTERVAL".into(), "100ms".into()),
            ("PG2ES__SYNC__RETRY__INITIAL_DELAY".into(), "50ms".into()),
            ("PG2ES__SYNC__RETRY__MAX_DELAY".into(), "500ms".into()),
        ];
        Self {
            dir,
            config_dir,
            env,
        }
    }

    /// The `config.yaml` the worker reads (`--config`).
    pub fn config_path(&self) -> PathBuf {
        self.config_dir.path().join("config.yaml")
    }

    /// Sets (or replaces) one variable: a `PG2ES__*` setting, or `PG2ES_FAILPOINT`.
    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.retain(|(name, _)| name != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Removes a variable set by [`Worker::set`].
    pub fn unset(&mut self, key: &str) -> &mut Self {
        self.env.retain(|(name, _)| name != key);
        self
    }

    /// The movies pipeline's state file (`state.path` is `state.yaml`).
    pub fn state_path(&self) -> PathBuf {
        self.state_path_of("movies")
    }

    pub fn state_path_of(&self, pipeline: &str) -> PathBuf {
        self.dir.path().join(format!("state.{pipeline}.yaml"))
    }

    /// `state.path`: what another worker sets to share this one's state files.
    pub fn state_setting(&self) -> PathBuf {
        self.dir.path().join("state.yaml")
    }

    pub fn dead_letter_path(&self) -> PathBuf {
        self.dir.path().join("dead_letter.movies.ndjson")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pg2es"));
        command
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .envs(self.env.iter().cloned());
        // Only this worker's settings: nothing inherited from the developer's shell.
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("PG2ES__")) {
            if !self.env.iter().any(|(key, _)| *key == name) {
                command.env_remove(name);
            }
        }
        command
    }

    /// Exact capture: `sync.capture: triggers`, after `pg2es setup`, which must succeed.
    pub fn capture_with_triggers(&mut self) {
        self.set("PG2ES__SYNC__CAPTURE", "triggers");
        let setup = self.output(&["setup"]);
        assert!(
            setup.status.success(),
            "pg2es setup failed: {}",
            String::from_utf8_lossy(&setup.stderr)
        );
    }

    /// Logical capture: `sync.capture: logical`, after `pg2es setup`, which must succeed.
    pub fn capture_logical(&mut self) {
        self.set("PG2ES__SYNC__CAPTURE", "logical");
        let setup = self.output(&["setup"]);
        assert!(
            setup.status.success(),
            "pg2es setup failed: {}",
            String::from_utf8_lossy(&setup.stderr)
        );
    }

    /// Runs a command to completion.
    pub fn output(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run pg2es")
    }

    /// Runs a command that must end by itself within `deadline` (a failure that is retried
    /// for ever would not): killed and failed with its output when it does not.
    pub async fn output_within(&self, args: &[&str], deadline: std::time::Duration) -> Output {
        // Files, not pipes: a pipe nobody reads while waiting could block a chatty command.
        let (out, err) = (
            self.dir.path().join("stdout"),
            self.dir.path().join("stderr"),
        );
        let mut child = self
            .command(args)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("run pg2es");
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                let stderr = std::fs::read_to_string(&err).unwrap_or_default();
                panic!("pg2es {args:?} still running after {deadline:?}:\n{stderr}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        Output {
            status,
            stdout: std::fs::read(&out).unwrap(),
            stderr: std::fs::read(&err).unwrap(),
        }
    }

    /// `pg2es sync --once`, which must succeed; returns `(indexed, deleted, dead_lettered, log)`.
    pub fn sync_once(&self) -> (u64, u64, u64, String) {
        let output = self.output(&["sync", "--once"]);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "pg2es sync --once failed:\n{stderr}"
        );
        let field = |name: &str| -> u64 {
            stdout
                .split_whitespace()
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("no {name}= in {stdout:?}"))
        };
        (
            field("indexed"),
            field("deleted"),
            field("dead_lettered"),
            stderr,
        )
    }

    /// Starts `pg2es run` in the background. A thread of its own reads its stderr into the log
    /// as it comes, whether the test looks at it or not: a pipe nobody reads fills up and
    /// blocks a chatty worker. Its stdout, which nothing reads, goes nowhere.
    pub fn spawn_run(&self) -> (Child, Log) {
        self.spawn(&["run"])
    }

    /// Starts `pg2es <args>` in the background, its stderr read into the log as it comes.
    pub fn spawn(&self, args: &[&str]) -> (Child, Log) {
        let mut child = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pg2es");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Log::default();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        (child, log)
    }
}

/// The state file, read in one place: the tests know its path and layout only through these.
impl Worker {
    /// The state file, parsed; `None` while there is none (or it is refused as corrupt).
    pub fn state(&self) -> Option<Value> {
        self.state_of("movies")
    }

    /// The state file of `pipeline`, as JSON (`None` when there is none, or it does not parse).
    pub fn state_of(&self, pipeline: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.state_path_of(pipeline)).ok()?;
        serde_saphyr::from_str(&text).ok()
    }

    /// The back-fill of the live index according to the state file.
    pub fn backfill(&self) -> Option<Value> {
        self.state().map(|state| state["backfill"].clone())
    }

    /// Waits until the state file says the back-fill is done (a running worker's).
    pub async fn wait_backfilled(&self, deadline: std::time::Duration) {
        super::wait_until("the back-fill to finish", deadline, || {
            std::future::ready(self.backfill().is_some_and(|b| b["done"] == true))
        })
        .await;
    }

    /// Waits until a running worker's back-fill wrote its first documents, and checks that it
    /// is not over yet (a fault meant for the middle of a back-fill must land there).
    pub async fn wait_partly_backfilled(&self, deadline: std::time::Duration) {
        super::wait_until("a partly done back-fill", deadline, || {
            std::future::ready(
                self.backfill()
                    .is_some_and(|b| b["indexed"].as_u64() > Some(0)),
            )
        })
        .await;
        assert_eq!(
            self.backfill().unwrap_or_default()["done"],
            false,
            "the back-fill ended too soon"
        );
    }

    /// The rebuild in progress according to the state file.
    pub fn rebuild(&self) -> Option<Value> {
        self.state()
            .map(|state| state["rebuild"].clone())
            .filter(|rebuild| rebuild.is_object())
    }
}

/// Sends SIGTERM and waits for the exit; returns the exit code.
pub async fn terminate(child: &mut Child) -> Option<i32> {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exit = None;
    super::wait_until(
        "the worker to exit after SIGTERM",
        std::time::Duration::from_secs(30),
        || {
            exit = exit.or_else(|| child.try_wait().unwrap());
            std::future::ready(exit.is_some())
        },
    )
    .await;
    exit.unwrap().code()
}

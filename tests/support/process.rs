//! A `pg2es run` in the background whose log is read as it is written, and a bare HTTP client
//! for its `/metrics`, `/healthz` and `/readyz`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::sync::Arc;
use std::time::Duration;

use super::worker::Log;
use super::{wait_until, Worker};

pub struct Running {
    child: Child,
    log: Log,
}

impl Running {
    /// Starts `pg2es run` and collects its stderr.
    pub fn start(worker: &Worker) -> Self {
        let (child, log) = worker.spawn_run();
        Self { child, log }
    }

    /// Starts `pg2es <args>`, another command than `run`, and collects its stderr.
    pub fn command(worker: &Worker, args: &[&str]) -> Self {
        let (child, log) = worker.spawn(args);
        Self { child, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// How often the log says `text` so far.
    pub fn logged(&self, text: &str) -> usize {
        self.log.lock().unwrap().matches(text).count()
    }

    pub async fn wait_for_log(&self, text: &str, deadline: Duration) {
        let what = format!("{text:?} in the worker's log");
        let log = Arc::clone(&self.log);
        wait_until(&what, deadline, || {
            std::future::ready(log.lock().unwrap().contains(text))
        })
        .await;
    }

    /// The value of `field=` on the first log line containing `message`.
    pub async fn log_field(&self, message: &str, field: &str, deadline: Duration) -> String {
        self.wait_for_log(message, deadline).await;
        let log = self.log();
        let line = log.lines().find(|line| line.contains(message)).unwrap();
        line.split_whitespace()
            .find_map(|token| token.strip_prefix(&format!("{field}=")))
            .unwrap_or_else(|| panic!("no {field}= in {line:?}"))
            .to_owned()
    }

    /// The exit code once the process has ended (`Some(None)`: ended by a signal).
    pub fn try_wait(&mut self) -> Option<Option<i32>> {
        self.child.try_wait().unwrap().map(|status| status.code())
    }

    /// Waits for the process to end by itself: its exit code (`None`: ended by a signal).
    /// Fails with its log when it still runs after `deadline`.
    pub async fn wait_for_exit(&mut self, deadline: Duration) -> Option<i32> {
        let started = std::time::Instant::now();
        loop {
            if let Some(code) = self.try_wait() {
                return code;
            }
            assert!(
                started.elapsed() < deadline,
                "the worker still runs after {deadline:?}; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGSTOP: the process stands still (its timers, too, only run out once resumed).
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// SIGCONT.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `GET path` on `address`: `(status, body)`.
pub fn http_get(address: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect to the worker's http listener");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_owned());
    (status, body)
}

/// The value of an unlabelled sample in a metrics exposition.
pub fn metric(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in:\n{exposition}"))
}

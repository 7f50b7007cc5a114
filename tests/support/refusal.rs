//! A declaration that cannot work stops start-up and fails `check`, both naming the file, the
//! key and its line.

use std::path::Path;
use std::process::Output;

use super::Worker;

/// The line of `text` that holds `declares`, counted from 1.
pub fn line_of(text: &str, declares: &str) -> usize {
    text.lines()
        .position(|line| line.contains(declares))
        .unwrap_or_else(|| panic!("no line with {declares:?}"))
        + 1
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `sync --once` and `check` both refuse `text` written to `file`, naming the file, `key`, the
/// line that holds `declares` and every one of `says`.
pub fn refused(worker: &Worker, file: &Path, text: &str, key: &str, declares: &str, says: &[&str]) {
    std::fs::write(file, text).unwrap();
    let line = format!("line {}", line_of(text, declares));
    let sync = worker.output(&["sync", "--once"]);
    let message = stderr(&sync);
    assert_eq!(sync.status.code(), Some(1), "{key}: {message}");
    let check = worker.output(&["check"]);
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(!check.status.success(), "{key}: check passed: {report}");
    assert!(report.contains("✗ pipeline"), "{key}: no ✗ in {report}");
    for (what, text) in [("start-up", &message), ("check", &report)] {
        let file = file.display().to_string();
        for expected in [file.as_str(), key, &line].iter().chain(says) {
            assert!(text.contains(expected), "{what}: no {expected:?} in {text}");
        }
    }
}

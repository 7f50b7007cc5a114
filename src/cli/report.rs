//! The lines `pg2es check` prints: ✓, ⚠ or ✗ with a hint under each ✗, and the exit code
//! they add up to.

use std::process::ExitCode;

#[derive(Default)]
pub(super) struct Report {
    failed: usize,
}

impl Report {
    pub(super) fn pass(&mut self, what: &str, detail: &str) {
        match detail.is_empty() {
            true => println!("✓ {what}"),
            false => println!("✓ {what}: {detail}"),
        }
    }

    /// Works, but deserves attention: does not fail the check.
    pub(super) fn warn(&mut self, what: &str, detail: &str, hint: &str) {
        println!("⚠ {what}: {detail}");
        println!("    hint: {hint}");
    }

    pub(super) fn fail(&mut self, what: &str, detail: &str, hint: &str) {
        self.failed += 1;
        println!("✗ {what}: {detail}");
        if !hint.is_empty() {
            println!("    hint: {hint}");
        }
    }
}

pub(super) fn finish(report: Report) -> ExitCode {
    match report.failed {
        0 => ExitCode::SUCCESS,
        failed => {
            println!("{failed} check(s) failed");
            ExitCode::FAILURE
        }
    }
}

pub(super) fn chain(err: &dyn std::error::Error) -> String {
    super::causes(err).join(": ")
}

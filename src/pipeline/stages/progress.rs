//! Back-fill progress: a bar with rate and ETA when stderr is a terminal, otherwise a log line
//! every few seconds with done/total, rate and ETA; both feed the back-fill gauges.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::info;

/// How often the progress line is logged when there is no terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);
const BAR_TEMPLATE: &str =
    "back-fill [{bar:40}] {human_pos}/{human_len} ({percent}%) {per_sec} eta {eta}";

pub(in crate::pipeline) struct Progress {
    /// The `pipeline` label of the back-fill metrics.
    pipeline: String,
    total: u64,
    done: u64,
    done_at_start: u64,
    started: Instant,
    last_log: Instant,
    bar: Option<ProgressBar>,
}

/// Documents per second since this run started, and the time left at that rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(in crate::pipeline) struct Estimate {
    pub rate: f64,
    pub eta: Option<Duration>,
}

pub(in crate::pipeline) fn estimate(
    done: u64,
    done_at_start: u64,
    total: u64,
    elapsed: Duration,
) -> Estimate {
    let seconds = elapsed.as_secs_f64();
    let rate = match seconds > 0.0 {
        true => done.saturating_sub(done_at_start) as f64 / seconds,
        false => 0.0,
    };
    let left = total.saturating_sub(done) as f64;
    let eta = (rate > 0.0).then(|| Duration::from_secs_f64(left / rate));
    Estimate { rate, eta }
}

impl Progress {
    /// `total` root rows, `done` of them already written by an earlier run of this back-fill.
    pub fn start(pipeline: &str, total: u64, done: u64) -> Self {
        crate::metrics::get().backfill_started(pipeline, done, total);
        let bar = std::io::stderr().is_terminal().then(|| bar(total, done));
        let now = Instant::now();
        Self {
            pipeline: pipeline.to_owned(),
            total,
            done,
            done_at_start: done,
            started: now,
            last_log: now,
            bar,
        }
    }

    pub fn advance(&mut self, written: u64) {
        self.done += written;
        crate::metrics::get().backfill_advanced(&self.pipeline, self.done);
        if let Some(bar) = &self.bar {
            bar.set_position(self.done.min(self.total));
            return;
        }
        if self.last_log.elapsed() >= LOG_EVERY {
            self.log();
            self.last_log = Instant::now();
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }

    fn log(&self) {
        let estimate = estimate(
            self.done,
            self.done_at_start,
            self.total,
            self.started.elapsed(),
        );
        let eta = estimate.eta.map_or("unknown".to_owned(), |eta| {
            humantime::format_duration(Duration::from_secs(eta.as_secs())).to_string()
        });
        info!(
            done = self.done,
            total = self.total,
            rate_per_second = estimate.rate.round() as u64,
            eta = %eta,
            "back-fill progress"
        );
    }
}

fn bar(total: u64, done: u64) -> ProgressBar {
    let style = ProgressStyle::with_template(BAR_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        .with_style(style)
        .with_position(done.min(total));
    bar.reset_eta();
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_counts_this_run_only_and_eta_follows_from_it() {
        let estimate = estimate(600, 100, 1100, Duration::from_secs(10));
        assert_eq!(estimate.rate, 50.0);
        assert_eq!(estimate.eta, Some(Duration::from_secs(10)));
    }

    #[test]
    fn no_progress_yet_means_no_eta_and_overshoot_means_none_left() {
        assert_eq!(estimate(100, 100, 1000, Duration::from_secs(5)).eta, None);
        assert_eq!(estimate(0, 0, 10, Duration::ZERO).rate, 0.0);
        let done = estimate(1200, 0, 1000, Duration::from_secs(12));
        assert_eq!(done.eta, Some(Duration::ZERO));
    }
}

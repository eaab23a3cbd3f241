//! A progress line for long `cachesim` runs: after a few seconds, a spinner
//! with the accesses simulated so far and their rate, on stderr when it is a
//! terminal (indicatif draws nothing otherwise, so pipes and tests see no
//! change). Short runs never show it.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::hw::trace::{Access, AccessSink};

/// How long a run goes before its progress line appears.
const SHOW_AFTER: Duration = Duration::from_secs(2);

/// Accesses between two looks at the clock (keeps the per-access cost to a
/// counter increment).
const CHECK_EVERY: u64 = 1 << 20;

/// Passes accesses on to `sink`, counting them for the progress line.
pub struct Progress<'a> {
    sink: &'a mut dyn AccessSink,
    n: u64,
    next_check: u64,
    start: Instant,
    bar: Option<ProgressBar>,
}

impl<'a> Progress<'a> {
    /// Wraps `sink`; the clock starts now.
    pub fn new(sink: &'a mut dyn AccessSink) -> Self {
        Progress {
            sink,
            n: 0,
            next_check: CHECK_EVERY,
            start: Instant::now(),
            bar: None,
        }
    }

    fn check(&mut self) {
        self.next_check = self.n + CHECK_EVERY;
        if self.bar.is_none() && self.start.elapsed() >= SHOW_AFTER {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} cachesim: {human_pos} accesses ({per_sec}), {elapsed}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.n);
        }
    }
}

impl AccessSink for Progress<'_> {
    fn access(&mut self, a: Access) {
        self.n += 1;
        if self.n >= self.next_check {
            self.check();
        }
        self.sink.access(a);
    }

    fn access_batch(&mut self, batch: &[Access]) {
        self.n += batch.len() as u64;
        if self.n >= self.next_check {
            self.check();
        }
        self.sink.access_batch(batch);
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

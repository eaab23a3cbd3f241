//! A progress bar for `bitsim io`: after a few seconds, the cache sizes done
//! out of those asked for and the accesses simulated so far with their rate,
//! on stderr when it is a terminal (indicatif draws nothing otherwise, so
//! pipes, logs and tests see no change). Short runs never show it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::hw::io_sweep::SweepWatch;

/// How long a sweep goes before its bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(2);

/// Watches a sweep over `caches` cache sizes and draws its bar.
pub struct SweepProgress {
    caches: u64,
    accesses: AtomicU64,
    done: AtomicU64,
    start: Instant,
    bar: Mutex<Option<ProgressBar>>,
}

impl SweepProgress {
    /// A watch over `caches` cache sizes; the clock starts now.
    pub fn new(caches: usize) -> Self {
        SweepProgress {
            caches: caches as u64,
            accesses: AtomicU64::new(0),
            done: AtomicU64::new(0),
            start: Instant::now(),
            bar: Mutex::new(None),
        }
    }

    /// Creates the bar once the sweep has run for [`SHOW_AFTER`], then
    /// brings it up to date.
    fn update(&self) {
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        if bar.is_none() && self.start.elapsed() >= SHOW_AFTER {
            let b = ProgressBar::with_draw_target(Some(self.caches), ProgressDrawTarget::stderr())
                .with_elapsed(self.start.elapsed());
            b.set_style(
                ProgressStyle::with_template(
                    "io [{bar:20}] {pos}/{len} cache sizes, {msg} accesses, {elapsed}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            if !b.is_hidden() {
                // A cache size can take minutes: keep the clock moving.
                b.enable_steady_tick(Duration::from_millis(500));
            }
            *bar = Some(b);
        }
        if let Some(b) = bar.as_ref() {
            b.set_position(self.done.load(Ordering::Relaxed));
            b.set_message(indicatif::HumanCount(self.accesses.load(Ordering::Relaxed)).to_string());
        }
    }
}

impl SweepWatch for SweepProgress {
    fn accesses(&self, n: u64) {
        self.accesses.fetch_add(n, Ordering::Relaxed);
        self.update();
    }

    fn cache_done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.update();
    }
}

impl Drop for SweepProgress {
    fn drop(&mut self) {
        let bar = self.bar.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = bar.take() {
            b.finish_and_clear();
        }
    }
}

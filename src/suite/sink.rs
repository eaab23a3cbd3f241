//! The sink: collects rows as cells finish and rewrites `results.csv` /
//! `results.json` (atomically, at most once per interval and at the end),
//! so an interrupted run leaves every completed cell on disk.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::error::RunError;
use super::files;
use super::order::Order;
use super::record::{Measurement, Results};

/// Rows so far, and when they were last written.
pub struct Sink<'a> {
    /// Everything the results files will hold.
    pub results: Results,
    order: Order,
    out_dir: PathBuf,
    interval: Duration,
    last_write: Instant,
    energy_notes: BTreeSet<String>,
    /// The first error of the run, if any.
    pub error: Option<RunError>,
    stop: &'a AtomicBool,
}

impl<'a> Sink<'a> {
    /// A sink writing `results` (metadata and kept rows) into `out_dir`, in
    /// `order`; a failure sets `stop` so no new cell starts.
    pub fn new(
        results: Results,
        order: Order,
        out_dir: PathBuf,
        interval: Duration,
        stop: &'a AtomicBool,
    ) -> Self {
        Sink {
            results,
            order,
            out_dir,
            interval,
            last_write: Instant::now(),
            energy_notes: BTreeSet::new(),
            error: None,
            stop,
        }
    }

    /// Adds the rows of a finished cell or timing, and the energy table's
    /// scaling notes; rewrites the files when the interval has passed.
    pub fn add(&mut self, rows: Vec<Measurement>, notes: Vec<String>) {
        self.results.rows.extend(rows);
        self.energy_notes.extend(notes);
        if self.last_write.elapsed() >= self.interval {
            self.flush();
        }
    }

    /// Records the run's first error and stops the run.
    pub fn fail(&mut self, e: RunError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Sorts the rows and rewrites both files.
    pub fn flush(&mut self) {
        self.results.meta.energy_notes = self.energy_notes.iter().cloned().collect();
        self.order.sort(&mut self.results.rows);
        if let Err(e) = files::save(&self.out_dir, &self.results) {
            self.fail(e);
        }
        self.last_write = Instant::now();
    }
}

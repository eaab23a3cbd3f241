//! Closed forms beside simulated traffic: the count of the schedule a
//! generator runs for a cache size, the lower bound, and what a single
//! cache level of that size actually moves to and from slow memory. It
//! joins [`crate::hw::iomodel`] (the closed forms) and
//! [`crate::hw::tracegen`] (the streams), so that neither imports the other
//! for it.

use std::fmt;

use crate::hw::cache::{Hierarchy, HierarchyConfig, LevelConfig, Policy, WritePolicy};
use crate::hw::iomodel::ClosedForm;
use crate::hw::trace::{Access, AccessSink};
use crate::hw::tracegen::{self, DimError, TraceParams};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One simulated cache: a single LRU, write-back, write-allocate level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheSpec {
    /// Capacity, bytes.
    pub size: u64,
    /// Line size, bytes (a power of two).
    pub line: u32,
    /// Associativity; 0 = fully associative.
    pub ways: u32,
}

impl CacheSpec {
    /// A fully associative cache of `size` bytes with 64-byte lines.
    pub fn fully_associative(size: u64) -> Self {
        CacheSpec {
            size,
            line: 64,
            ways: 0,
        }
    }

    /// Checks that the geometry is possible; the error names the problem.
    pub fn check(&self) -> Result<(), String> {
        if self.line == 0 || !self.line.is_power_of_two() {
            return Err(format!("line size {} is not a power of two", self.line));
        }
        if self.size < self.line as u64 || !self.size.is_multiple_of(self.line as u64) {
            return Err(format!(
                "cache size {} is not a positive multiple of the {}-byte line",
                self.size, self.line
            ));
        }
        let lines = self.size / self.line as u64;
        if self.ways != 0 && !lines.is_multiple_of(self.ways as u64) {
            return Err(format!(
                "{} ways do not divide the {lines} lines of a {}-byte cache",
                self.ways, self.size
            ));
        }
        Ok(())
    }
}

/// Why a sweep could not run: the sizes (which the generator names) or a
/// cache (whose geometry the reason describes).
#[derive(Debug, Clone, PartialEq)]
pub enum SweepError {
    /// The generator cannot run with these sizes.
    Dims(DimError),
    /// A cache cannot be built.
    Cache {
        /// The cache.
        cache: CacheSpec,
        /// Why not.
        reason: String,
    },
}

impl From<DimError> for SweepError {
    fn from(e: DimError) -> Self {
        SweepError::Dims(e)
    }
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepError::Dims(e) => e.fmt(f),
            SweepError::Cache { reason, .. } => f.write_str(reason),
        }
    }
}

impl std::error::Error for SweepError {}

/// The closed form and bound of `p.generator` with tiles chosen for `fast_bytes`.
pub fn closed_form(p: &TraceParams, fast_bytes: u64) -> Result<ClosedForm, DimError> {
    p.check()?;
    Ok(p.generator.closed_form(p, fast_bytes))
}

/// Slow-memory bytes moved when `p.generator`, with tiles chosen for the
/// cache's size, runs through one cold LRU write-back, write-allocate cache
/// `c`: line fills plus dirty write-backs. At the end the cache is flushed
/// (its dirty lines count as written back).
pub fn simulate(p: &TraceParams, c: &CacheSpec) -> Result<u64, SweepError> {
    simulate_observed(p, c, &Silent)
}

/// [`simulate`], telling `watch` how many accesses have gone through.
fn simulate_observed(
    p: &TraceParams,
    c: &CacheSpec,
    watch: &dyn SweepWatch,
) -> Result<u64, SweepError> {
    let cache_error = |reason| SweepError::Cache { cache: *c, reason };
    c.check().map_err(cache_error)?;
    let cfg = HierarchyConfig {
        name: "io".into(),
        levels: vec![LevelConfig {
            name: "cache".into(),
            size: c.size,
            ways: c.ways,
            line: c.line,
            policy: Policy::Lru,
            write: WritePolicy::WriteBack,
        }],
        inclusion: Default::default(),
    };
    let mut h = Hierarchy::new(&cfg).map_err(cache_error)?;
    let mut p = p.clone();
    p.fast_bytes = Some(c.size);
    let mut counted = Counted {
        sink: &mut h,
        unreported: 0,
        watch,
    };
    tracegen::generate(&p, &mut counted)?;
    watch.accesses(counted.unreported);
    // Writing the dirty lines back visits the lines the trace touched, not
    // the declared size (a 4 GiB cache costs what a 330 KB problem uses).
    h.flush();
    let s = &h.stats()[0];
    Ok(s.bytes_in + s.bytes_out)
}

/// One cache size of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// The simulated cache.
    pub cache: CacheSpec,
    /// Closed form and bound for tiles chosen for this size.
    pub closed: ClosedForm,
    /// Simulated slow-memory bytes ([`simulate`]).
    pub simulated_bytes: u64,
    /// simulated / closed form with write-allocate fills
    /// ([`crate::hw::iomodel::IoCount::cached_bytes`]); 1 when the cache does exactly what the
    /// schedule says.
    pub ratio: f64,
}

/// Closed form, bound and simulation of `p` for each cache (in parallel).
pub fn sweep(p: &TraceParams, caches: &[CacheSpec]) -> Result<Vec<SweepRow>, SweepError> {
    sweep_observed(p, caches, &Silent)
}

/// Told how far a sweep has got, for a progress display. The caches run in
/// parallel, so calls come from several threads.
pub trait SweepWatch: Sync {
    /// `n` more accesses went through a simulated cache (reported in chunks
    /// of [`REPORT_EVERY`], the rest when a simulation ends).
    fn accesses(&self, n: u64);
    /// One more cache is done.
    fn cache_done(&self);
}

/// Accesses between two reports to a [`SweepWatch`] (keeps the per-access
/// cost to a counter increment).
pub const REPORT_EVERY: u64 = 1 << 20;

/// A watch that ignores everything.
struct Silent;

impl SweepWatch for Silent {
    fn accesses(&self, _: u64) {}
    fn cache_done(&self) {}
}

/// Passes accesses on to `sink`, reporting their count to `watch`.
struct Counted<'a, S> {
    sink: &'a mut S,
    unreported: u64,
    watch: &'a dyn SweepWatch,
}

impl<S: AccessSink> Counted<'_, S> {
    fn count(&mut self, n: u64) {
        self.unreported += n;
        if self.unreported >= REPORT_EVERY {
            self.watch.accesses(self.unreported);
            self.unreported = 0;
        }
    }
}

impl<S: AccessSink> AccessSink for Counted<'_, S> {
    fn access(&mut self, a: Access) {
        self.count(1);
        self.sink.access(a);
    }

    fn access_batch(&mut self, batch: &[Access]) {
        self.count(batch.len() as u64);
        self.sink.access_batch(batch);
    }
}

/// [`sweep`], telling `watch` of the accesses simulated and the caches done.
pub fn sweep_observed(
    p: &TraceParams,
    caches: &[CacheSpec],
    watch: &dyn SweepWatch,
) -> Result<Vec<SweepRow>, SweepError> {
    caches
        .par_iter()
        .map(|c| {
            let closed = closed_form(p, c.size)?;
            let sim = simulate_observed(p, c, watch)?;
            watch.cache_done();
            let ratio = sim as f64 / closed.count.cached_bytes();
            Ok(SweepRow {
                cache: *c,
                closed,
                simulated_bytes: sim,
                ratio,
            })
        })
        .collect()
}

/// The smallest and largest ratio of a sweep: the constant band the
/// simulation stays in around the closed form ((NaN, NaN) when empty).
pub fn band(rows: &[SweepRow]) -> (f64, f64) {
    if rows.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    rows.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
            (lo.min(r.ratio), hi.max(r.ratio))
        })
}

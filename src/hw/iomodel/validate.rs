//! Closed forms beside simulated traffic: the count of the schedule a
//! generator runs for a cache size, the lower bound, and what a single
//! cache level of that size actually moves to and from slow memory.

use super::{
    flash_attention, gemv, hong_kung_bound, naive_matmul, saha_ye_bound, standard_attention,
    tiled_matmul, Bound, ElementSize, IoCount,
};
use crate::hw::cache::{Hierarchy, HierarchyConfig, LevelConfig, Policy, WritePolicy};
use crate::hw::trace::{Access, AccessSink};
use crate::hw::tracegen::{self, TraceParams};
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

/// The closed form of the schedule a generator runs for one fast-memory size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosedForm {
    /// Fast memory M in words of the format.
    pub m_words: u64,
    /// The tiles the generator chose, as text (`Bc=32 Br=32`).
    pub tiles: String,
    /// The exact count of that schedule.
    pub count: IoCount,
    /// The lower bound (Saha–Ye for attention, Hong–Kung for matmuls).
    pub bound: Bound,
}

/// The closed form and bound of `p.variant` with tiles chosen for `fast_bytes`.
pub fn closed_form(p: &TraceParams, fast_bytes: u64) -> Result<ClosedForm, String> {
    tracegen::check_dims(p)?;
    let es = ElementSize::parse(p.format.as_deref())?;
    let mw = es.words_in(fast_bytes);
    let (m, n, k, d) = (p.m as u64, p.n as u64, p.k as u64, p.d as u64);
    let (tiles, count, bound) = match p.variant.as_str() {
        "matmul/naive" => (
            "none".to_string(),
            naive_matmul(m, n, k, &es),
            hong_kung_bound(m, n, k, mw, &es),
        ),
        "matmul/tiled" => {
            let t = tracegen::matmul_tiles(m, n, k, &es, fast_bytes);
            (
                format!("bm={} bn={} bk={}", t.bm, t.bn, t.bk),
                tiled_matmul(m, n, k, t, &es),
                hong_kung_bound(m, n, k, mw, &es),
            )
        }
        "matmul/gemv" => {
            let c = tracegen::gemv_chunk(m, k, &es, fast_bytes);
            (
                format!("chunk={c}"),
                gemv(m, k, c, &es),
                hong_kung_bound(m, 1, k, mw, &es),
            )
        }
        "attention/standard" => {
            let b = tracegen::standard_block(n, d, &es, fast_bytes);
            (
                format!("Bq={b} c={}", tracegen::standard_chunk(n, &es)),
                standard_attention(n, d, b, &es),
                saha_ye_bound(n, d, mw, &es),
            )
        }
        "attention/flash" => {
            let t = tracegen::flash_tiles(n, d, &es, fast_bytes);
            (
                format!("Bc={} Br={}", t.b_c, t.b_r),
                flash_attention(n, d, t, &es),
                saha_ye_bound(n, d, mw, &es),
            )
        }
        other => return Err(format!("--variant {other}: unknown generator")),
    };
    Ok(ClosedForm {
        m_words: mw,
        tiles,
        count,
        bound,
    })
}

/// Where the flush that ends a simulation reads (far above any generator's arrays).
const FLUSH_BASE: u64 = 1 << 56;

/// Slow-memory bytes moved when `p.variant`, with tiles chosen for the
/// cache's size, runs through one cold LRU write-back, write-allocate cache
/// `c`: line fills plus dirty write-backs. At the end the cache is flushed
/// (its dirty lines count as written back); the flush's own reads do not count.
pub fn simulate(p: &TraceParams, c: &CacheSpec) -> Result<u64, String> {
    c.check()?;
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
    };
    let mut h = Hierarchy::new(&cfg)?;
    let mut p = p.clone();
    p.fast_bytes = Some(c.size);
    tracegen::generate(&p, &mut h)?;
    // Reading a fresh region of the cache's size evicts every line (LRU).
    let line = c.line as u64;
    for i in 0..c.size / line {
        h.access(Access::read(FLUSH_BASE + i * line, c.line));
    }
    let s = &h.stats()[0];
    Ok(s.bytes_in - c.size + s.bytes_out)
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
    /// ([`IoCount::cached_bytes`]); 1 when the cache does exactly what the
    /// schedule says.
    pub ratio: f64,
}

/// Closed form, bound and simulation of `p` for each cache (in parallel).
pub fn sweep(p: &TraceParams, caches: &[CacheSpec]) -> Result<Vec<SweepRow>, String> {
    caches
        .par_iter()
        .map(|c| {
            let closed = closed_form(p, c.size)?;
            let sim = simulate(p, c)?;
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

/// Byte sizes: the one grammar and printer of every command (`crate::size`).
pub use crate::size::{parse_size, size_label};

/// Parses a comma-separated list of sizes (at least one).
pub fn parse_size_list(s: &str) -> Result<Vec<u64>, String> {
    if s.trim().is_empty() {
        return Err("empty list".into());
    }
    s.split(',').map(parse_size).collect()
}

//! Benching one variant's native kernel on one shape, against a ceiling
//! measured in the same process (what `bitsim kernels bench`, the suites'
//! native throughput rows and the CI throughput gate use).
//!
//! - **Operands**: seeded standard-normal activations (`M × K`) and weights
//!   (`N × K`).
//! - **Pack** once, timed apart from the product.
//! - **Product**: one untimed warm-up, then `reps` timed repetitions of
//!   `matmul` (activation quantization inside); the median is the figure.
//!   GOP/s count 2 ops per MAC; weight bytes/s are the packed weights'
//!   bytes ([`NativeMatmul::weight_bytes`]) over the median time.
//! - **Ceiling**, on the same number of threads: GEMV (M ≤ [`GEMV_MAX_M`]) is
//!   bound by reading the weights, so its ceiling is a plain read loop over
//!   as many bytes as the packed weights ([`read_pass`]); the fraction is the
//!   kernel's weight bytes/s over the loop's, and `ceiling_gops` the GOP/s
//!   the kernel would reach at the loop's rate. One pass of the loop runs
//!   after each timed product and the ceiling is the median pass: a shared
//!   machine's memory bandwidth drifts by 2× within seconds, so the two are
//!   measured alternately and by the same statistic. GEMM is bound by
//!   compute: its ceiling is the peak of the instruction the kernel is built
//!   on ([`Base`] → [`PeakOp`]), alike: one run of the peak loop (about a
//!   tenth of the ceiling budget) after each timed product, the median run.
//! - **Emulation** (for the "× emulation" figure): timed once on the same
//!   operands; above [`EMULATION_MAC_LIMIT`] multiply-accumulates it runs on
//!   the first rows only and its time is scaled to all M rows (the
//!   emulation's work is linear in M), with a note saying so.
//!
//! Threads: everything runs inside a rayon pool of `threads` threads (the
//! kernels use rayon), and the ceiling loops use as many OS threads.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::hw::roofline::calibrate::{fill, read_pass, read_rate};
use crate::hw::roofline::peaks::{peak_gops, PeakOp, PeakPasses};
use crate::isa::{self, IsaLevel};
use crate::kernels::{Base, GEMV_MAX_M};
use crate::tensor::{Matrix, Shape};
use crate::variants::{MatmulVariant, NativeMatmul};
use crate::workload::gen::{generate, Distribution};

/// Largest emulation (in MACs) timed on the full shape; larger ones run on
/// the first rows and are scaled.
pub const EMULATION_MAC_LIMIT: f64 = 2.0e8;

/// How to bench.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Timed repetitions of the product (at least 1).
    pub reps: u32,
    /// Threads of the rayon pool and of the ceiling loops.
    pub threads: usize,
    /// Operand seed.
    pub seed: u64,
    /// Measuring time of a ceiling measured on its own (the suites'); in
    /// `bench`, a GEMM's peak loop runs a tenth of it after each product.
    pub ceiling_budget: Duration,
    /// Whether to time the emulation.
    pub emulation: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            reps: 10,
            threads: 1,
            seed: 0,
            ceiling_budget: Duration::from_millis(300),
            emulation: true,
        }
    }
}

/// The kind of a ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CeilingKind {
    /// GEMV: a read loop over the packed weights' bytes.
    Read,
    /// GEMM: the peak of the kernel's base instruction.
    Peak,
}

/// One kernel's figures on one shape.
#[derive(Debug, Clone, Serialize)]
pub struct KernelBench {
    /// Variant name.
    pub variant: String,
    /// `[M, K, N]`.
    pub shape: [usize; 3],
    /// Threads.
    pub threads: usize,
    /// The ISA level the kernel ran at (the effective level, lowered to the
    /// kernel's highest own path).
    pub isa: String,
    /// The instruction the kernel is built on.
    pub base: String,
    /// Packing time, seconds.
    pub pack_s: f64,
    /// Median product time, seconds.
    pub median_s: f64,
    /// Every repetition's time, seconds.
    pub times_s: Vec<f64>,
    /// G ops/s at the median (2 ops per MAC).
    pub gops: f64,
    /// Packed weight bytes one product reads.
    pub weight_bytes: usize,
    /// Packed weight GB/s at the median.
    pub weight_gbps: f64,
    /// GEMV (read loop) or GEMM (base peak).
    pub ceiling_kind: CeilingKind,
    /// The loop that set the ceiling.
    pub ceiling_what: String,
    /// The read loop's GB/s (GEMV only).
    pub ceiling_gbps: Option<f64>,
    /// The ceiling in G ops/s for this shape.
    pub ceiling_gops: f64,
    /// gops / ceiling_gops (GEMV: weight GB/s over the read loop's GB/s).
    pub ceiling_fraction: f64,
    /// Emulation time for the whole shape, seconds (scaled when timed on fewer rows).
    pub emulation_s: Option<f64>,
    /// emulation_s / median_s.
    pub speedup_vs_emulation: Option<f64>,
    /// What to know about the figures (scaled emulation, skipped parts).
    pub notes: Vec<String>,
}

/// The GEMM ceiling's instruction group for a kernel's base.
pub fn peak_op(base: Base) -> PeakOp {
    match base {
        Base::F32Fma => PeakOp::F32Fma,
        Base::F32MulAdd => PeakOp::F32MulAdd,
        Base::Int8Dot => PeakOp::Int8Dot,
        Base::Int16Sat => PeakOp::Int16Sat,
        Base::Popcount => PeakOp::Popcount,
        Base::LmulAdd => PeakOp::LmulAdd,
        Base::Bf16Dot => PeakOp::Bf16Dot,
    }
}

/// The ISA level `kernel` runs at under the current cap.
pub fn kernel_isa(kernel: &dyn NativeMatmul) -> IsaLevel {
    isa::effective().min(kernel.top_isa())
}

/// Parses `MxKxN` (each a positive integer).
pub fn parse_shape(s: &str) -> Result<Shape, String> {
    let parts: Vec<&str> = s.split(['x', 'X']).collect();
    let dims: Option<Vec<usize>> = parts
        .iter()
        .map(|p| p.trim().parse::<usize>().ok().filter(|&d| d > 0))
        .collect();
    match dims.as_deref() {
        Some(&[m, k, n]) if parts.len() == 3 => Ok(Shape { m, k, n }),
        _ => Err("expected MxKxN with three positive integers (e.g. 1x4096x4096)".into()),
    }
}

/// The median of `v` (the mean of the middle two for an even count).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Seeded standard-normal operands `(A: m × k, W: n × k)`.
pub fn operands(shape: Shape, seed: u64) -> (Matrix, Matrix) {
    let d = Distribution::Gaussian { std: 1.0 };
    let a = generate(&d, shape.m, shape.k, seed);
    let w = generate(&d, shape.n, shape.k, seed ^ 0x005E_ED0F_3E16_4755);
    (a, w)
}

/// One untimed warm-up of `kernel` on `a`, then `reps` (at least 1) timed
/// products; every repetition's time, seconds.
pub fn time_product(kernel: &dyn NativeMatmul, a: &Matrix, reps: u32) -> Vec<f64> {
    time_calls(reps, || kernel.matmul(std::hint::black_box(a)), || {})
}

/// One untimed warm-up call, then `reps` (at least 1) timed calls, each
/// followed by `after` (untimed); every call's time, seconds.
pub fn time_calls<T>(reps: u32, mut call: impl FnMut() -> T, mut after: impl FnMut()) -> Vec<f64> {
    std::hint::black_box(call());
    (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            let out = call();
            let s = t.elapsed().as_secs_f64();
            std::hint::black_box(out);
            after();
            s
        })
        .collect()
}

/// A ceiling loop measured alternately with a kernel's timed calls (one
/// pass after each, the median pass the ceiling; see the module docs):
/// the matmul and attention benches' one way of doing so.
pub enum CeilingLoop {
    /// A plain read loop over as many bytes as the kernel streams (GB/s).
    Read {
        /// The bytes read, as words.
        buf: Vec<u64>,
        /// Their count.
        bytes: usize,
        /// OS threads reading.
        threads: usize,
    },
    /// Runs of a base instruction's peak loop (G ops/s).
    Peak(PeakPasses),
}

impl CeilingLoop {
    /// A read loop over `bytes` bytes on `threads` threads.
    pub fn read(bytes: usize, threads: usize) -> CeilingLoop {
        CeilingLoop::Read {
            buf: fill(bytes.div_ceil(8).max(1)),
            bytes,
            threads,
        }
    }

    /// The peak loop of `base`'s instruction on `threads` threads, each run
    /// calibrated to about `pass`.
    pub fn peak(base: Base, threads: usize, pass: Duration) -> CeilingLoop {
        CeilingLoop::Peak(PeakPasses::new(peak_op(base), threads, pass))
    }

    /// One pass: GB/s (read) or G ops/s (peak).
    pub fn pass(&self) -> f64 {
        match self {
            CeilingLoop::Read { buf, threads, .. } => read_pass(buf, *threads),
            CeilingLoop::Peak(p) => p.pass(),
        }
    }

    /// The loop, and that the ceiling is the median of `n` passes between
    /// the `calls` (the reports' "ceiling" column).
    pub fn what(&self, n: usize, calls: &str) -> String {
        match self {
            CeilingLoop::Read { bytes, .. } => {
                format!("read loop over {bytes} bytes, median of {n} passes between the {calls}")
            }
            CeilingLoop::Peak(p) => format!("{}, median of {n} runs between the {calls}", p.what()),
        }
    }
}

/// A GEMV's timings and ceiling: one untimed warm-up, then `reps` timed
/// products (at least one), each followed by one pass of the read loop over
/// as many bytes as the packed weights on `threads` threads; the ceiling is
/// the median pass (see the module docs).
pub fn time_gemv_with_read_loop(
    kernel: &dyn NativeMatmul,
    a: &Matrix,
    reps: u32,
    threads: usize,
) -> (Vec<f64>, Ceiling) {
    let ceiling = CeilingLoop::read(kernel.weight_bytes(), threads);
    let (times, rates) = time_products_alternately(kernel, a, reps, &ceiling);
    let ceiling = Ceiling {
        kind: CeilingKind::Read,
        what: ceiling.what(rates.len(), "products"),
        gbps: Some(median(&rates)),
        peak_gops: None,
    };
    (times, ceiling)
}

/// A GEMM's timings and ceiling: one untimed warm-up, then `reps` timed
/// products (at least one), each followed by one run of the base
/// instruction's peak loop on `threads` threads, calibrated to about `pass`;
/// the ceiling is the median run (see the module docs).
pub fn time_gemm_with_peak(
    kernel: &dyn NativeMatmul,
    a: &Matrix,
    reps: u32,
    threads: usize,
    pass: Duration,
) -> (Vec<f64>, Ceiling) {
    let ceiling = CeilingLoop::peak(kernel.base(), threads, pass);
    let (times, rates) = time_products_alternately(kernel, a, reps, &ceiling);
    let ceiling = Ceiling {
        kind: CeilingKind::Peak,
        what: ceiling.what(rates.len(), "products"),
        gbps: None,
        peak_gops: Some(median(&rates)),
    };
    (times, ceiling)
}

/// Timed products, one ceiling pass after each: (times, pass rates).
fn time_products_alternately(
    kernel: &dyn NativeMatmul,
    a: &Matrix,
    reps: u32,
    ceiling: &CeilingLoop,
) -> (Vec<f64>, Vec<f64>) {
    let mut rates = Vec::new();
    let times = time_calls(
        reps,
        || kernel.matmul(std::hint::black_box(a)),
        || rates.push(ceiling.pass()),
    );
    (times, rates)
}

/// A ceiling measured in this process (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Ceiling {
    /// GEMV (read loop) or GEMM (base peak).
    pub kind: CeilingKind,
    /// The loop that set it.
    pub what: String,
    /// The read loop's GB/s (GEMV only).
    pub gbps: Option<f64>,
    /// The base instruction's peak, G ops/s (GEMM only).
    pub peak_gops: Option<f64>,
}

impl Ceiling {
    /// The ceiling in G ops/s for `shape` with `weight_bytes` of packed
    /// weights (GEMV: the GOP/s a product would reach at the read loop's rate).
    pub fn gops(&self, shape: Shape, weight_bytes: usize) -> f64 {
        match (self.gbps, self.peak_gops) {
            (Some(gbps), _) => gbps / weight_bytes.max(1) as f64 * 2.0 * shape.macs(),
            (None, Some(peak)) => peak,
            (None, None) => f64::NAN,
        }
    }

    /// The fraction of this ceiling a product of `shape` taking `secs`
    /// reaches (GEMV: weight bytes/s over the read loop's; GEMM: GOP/s over
    /// the peak; the two agree with [`Self::gops`]).
    pub fn fraction(&self, shape: Shape, weight_bytes: usize, secs: f64) -> f64 {
        let secs = secs.max(1e-12);
        match self.gbps {
            Some(gbps) => weight_bytes as f64 / secs / 1e9 / gbps,
            None => 2.0 * shape.macs() / secs / 1e9 / self.gops(shape, weight_bytes),
        }
    }
}

/// Whether `shape` takes the GEMV path (and a read-loop ceiling).
pub fn is_gemv(shape: Shape) -> bool {
    shape.m <= GEMV_MAX_M
}

/// What a ceiling depends on: GEMV the packed bytes, GEMM the base
/// instruction; both the thread count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CeilingKey {
    /// A read loop over this many bytes on this many threads.
    Read(usize, usize),
    /// The peak of this base instruction on this many threads.
    Peak(Base, usize),
}

/// The ceiling key of packed `kernel` on `shape` with `threads` threads.
pub fn ceiling_key(kernel: &dyn NativeMatmul, shape: Shape, threads: usize) -> CeilingKey {
    if is_gemv(shape) {
        CeilingKey::Read(kernel.weight_bytes(), threads.max(1))
    } else {
        CeilingKey::Peak(kernel.base(), threads.max(1))
    }
}

/// Measures the ceiling of `key` for about `budget`.
pub fn measure_key(key: CeilingKey, budget: Duration) -> Ceiling {
    match key {
        CeilingKey::Read(bytes, threads) => {
            let buf = fill(bytes.div_ceil(8).max(1));
            let gbps = read_rate(&buf, threads, budget);
            Ceiling {
                kind: CeilingKind::Read,
                what: format!("read loop over {bytes} bytes"),
                gbps: Some(gbps),
                peak_gops: None,
            }
        }
        CeilingKey::Peak(base, threads) => {
            let (peak, what) = peak_gops(peak_op(base), threads, budget);
            Ceiling {
                kind: CeilingKind::Peak,
                what: what.to_string(),
                gbps: None,
                peak_gops: Some(peak),
            }
        }
    }
}

/// Ceilings measured once per run and reused by every kernel with the same
/// key (the suites measure many variants on few shapes).
#[derive(Debug, Default)]
pub struct CeilingCache {
    /// Measuring time of each new read-loop (GEMV) ceiling.
    pub read_budget: Duration,
    /// Measuring time of each new instruction-peak (GEMM) ceiling.
    pub peak_budget: Duration,
    known: HashMap<CeilingKey, Ceiling>,
}

impl CeilingCache {
    /// An empty cache measuring each new read-loop ceiling for about
    /// `read_budget` and each new peak for about `peak_budget`.
    pub fn new(read_budget: Duration, peak_budget: Duration) -> Self {
        CeilingCache {
            read_budget,
            peak_budget,
            known: HashMap::new(),
        }
    }

    /// The ceiling of packed `kernel` on `shape`, measured on first use.
    pub fn get(&mut self, kernel: &dyn NativeMatmul, shape: Shape, threads: usize) -> &Ceiling {
        let key = ceiling_key(kernel, shape, threads);
        let budget = match key {
            CeilingKey::Read(..) => self.read_budget,
            CeilingKey::Peak(..) => self.peak_budget,
        };
        self.known
            .entry(key)
            .or_insert_with(|| measure_key(key, budget))
    }

    /// Ceilings measured so far.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether none was measured yet.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

/// Benches `v`'s native kernel on `shape` (see the module docs). Errors: the
/// variant has no native kernel, or the thread pool cannot be built.
pub fn bench(
    v: &dyn MatmulVariant,
    shape: Shape,
    opts: &BenchOptions,
) -> Result<KernelBench, String> {
    let mut kernel = v
        .native()
        .ok_or_else(|| format!("variant {} has no native kernel", v.name()))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .build()
        .map_err(|e| format!("cannot start {} threads: {e}", opts.threads))?;
    pool.install(|| bench_in_pool(v, &mut *kernel, shape, opts))
}

fn bench_in_pool(
    v: &dyn MatmulVariant,
    kernel: &mut dyn NativeMatmul,
    shape: Shape,
    opts: &BenchOptions,
) -> Result<KernelBench, String> {
    let (a, w) = operands(shape, opts.seed);
    let t = Instant::now();
    kernel.pack_weights(&w);
    let pack_s = t.elapsed().as_secs_f64();

    let threads = opts.threads.max(1);
    let (times_s, ceiling) = if is_gemv(shape) {
        time_gemv_with_read_loop(kernel, &a, opts.reps, threads)
    } else {
        time_gemm_with_peak(kernel, &a, opts.reps, threads, opts.ceiling_budget / 10)
    };
    let median_s = median(&times_s).max(1e-12);
    let ops = 2.0 * shape.macs();
    let gops = ops / median_s / 1e9;
    let weight_bytes = kernel.weight_bytes();
    let weight_gbps = weight_bytes as f64 / median_s / 1e9;

    let ceiling_fraction = ceiling.fraction(shape, weight_bytes, median_s);
    let ceiling_gops = ceiling.gops(shape, weight_bytes);

    let mut notes = Vec::new();
    let emulation_s = if opts.emulation {
        let rows = if shape.macs() <= EMULATION_MAC_LIMIT {
            shape.m
        } else {
            ((EMULATION_MAC_LIMIT / (shape.k as f64 * shape.n as f64)) as usize).clamp(1, shape.m)
        };
        let sub;
        let a_emu = if rows < shape.m {
            sub = Matrix::new(rows, shape.k, a.data[..rows * shape.k].to_vec());
            notes.push(format!(
                "emulation timed on {rows} of {} rows, scaled to all",
                shape.m
            ));
            &sub
        } else {
            &a
        };
        let t = Instant::now();
        std::hint::black_box(v.emulate(a_emu, &w, opts.seed));
        Some(t.elapsed().as_secs_f64() * shape.m as f64 / rows as f64)
    } else {
        notes.push("emulation not timed".into());
        None
    };

    Ok(KernelBench {
        variant: v.name().to_string(),
        shape: [shape.m, shape.k, shape.n],
        threads,
        isa: kernel_isa(kernel).name().to_string(),
        base: kernel.base().name().to_string(),
        pack_s,
        median_s,
        times_s,
        gops,
        weight_bytes,
        weight_gbps,
        ceiling_kind: ceiling.kind,
        ceiling_what: ceiling.what,
        ceiling_gbps: ceiling.gbps,
        ceiling_gops,
        ceiling_fraction,
        emulation_s,
        speedup_vs_emulation: emulation_s.map(|e| e / median_s),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse_shape("1x14336x4096"),
            Ok(Shape {
                m: 1,
                k: 14336,
                n: 4096
            })
        );
        assert_eq!(parse_shape("2X3x4"), Ok(Shape { m: 2, k: 3, n: 4 }));
        for bad in ["", "1x2", "1x2x3x4", "0x2x3", "ax2x3", "-1x2x3", "1x2x"] {
            assert!(parse_shape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}

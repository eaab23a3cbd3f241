//! One attention variant on one Q/K/V against `attention/f64`: the metrics
//! the suite's attention cells write and the attention study reports (one
//! function for both), and the timing of its emulation and native kernel.
//!
//! - **Accuracy**: relative Frobenius error, SQNR, cosine, max and mean
//!   absolute error of the output ([`crate::metrics::accuracy`]).
//! - **Probabilities**: per query row, KL(reference ‖ variant) and total
//!   variation of the softmax of the scores each forms
//!   ([`crate::metrics::probs::prob_error`]); mean and worst row.
//! - **Storage**: bits per cached K and V element, scales included.
//! - **Energy and I/O**: the variant's counts × the energy table; its
//!   slow-memory bytes from the I/O closed form of its schedule.
//! - **Time**: emulation MAC/s (MACs of QKᵀ and PV from the cost); native
//!   G op/s (4·d per visible pair, as `kernels bench`) after checking its
//!   output equal to the emulation's bit for bit, and its fraction of a
//!   same-run ceiling: the base instruction's peak (prefill) or a read loop
//!   over the KV bytes (decode, one query).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::attention_bench::{flops, kv_bytes};
use super::kernel_bench::peak_op;
use crate::attention::{AttentionVariant, NativeAttention, Qkv};
use crate::hw::cost::Cost;
use crate::hw::energy::EnergyBreakdown;
use crate::hw::roofline::calibrate::{fill, read_rate};
use crate::hw::roofline::peaks::peak_gops;
use crate::metrics::probs::{prob_error, ProbError};
use crate::metrics::{accuracy, Accuracy};

/// The variant every attention variant is compared with.
pub const ATTENTION_REFERENCE: &str = "attention/f64";

/// The reference's output and scores on `x`.
pub struct Reference {
    /// Output, `heads × nq × d`.
    pub output: Vec<f64>,
    /// Scaled scores, `heads × nq × nk`.
    pub scores: Vec<f64>,
}

impl Reference {
    /// Runs `reference` (normally [`ATTENTION_REFERENCE`]) on `x`.
    pub fn of(reference: &dyn AttentionVariant, x: &Qkv) -> Self {
        Reference {
            output: reference.emulate(x),
            scores: reference.scores(x),
        }
    }
}

/// What one variant did on one Q/K/V.
pub struct AttnMeasured {
    /// The emulation's output (for checking a native kernel against).
    pub output: Vec<f64>,
    /// Output accuracy against the reference.
    pub accuracy: Accuracy,
    /// KL and TV of the probabilities, per row and summarised.
    pub probs: ProbError,
    /// Bits per cached K and V element, scales included.
    pub kv_bits: f64,
    /// Operation and byte counts (`dram_bytes`: the I/O closed form).
    pub cost: Cost,
    /// The counts priced by the energy table.
    pub energy: EnergyBreakdown,
    /// Wall time of the emulation, seconds (one run; noisy).
    pub emulate_s: f64,
}

/// Measures `v` on `x` against `reference`, energy priced by `energy`.
/// Errors name the variant (wrong output or score lengths).
pub fn measure(
    v: &dyn AttentionVariant,
    x: &Qkv,
    reference: &Reference,
    energy: &dyn Fn(&Cost) -> EnergyBreakdown,
) -> Result<AttnMeasured, String> {
    let t0 = Instant::now();
    let output = v.emulate(x);
    let emulate_s = t0.elapsed().as_secs_f64();
    if output.len() != reference.output.len() {
        return Err(format!(
            "{}: returned {} values on {}, expected {}",
            v.name(),
            output.len(),
            x.shape,
            reference.output.len()
        ));
    }
    let scores = v.scores(x);
    if scores.len() != reference.scores.len() {
        return Err(format!(
            "{}: returned {} scores on {}, expected {}",
            v.name(),
            scores.len(),
            x.shape,
            reference.scores.len()
        ));
    }
    // Counted on the data: a sparse method's cost follows what it kept.
    let cost = v.cost_on(x);
    Ok(AttnMeasured {
        accuracy: accuracy(&reference.output, &output),
        probs: prob_error(&reference.scores, &scores, x.shape.nk),
        kv_bits: v.info().kv_bits(x.shape.nk, x.shape.d),
        energy: energy(&cost),
        cost,
        output,
        emulate_s,
    })
}

/// Where a native output first differs in bits from the emulation's.
pub fn first_difference(native: &[f64], emulated: &[f64]) -> Option<String> {
    if native.len() != emulated.len() {
        return Some(format!(
            "{} values, the emulation's {}",
            native.len(),
            emulated.len()
        ));
    }
    native
        .iter()
        .zip(emulated)
        .position(|(a, b)| a.to_bits() != b.to_bits())
        .map(|i| {
            format!(
                "output {i} is {:e}, the emulation's {:e}",
                native[i], emulated[i]
            )
        })
}

/// Runs `v`'s native kernel once on `x` and checks it against `emulated`:
/// `None` without a kernel, else its wall time in seconds.
pub fn native_checked(
    v: &dyn AttentionVariant,
    x: &Qkv,
    emulated: &[f64],
) -> Result<Option<f64>, String> {
    let Some(k) = v.native() else {
        return Ok(None);
    };
    let t0 = Instant::now();
    let got = k.run(x);
    let s = t0.elapsed().as_secs_f64();
    match first_difference(&got, emulated) {
        Some(bad) => Err(format!(
            "{}: native kernel differs from the emulation on {}: {bad}",
            v.name(),
            x.shape
        )),
        None => Ok(Some(s)),
    }
}

/// Emulation times of `v` on `x`, seconds, one per repetition.
pub fn time_emulation(v: &dyn AttentionVariant, x: &Qkv, reps: u32) -> Vec<f64> {
    (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(v.emulate(std::hint::black_box(x)));
            t.elapsed().as_secs_f64()
        })
        .collect()
}

/// Native times of `kernel` on `x` after one warm-up, seconds, one per repetition.
pub fn time_native(kernel: &dyn NativeAttention, x: &Qkv, reps: u32) -> Vec<f64> {
    std::hint::black_box(kernel.run(x));
    (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(kernel.run(std::hint::black_box(x)));
            t.elapsed().as_secs_f64()
        })
        .collect()
}

/// Same-run ceilings of native attention kernels, each measured once: the
/// peak of a base instruction (prefill, G op/s) or a read loop over a KV
/// size (decode, GB/s).
pub struct AttnCeilings {
    budget: Duration,
    threads: usize,
    known: HashMap<(bool, String, usize), f64>,
}

impl AttnCeilings {
    /// Ceilings on `threads` threads, each measured for about `budget`.
    pub fn new(budget: Duration, threads: usize) -> Self {
        AttnCeilings {
            budget,
            threads: threads.max(1),
            known: HashMap::new(),
        }
    }

    /// The fraction of its ceiling that one native call of `secs` on
    /// `x.shape` reaches (see the module docs).
    pub fn fraction(
        &mut self,
        v: &dyn AttentionVariant,
        kernel: &dyn NativeAttention,
        x: &Qkv,
        secs: f64,
    ) -> f64 {
        let secs = secs.max(1e-12);
        let (threads, budget) = (self.threads, self.budget);
        if x.shape.nq == 1 {
            let kv = kv_bytes(v, x.shape);
            let gbps = *self
                .known
                .entry((true, String::new(), kv))
                .or_insert_with(|| read_rate(&fill(kv.div_ceil(8).max(1)), threads, budget));
            kv as f64 / secs / 1e9 / gbps
        } else {
            let base = kernel.base();
            let peak = *self
                .known
                .entry((false, base.name().to_string(), 0))
                .or_insert_with(|| peak_gops(peak_op(base), threads, budget).0);
            flops(x.shape) / secs / 1e9 / peak
        }
    }
}

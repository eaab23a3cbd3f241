//! Attention variants: each is one way a piece of hardware or a library
//! computes `softmax(Q·Kᵀ/√d)·V` per head, with a bit-exact emulation that
//! follows the official code (SPEC §6), the scores it forms (for the
//! probability metrics), a cost in counts and optionally a native kernel.
//!
//! Files: [`exact`] (f64 reference, naive f32, FlashAttention-tiled f32 and
//! bf16, ggml's FP16 V accumulator, split-KV decode), [`flash_dpbf16`]
//! (the tiled bf16 flash on AVX-512 BF16's `vdpbf16ps`), [`sage`]
//! (SageAttention v1 INT8, v2 FP8 PV, v2++ FP16 PV, INT4 Q/K),
//! [`quant`] (FP8/MX/NVFP4 and L-Mul attention through the matmul
//! variants' quantizers and kernels), [`cost`] (counts and bytes from the
//! I/O closed forms), [`info`] (what a variant is, as data).
//! Approximate, sparse and compressed-cache attention: [`qjl`] (1-bit
//! key sketch, 2-bit values), [`hyper`] (HyperAttention, both official
//! versions), [`kdeformer`] (as coded and with max subtraction),
//! [`subgen`] (decode-time clustered state), [`sale`] (INT4-estimated
//! block-sparse SageAttention), [`ecoformer`] (±1 kernel hashes and
//! linear attention).
//!
//! Every variant's softmax exponential is [`crate::arith::exp::exp_f32`]
//! (the f64 reference's is `f64::exp`).
//!
//! Tensors: [`Qkv`] holds Q (`heads × nq × d`), K and V (`heads × nk × d`)
//! and the shape with its mask; outputs are `heads × nq × d`, scores
//! `heads × nq × nk` (natural-log units, masked pairs −∞). Every output row
//! is computed by one task in a fixed order, so thread count never changes
//! a bit.

pub mod cost;
pub mod ecoformer;
pub mod exact;
pub mod flash_dpbf16;
pub mod hyper;
pub mod info;
pub mod kdeformer;
pub mod lsh;
pub mod qjl;
pub mod quant;
pub mod sage;
pub mod sale;
pub mod subgen;

pub use crate::workload::attention::{AttnShape, Phase, Qkv};
pub use info::{AttentionInfo, Schedule};

use crate::hw::cost::Cost;
use rayon::prelude::*;

/// One way to compute attention: what it is, its bit-exact emulation, the
/// scores it forms, its cost, and optionally a native kernel.
pub trait AttentionVariant: Send + Sync {
    /// What the variant is: name, formats, accumulators, schedule.
    fn info(&self) -> AttentionInfo;
    /// The output as the modelled code computes it, bit-exactly
    /// (`heads × nq × d`, each value an f32 or narrower widened to f64).
    fn emulate(&self, x: &Qkv) -> Vec<f64>;
    /// The scaled scores `q·k/√d` as the variant forms them before its
    /// softmax, in natural-log units (`heads × nq × nk`; masked pairs −∞).
    /// Their f64 softmax gives the probability metrics (KL, TV).
    fn scores(&self, x: &Qkv) -> Vec<f64>;
    /// Operation and byte counts for a shape.
    fn cost(&self, shape: AttnShape) -> Cost {
        cost::cost(&self.info(), shape)
    }
    /// A native kernel computing exactly the bits of [`Self::emulate`];
    /// `None` where the variant has none.
    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        None
    }
    /// The operation and byte counts on input `x` (for variants whose work
    /// depends on the data, e.g. the blocks a sparse method keeps);
    /// [`Self::cost`] of its shape by default.
    fn cost_on(&self, x: &Qkv) -> Cost {
        self.cost(x.shape)
    }
    /// For sparse methods, which query–key pairs the output covers
    /// (`heads × nq × nk`, row-major; a pair left out contributes nothing);
    /// `None` for methods that see every visible key.
    fn coverage(&self, x: &Qkv) -> Option<Vec<bool>> {
        let _ = x;
        None
    }
    /// Whether the emulation's time on a head's last query rows, scaled by
    /// the ratio of visible pairs, estimates its time on the whole shape
    /// (`kernels bench` times large shapes that way). True for methods that
    /// do the same work per visible pair; the approximate and sparse ones,
    /// whose work and paths change with N (sorting, sampling, exact regions
    /// below a length, per-head sketches), say false and are timed whole.
    fn emulation_scales_by_rows(&self) -> bool {
        true
    }
    /// Registry name (shorthand for `info().name`).
    fn name(&self) -> &'static str {
        self.info().name
    }
}

/// A native attention kernel: the same bits as its variant's emulation.
pub trait NativeAttention: Send + Sync {
    /// The output, `heads × nq × d`, at the ISA level the cap allows.
    fn run(&self, x: &Qkv) -> Vec<f64> {
        self.run_at(x, crate::isa::effective())
    }
    /// The output at ISA `level` (tests compare every level; same bits).
    fn run_at(&self, x: &Qkv, level: crate::isa::IsaLevel) -> Vec<f64>;
    /// The instruction the kernel's inner loops are built on (its
    /// throughput ceiling in `kernels bench`).
    fn base(&self) -> crate::kernels::Base {
        crate::kernels::Base::F32Fma
    }
    /// The highest ISA level with its own code path.
    fn top_isa(&self) -> crate::isa::IsaLevel {
        crate::isa::IsaLevel::Avx2
    }
    /// The kernel's Q·Kᵀ phase alone on `x`, inputs prepared once, for
    /// timing it apart from the rest (`kernels bench` reports it against
    /// the base's peak at `2·d` flops per visible pair): a closure running
    /// the phase at the cap's level and returning a checksum, or `None`
    /// when the kernel has no separately runnable phase there.
    fn qk_phase<'a>(&'a self, _x: &'a Qkv) -> Option<Box<dyn Fn() -> f32 + Send + Sync + 'a>> {
        None
    }
}

/// Every registered attention variant, in display order.
pub fn registry() -> Vec<Box<dyn AttentionVariant>> {
    let mut v = exact::all();
    v.extend(flash_dpbf16::all());
    v.extend(sage::all());
    v.extend(sale::all());
    v.extend(quant::all());
    v.extend(qjl::all());
    v.extend(hyper::all());
    v.extend(kdeformer::all());
    v.extend(subgen::all());
    v.extend(ecoformer::all());
    v
}

/// The registered attention variant called `name`.
pub fn find(name: &str) -> Option<Box<dyn AttentionVariant>> {
    registry().into_iter().find(|v| v.name() == name)
}

/// The softmax scale 1/√d in f32 (the f32 rounding of the f64 value).
pub fn sm_scale(d: usize) -> f32 {
    (1.0 / (d as f64).sqrt()) as f32
}

/// Runs `row(h, i, out)` for every output row (`out` is that row's `d`
/// values), rows in parallel; the row function fixes every rounding.
pub fn per_row(shape: AttnShape, row: impl Fn(usize, usize, &mut [f64]) + Sync) -> Vec<f64> {
    let d = shape.d;
    let mut out = vec![0.0; shape.heads * shape.nq * d];
    out.par_chunks_mut(d)
        .with_min_len(8)
        .enumerate()
        .for_each(|(r, o)| row(r / shape.nq, r % shape.nq, o));
    out
}

/// Runs `row(h, i, out)` for every score row (`out` has `nk` values).
pub fn per_score_row(shape: AttnShape, row: impl Fn(usize, usize, &mut [f64]) + Sync) -> Vec<f64> {
    let nk = shape.nk;
    let mut out = vec![f64::NEG_INFINITY; shape.heads * shape.nq * nk];
    out.par_chunks_mut(nk)
        .with_min_len(8)
        .enumerate()
        .for_each(|(r, o)| row(r / shape.nq, r % shape.nq, o));
    out
}

/// f32 dot product with one fused multiply-add per element, in index order
/// from +0: `s = fma(a[c], b[c], s)`. (Native kernels run it lane-wise.)
#[inline]
pub fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    let mut s = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        s = x.mul_add(*y, s);
    }
    s
}

//! The two emulation kernels every variant runs on, written so that the
//! order of every rounding operation is fixed and documented:
//!
//! For output `(i, j)` with K split into groups of `G` elements (`G = K` when
//! neither operand has inner scales):
//!
//! ```text
//! acc = +0                                   (f32)
//! for each group g, in order:
//!     p   = Σ_{k in g} a[i,k] · w[j,k]       (datapath: int32, or f32/f64 products
//!                                             added sequentially in k order from +0)
//!     v   = f32(p)                           (int32 → f32 rounds to nearest even)
//!     v   = v · sa[i,g]   if A has inner scales   (f32 multiply)
//!     v   = v · sw[j,g]   if W has inner scales   (f32 multiply)
//!     acc = acc + v                          (f32 add)
//! out = (acc · oa[i]) · ow[j]                (each only if that operand has an outer scale)
//! ```
//!
//! With a single group and no inner scales, `acc = +0 + p = p` exactly (a
//! sequential sum from +0 is never −0). The f64 reference runs the same loop
//! with f64 values and no scales, and returns `p` unrounded.
//!
//! Speed without changing any result:
//! - int32: the group dot product is associative (wrapping two's-complement
//!   adds, as an int32 accumulator behaves), so it is a plain `i8 × i8 → i32`
//!   loop that auto-vectorizes; an AVX2 copy is picked at run time.
//! - float: the K order of each output must stay sequential, so vectors run
//!   across 16 outputs instead ("lanes"): W is packed into panels of 16 rows
//!   stored K-major, and each lane is an independent sequential sum.
//! - rayon splits the output rows into tasks; each output is computed by one
//!   task in the fixed order above, so thread count never changes a bit.

use crate::isa::IsaLevel;
use crate::tensor::{QOperand, Values};
use rayon::prelude::*;

/// Output rows per rayon task (their A rows stay in cache while W streams).
const ROWS_PER_TASK: usize = 8;
/// Outputs per float panel (vector lanes across output channels).
const LANES: usize = 16;

/// Scale layout shared by both kernels.
struct Scales<'a> {
    k: usize,
    /// Group length (≥ 1).
    g: usize,
    groups: usize,
    a_inner: Option<&'a [f32]>,
    w_inner: Option<&'a [f32]>,
    a_outer: Option<&'a [f32]>,
    w_outer: Option<&'a [f32]>,
}

impl Scales<'_> {
    /// Folds group `g`'s partial sum into the accumulator.
    #[inline(always)]
    fn fold(&self, acc: f32, p: f32, i: usize, j: usize, g: usize) -> f32 {
        let mut v = p;
        if let Some(s) = self.a_inner {
            v *= s[i * self.groups + g];
        }
        if let Some(s) = self.w_inner {
            v *= s[j * self.groups + g];
        }
        acc + v
    }

    /// Applies the outer scales.
    #[inline(always)]
    fn finish(&self, acc: f32, i: usize, j: usize) -> f32 {
        let mut v = acc;
        if let Some(s) = self.a_outer {
            v *= s[i];
        }
        if let Some(s) = self.w_outer {
            v *= s[j];
        }
        v
    }

    /// Range of group `g` along K.
    fn range(&self, g: usize) -> std::ops::Range<usize> {
        g * self.g..((g + 1) * self.g).min(self.k)
    }
}

/// The kernel's group length: that of whichever operand has inner scales
/// (equal when both do), else K.
fn scales<'a>(a: &'a QOperand, w: &'a QOperand) -> Scales<'a> {
    let k = a.k;
    let g = match (a.inner.is_some(), w.inner.is_some()) {
        (true, true) => {
            assert_eq!(a.group, w.group, "both operands' inner groups must match");
            a.group
        }
        (true, false) => a.group,
        (false, true) => w.group,
        (false, false) => k,
    }
    .max(1);
    Scales {
        k,
        g,
        groups: k.div_ceil(g),
        a_inner: a.inner.as_deref(),
        w_inner: w.inner.as_deref(),
        a_outer: a.outer.as_deref(),
        w_outer: w.outer.as_deref(),
    }
}

/// Runs the matmul of two quantized operands (`a`: m × k, `w`: n × k).
///
/// # Panics
/// When K differs or the value kinds do not pair (a registry bug).
pub fn matmul(a: &QOperand, w: &QOperand) -> Vec<f64> {
    matmul_with(a, w, false)
}

/// [`matmul`] with the float step `dot = dot + a·w` fused into one rounding
/// (`fused`: `dot = fma(a, w, dot)`, what a CPU FMA GEMM computes) or not.
/// Integer datapaths ignore `fused`.
///
/// # Panics
/// When K differs or the value kinds do not pair (a registry bug).
pub fn matmul_with(a: &QOperand, w: &QOperand, fused: bool) -> Vec<f64> {
    assert_eq!(a.k, w.k, "A and W must share K");
    let sc = scales(a, w);
    match (&a.values, &w.values, fused) {
        (Values::Int(av), Values::Int(wv), _) => int_kernel(av, wv, a.rows, w.rows, &sc),
        (Values::F32(av), Values::F32(wv), false) => {
            lane_kernel::<f32, false>(av, wv, a.rows, w.rows, &sc)
        }
        (Values::F32(av), Values::F32(wv), true) => {
            lane_kernel::<f32, true>(av, wv, a.rows, w.rows, &sc)
        }
        (Values::F64(av), Values::F64(wv), false) => {
            lane_kernel::<f64, false>(av, wv, a.rows, w.rows, &sc)
        }
        _ => panic!("operand value kinds do not pair: a registry bug"),
    }
}

/// `Σ a[k] · b[k]` with int32 wrapping adds (the body both builds share).
#[inline(always)]
fn dot_i8_body(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .fold(0i32, |s, (&x, &y)| s.wrapping_add(x as i32 * y as i32))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    dot_i8_body(a, b)
}

/// int8 dot product with an int32 (wrapping) accumulator; AVX2 when the CPU has it.
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    crate::isa::dispatch!(crate::isa::effective(),
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { dot_i8_avx2(a, b) },
        scalar => dot_i8_body(a, b),
    )
}

fn int_kernel(a: &[i8], w: &[i8], m: usize, n: usize, sc: &Scales) -> Vec<f64> {
    let k = sc.k;
    let mut out = vec![0f64; m * n];
    if n == 0 {
        return out;
    }
    out.par_chunks_mut(ROWS_PER_TASK * n)
        .enumerate()
        .for_each(|(t, chunk)| {
            let i0 = t * ROWS_PER_TASK;
            let rows = chunk.len() / n;
            for j in 0..n {
                let wr = &w[j * k..(j + 1) * k];
                for r in 0..rows {
                    let i = i0 + r;
                    let ar = &a[i * k..(i + 1) * k];
                    let mut acc = 0f32;
                    for g in 0..sc.groups {
                        let rg = sc.range(g);
                        let p = dot_i8(&ar[rg.clone()], &wr[rg]);
                        acc = sc.fold(acc, p as f32, i, j, g);
                    }
                    chunk[r * n + j] = sc.finish(acc, i, j) as f64;
                }
            }
        });
    out
}

/// A float type a lane kernel can run on.
pub trait LaneFloat:
    Copy + Default + Send + Sync + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self>
{
    /// Whether scales and the f32 rounding of the accumulator apply (f32)
    /// or the exact reference is returned as is (f64).
    const SCALED: bool;
    /// To f64 exactly.
    fn to_f64(self) -> f64;
    /// To f32 (rounds for f64; identity for f32).
    fn to_f32(self) -> f32;
    /// `self · b + c` with one rounding.
    fn fused(self, b: Self, c: Self) -> Self;
}

impl LaneFloat for f32 {
    const SCALED: bool = true;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn to_f32(self) -> f32 {
        self
    }
    fn fused(self, b: f32, c: f32) -> f32 {
        self.mul_add(b, c)
    }
}

impl LaneFloat for f64 {
    const SCALED: bool = false;
    fn to_f64(self) -> f64 {
        self
    }
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn fused(self, b: f64, c: f64) -> f64 {
        self.mul_add(b, c)
    }
}

/// `dot[l] += a[k] · panel[k][l]` for k in `ks`, sequential in k per lane:
/// separate multiply and add (Rust never contracts them into an FMA), or
/// one fused step when `FUSED`.
#[inline(always)]
fn lane_group_body<T: LaneFloat, const FUSED: bool>(
    ar: &[T],
    panel: &[T],
    ks: std::ops::Range<usize>,
) -> [T; LANES] {
    let mut dot = [T::default(); LANES];
    for kk in ks {
        let av = ar[kk];
        let wl = &panel[kk * LANES..(kk + 1) * LANES];
        for l in 0..LANES {
            dot[l] = if FUSED {
                av.fused(wl[l], dot[l])
            } else {
                dot[l] + av * wl[l]
            };
        }
    }
    dot
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lane_group_avx2<T: LaneFloat, const FUSED: bool>(
    ar: &[T],
    panel: &[T],
    ks: std::ops::Range<usize>,
) -> [T; LANES] {
    lane_group_body::<T, FUSED>(ar, panel, ks)
}

fn lane_group<T: LaneFloat, const FUSED: bool>(
    level: IsaLevel,
    ar: &[T],
    panel: &[T],
    ks: std::ops::Range<usize>,
) -> [T; LANES] {
    crate::isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { lane_group_avx2::<T, FUSED>(ar, panel, ks) },
        scalar => lane_group_body::<T, FUSED>(ar, panel, ks),
    )
}

fn lane_kernel<T: LaneFloat, const FUSED: bool>(
    a: &[T],
    w: &[T],
    m: usize,
    n: usize,
    sc: &Scales,
) -> Vec<f64> {
    let k = sc.k;
    let mut out = vec![0f64; m * n];
    if n == 0 {
        return out;
    }
    // Panels of 16 W rows, K-major; missing rows are zero and their lanes dropped.
    let npanels = n.div_ceil(LANES);
    let mut panels = vec![T::default(); npanels * k * LANES];
    for (j, row) in w.chunks(k.max(1)).enumerate().take(n) {
        let (p, l) = (j / LANES, j % LANES);
        for (kk, v) in row.iter().enumerate() {
            panels[(p * k + kk) * LANES + l] = *v;
        }
    }
    let level = crate::isa::effective();
    out.par_chunks_mut(ROWS_PER_TASK * n)
        .enumerate()
        .for_each(|(t, chunk)| {
            let i0 = t * ROWS_PER_TASK;
            let rows = chunk.len() / n;
            for p in 0..npanels {
                let panel = &panels[p * k * LANES..(p + 1) * k * LANES];
                let lanes = LANES.min(n - p * LANES);
                for r in 0..rows {
                    let i = i0 + r;
                    let ar = &a[i * k..(i + 1) * k];
                    if !T::SCALED {
                        let dot = lane_group::<T, FUSED>(level, ar, panel, 0..k);
                        for l in 0..lanes {
                            chunk[r * n + p * LANES + l] = dot[l].to_f64();
                        }
                        continue;
                    }
                    let mut acc = [0f32; LANES];
                    for g in 0..sc.groups {
                        let dot = lane_group::<T, FUSED>(level, ar, panel, sc.range(g));
                        for l in 0..lanes {
                            acc[l] = sc.fold(acc[l], dot[l].to_f32(), i, p * LANES + l, g);
                        }
                    }
                    for (l, &acc) in acc.iter().enumerate().take(lanes) {
                        let j = p * LANES + l;
                        chunk[r * n + j] = sc.finish(acc, i, j) as f64;
                    }
                }
            }
        });
    out
}

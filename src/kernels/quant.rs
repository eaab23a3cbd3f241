//! Activation quantizers that run inside a kernel's timed product: fast twins
//! of the variants' quantizers, bit-identical to them (the kernel tests
//! compare each with the variant's `OperandSpec::quantize`, its reference).
//!
//! - [`int8_rows`]: symmetric int8 per row, absmax scale: `scale =
//!   RNE_f32(absmax / 127)` over the finite values, `code = clamp(RNE(x /
//!   scale), ±127)`; both quotients rounded once from the exact value (via
//!   [`div_round_odd`]), NaN → 0, ±inf → ±127, a zero scale codes every
//!   finite value as 0. [`int_rows`] is the same for any symmetric width of
//!   2 to 8 bits (`max = 2^(bits−1) − 1` in place of 127: int4 → ±7).
//!   [`int_rows_offset`]: the same codes as unsigned
//!   `code + 128`.
//! - [`topk_rows`]: each row's `n` entries of largest magnitude kept, the
//!   rest +0 (BitNet a4.8's sparsified intermediate states), ties to the
//!   lower index.
//! - [`sign_rows`]: binary per row, absmean scale: `scale = f32(mean|x|)`
//!   (compensated f64 sum), `bit = x / scale < 0` (0 and NaN → +1).
//! - [`cast_rows`]: every element rounded RNE to a minifloat (bf16, fp16),
//!   returned as its exact f32 value, through the vectorised converter.
//!
//! Rows are independent, so they run in parallel with the same result.

use crate::formats::{self, mx::div_round_odd, ConvertOptions, MiniFloat, Rounding};
use crate::isa;
use rayon::prelude::*;

/// Rows per parallel task (below this many elements, one task).
const PAR_MIN_ELEMS: usize = 1 << 15;

/// Symmetric int8 codes of a `m × k` row-major matrix, one absmax scale per row.
/// Returns `(codes, scales)`.
pub fn int8_rows(a: &[f32], m: usize, k: usize) -> (Vec<i8>, Vec<f32>) {
    int_rows_with(a, m, k, 127, false)
}

/// Symmetric integer codes in `[−max, max]` of a `m × k` row-major matrix,
/// one absmax scale per row (`scale = RNE_f32(absmax / max)`): the absmax
/// quantizer of a `bits`-bit symmetric integer for `max = 2^(bits−1) − 1`
/// (127, 63, 31, 15, 7, 3 or 1). Returns `(codes, scales)`.
///
/// # Panics
/// When `max` is not one of those, or `a` does not hold `m × k` values.
pub fn int_rows(a: &[f32], m: usize, k: usize, max: i8) -> (Vec<i8>, Vec<f32>) {
    int_rows_with(a, m, k, max, false)
}

/// [`int_rows`] with every code offset to unsigned `code + 128` (the byte
/// XOR 0x80; what `vpdpbusd` takes as its unsigned operand), in the same pass.
///
/// # Panics
/// As [`int_rows`].
pub fn int_rows_offset(a: &[f32], m: usize, k: usize, max: i8) -> (Vec<i8>, Vec<f32>) {
    int_rows_with(a, m, k, max, true)
}

fn int_rows_with(a: &[f32], m: usize, k: usize, max: i8, offset: bool) -> (Vec<i8>, Vec<f32>) {
    assert_eq!(a.len(), m * k, "int_rows: {m}×{k} needs {} values", m * k);
    assert!(
        max > 0 && (max as u8 + 1).is_power_of_two(),
        "int_rows: max {max} is not 2^(bits−1) − 1"
    );
    let mut codes = vec![0i8; m * k];
    let mut scales = vec![0f32; m];
    if k == 0 {
        return (codes, scales);
    }
    let work = |(row, (out, s)): (&[f32], (&mut [i8], &mut f32))| {
        *s = int_row(row, out, max);
        if offset {
            out.iter_mut().for_each(|c| *c ^= i8::MIN);
        }
    };
    if m * k >= PAR_MIN_ELEMS {
        a.par_chunks(k)
            .zip(codes.par_chunks_mut(k).zip(scales.par_iter_mut()))
            .for_each(work);
    } else {
        a.chunks(k)
            .zip(codes.chunks_mut(k).zip(scales.iter_mut()))
            .for_each(work);
    }
    (codes, scales)
}

/// One row of [`int_rows`]; returns the scale.
fn int_row(row: &[f32], out: &mut [i8], max: i8) -> f32 {
    let level = isa::effective();
    let absmax = isa::dispatch!(level,
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { avx2::absmax(row) },
        scalar => absmax(row),
    );
    let scale = if absmax == 0.0 {
        0.0
    } else {
        div_round_odd(absmax as f64, max as f64) as f32
    };
    let s = scale as f64;
    if s == 0.0 {
        // Rare (an all-zero, all-subnormal-tiny or all-non-finite row): the
        // plain loop, which also codes ±inf as ±127 without a scale.
        out.iter_mut()
            .zip(row)
            .for_each(|(o, &x)| *o = code(x, s, max));
        return scale;
    }
    isa::dispatch!(level,
        // SAFETY: as above (AVX-512 F/BW/VL for the first arm); the f32
        // path needs a scale of at least 2^−125, see `avx512::codes`.
        avx512 => unsafe {
            if scale >= avx512::MIN_SCALE {
                avx512::codes(row, scale, max, out)
            } else {
                avx2::codes(row, s, max, out)
            }
        },
        avx2 => unsafe { avx2::codes(row, s, max, out) },
        scalar => out.iter_mut().zip(row).for_each(|(o, &x)| *o = code(x, s, max)),
    );
    scale
}

/// Largest finite |x| of `row` (0 when none).
fn absmax(row: &[f32]) -> f32 {
    row.iter()
        .filter(|x| x.is_finite())
        .fold(0f32, |m, x| m.max(x.abs()))
}

/// The code in `[−max, max]` of `x` under scale `s` (the reference of every
/// SIMD path).
#[inline(always)]
fn code(x: f32, s: f64, max: i8) -> i8 {
    if x.is_nan() {
        0
    } else if x.is_infinite() {
        if x > 0.0 {
            max
        } else {
            -max
        }
    } else if x == 0.0 || s == 0.0 {
        0
    } else {
        let m = max as f64;
        round_quotient(x as f64, s).clamp(-m, m) as i8
    }
}

/// AVX2 twins of [`absmax`] and the [`code`] loop, equal bit for bit: the
/// maximum of magnitudes is exact in any order, and the code is the same
/// f64 quotient rounded to nearest even (`vroundpd`) and clamped, with NaN
/// zeroed first and ±inf clamped to ±max.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::code;
    use std::arch::x86_64::*;

    /// [`super::absmax`] on AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn absmax(row: &[f32]) -> f32 {
        let abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
        let inf = _mm256_set1_ps(f32::INFINITY);
        let mut m = _mm256_setzero_ps();
        let chunks = row.chunks_exact(8);
        let tail = chunks.remainder();
        for c in chunks {
            let a = _mm256_and_ps(_mm256_loadu_ps(c.as_ptr()), abs);
            // Below inf: finite (NaN compares false); the rest count as 0.
            let finite = _mm256_cmp_ps::<_CMP_LT_OQ>(a, inf);
            m = _mm256_max_ps(m, _mm256_and_ps(a, finite));
        }
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), m);
        let wide = lanes.iter().fold(0f32, |r, &x| r.max(x));
        wide.max(super::absmax(tail))
    }

    /// The codes in `[−max, max]` of `row` under scale `s > 0` into `out`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn codes(row: &[f32], s: f64, max: i8, out: &mut [i8]) {
        const RNE: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
        let sv = _mm256_set1_pd(s);
        let (lo, hi) = (_mm256_set1_pd(-(max as f64)), _mm256_set1_pd(max as f64));
        let quad = |h: __m128| {
            let q = _mm256_round_pd::<RNE>(_mm256_div_pd(_mm256_cvtps_pd(h), sv));
            _mm256_cvtpd_epi32(_mm256_min_pd(_mm256_max_pd(q, lo), hi))
        };
        let chunks = row.chunks_exact(8);
        let tail = chunks.remainder();
        let n8 = row.len() - tail.len();
        for (c, o) in chunks.zip(out.chunks_exact_mut(8)) {
            let x = _mm256_loadu_ps(c.as_ptr());
            // NaN → +0 (codes 0); ±inf divides to ±inf and clamps to ±max.
            let x = _mm256_and_ps(x, _mm256_cmp_ps::<_CMP_ORD_Q>(x, x));
            let a = quad(_mm256_castps256_ps128(x));
            let b = quad(_mm256_extractf128_ps::<1>(x));
            let w = _mm_packs_epi32(a, b);
            _mm_storel_epi64(o.as_mut_ptr() as *mut __m128i, _mm_packs_epi16(w, w));
        }
        for (o, &x) in out[n8..].iter_mut().zip(tail) {
            *o = code(x, s, max);
        }
    }
}

/// AVX-512 twin of the [`code`] loop in f32, sixteen lanes per step and no
/// division, equal bit for bit. Why it is exact: `q = x · f32(1/s)` is
/// within 2^−15 of the exact quotient `x/s` while that is below 2^8 in
/// magnitude, so the exact quotient lies between `f − ½` and `f + 1½` for
/// `f = ⌊q⌋`; which side of the tie `f + ½` it falls on is the sign of
/// `x − (f + ½)·s`, and one fused multiply-add gives that difference
/// rounded once, so with its exact sign and exactly zero only on a tie
/// (the exact difference is a multiple of 2^(e_s − 24), at least 2^−149
/// when `s ≥ 2^−125`, so it cannot round to zero). A tie goes to the even
/// of `f` and `f + 1`. `f` is clamped to [−128, 127] first (larger
/// quotients, ±inf included, still land on the right side of the clamp),
/// the code to `[−max, max]` last.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// The smallest scale the f32 path takes (2^−125, see the module);
    /// smaller scales go through the f64 path.
    pub const MIN_SCALE: f32 = 2.0 * f32::MIN_POSITIVE;

    /// The codes in `[−max, max]` of `row` under scale `s ≥` [`MIN_SCALE`]
    /// (finite) into `out`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub unsafe fn codes(row: &[f32], s: f32, max: i8, out: &mut [i8]) {
        debug_assert!((MIN_SCALE..=f32::MAX).contains(&s));
        let (r, sv) = (_mm512_set1_ps(1.0 / s), _mm512_set1_ps(s));
        let (half, one) = (_mm512_set1_ps(0.5), _mm512_set1_epi32(1));
        let (lo, hi) = (_mm512_set1_ps(-128.0), _mm512_set1_ps(127.0));
        let (clo, chi) = (
            _mm512_set1_epi32(-(max as i32)),
            _mm512_set1_epi32(max as i32),
        );
        // A macro, not a closure: closures do not inherit the target features.
        macro_rules! step {
            ($x:expr) => {{
                const FLOOR: i32 = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;
                let x = $x;
                let ordered = _mm512_cmp_ps_mask::<_CMP_ORD_Q>(x, x);
                let f = _mm512_roundscale_ps::<FLOOR>(_mm512_mul_ps(x, r));
                let f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
                let d = _mm512_fnmadd_ps(_mm512_add_ps(f, half), sv, x);
                let fi = _mm512_cvttps_epi32(f);
                let zero = _mm512_setzero_ps();
                let above = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(d, zero);
                let tie =
                    _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(d, zero) & _mm512_test_epi32_mask(fi, one);
                let c = _mm512_mask_add_epi32(fi, above | tie, fi, one);
                // NaN codes 0.
                _mm512_maskz_mov_epi32(ordered, _mm512_max_epi32(_mm512_min_epi32(c, chi), clo))
            }};
        }
        let n16 = row.len() / 16 * 16;
        for (c, o) in row[..n16].chunks_exact(16).zip(out.chunks_exact_mut(16)) {
            let x = _mm512_loadu_ps(c.as_ptr());
            _mm_storeu_si128(
                o.as_mut_ptr() as *mut __m128i,
                _mm512_cvtepi32_epi8(step!(x)),
            );
        }
        let rest = row.len() - n16;
        if rest > 0 {
            let k: __mmask16 = (1u32 << rest).wrapping_sub(1) as __mmask16;
            let x = _mm512_maskz_loadu_ps(k, row[n16..].as_ptr());
            _mm512_mask_cvtepi32_storeu_epi8(out[n16..].as_mut_ptr(), k, step!(x));
        }
    }
}

/// `RNE(x / s)` of the exact quotient, for f32 values `x` and `s > 0`
/// (widened to f64), with one f64 division and no fused multiply-add (a slow
/// library call on CPUs the build does not assume). Why one rounding is
/// enough: ties `n + ½` are representable and rounding is monotonic, so the
/// f64 quotient can only go wrong by landing exactly on a tie the exact
/// quotient is not. It cannot: `x` and `(n + ½)·s` are both multiples of
/// `2^(e_s − 24)` (or of 2^−150 for subnormal scales), so a nonzero
/// `x − (n + ½)·s` puts the exact quotient at least 2^−25 from the tie,
/// while the f64 rounding error below 256 is at most 2^−46.
#[inline(always)]
fn round_quotient(x: f64, s: f64) -> f64 {
    (x / s).round_ties_even()
}

/// Binary (sign) codes of a `m × k` matrix with one absmean scale per row:
/// `true` where the element codes −1. Returns `(negative, scales)`.
pub fn sign_rows(a: &[f32], m: usize, k: usize) -> (Vec<bool>, Vec<f32>) {
    assert_eq!(a.len(), m * k, "sign_rows: {m}×{k} needs {} values", m * k);
    let mut neg = vec![false; m * k];
    let mut scales = vec![0f32; m];
    if k == 0 {
        return (neg, scales);
    }
    for ((row, out), s) in a.chunks(k).zip(neg.chunks_mut(k)).zip(scales.iter_mut()) {
        let mean = (crate::tensor::sum(row.iter().map(|x| x.abs() as f64)) / k as f64) as f32;
        *s = mean;
        for (o, &x) in out.iter_mut().zip(row) {
            // The sign of x / scale is x's sign when the scale is positive and
            // finite; the reference divides only then, and codes 0 as +1.
            let q = if x == 0.0 || mean == 0.0 || !mean.is_finite() || !x.is_finite() {
                x as f64
            } else {
                div_round_odd(x as f64, mean as f64)
            };
            *o = q < 0.0;
        }
    }
    (neg, scales)
}

/// The codes of every element rounded RNE to `fmt` (the vectorised encoder).
pub fn rne_codes<C: formats::fast::Code>(fmt: &MiniFloat, a: &[f32]) -> Vec<C> {
    let opts = ConvertOptions::with_rounding(Rounding::Rne);
    let mut codes = vec![C::default(); a.len()];
    formats::fast::encode_f32(fmt, &opts, a, 0, 0, &mut codes)
        .expect("RNE cast with default options cannot fail");
    codes
}

/// Every element rounded RNE to `fmt`, as exact f32 values.
pub fn cast_rows(fmt: &MiniFloat, a: &[f32]) -> Vec<f32> {
    let codes: Vec<u16> = rne_codes(fmt, a);
    let mut out = vec![0f32; a.len()];
    formats::fast::decode_f32(fmt, &codes, &mut out);
    out
}

/// Top-K sparsification of a `m × k` row-major matrix: each row keeps its
/// `n` entries of largest magnitude (as they are, sign and NaN payload
/// included) and every other entry becomes +0. The order is `|x|` by
/// `f32::total_cmp` (NaN above inf), ties to the lower index: the
/// variants' top-K selection, which sorts by that order (its reference).
///
/// Why it is the same selection: `|x|` has a clear sign bit, and on such
/// values `total_cmp` is the order of the bit patterns as integers. So the
/// kept set is every entry whose key (`bits & 0x7fff_ffff`) is above the
/// `n`-th largest key `t`, plus the first entries (in index order) whose key
/// equals `t`, as many as are left: one selection on the keys, one pass.
///
/// # Panics
/// When `a` does not hold `m × k` values or `n > k`.
pub fn topk_rows(a: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    assert_eq!(a.len(), m * k, "topk_rows: {m}×{k} needs {} values", m * k);
    assert!(n <= k, "topk_rows: keeps {n} of {k}");
    let mut out = vec![0f32; m * k];
    if k == 0 {
        return out;
    }
    let work = |(row, dst): (&[f32], &mut [f32])| {
        let mut keys = Vec::new();
        topk_row(row, n, &mut keys, dst)
    };
    if m * k >= PAR_MIN_ELEMS {
        a.par_chunks(k).zip(out.par_chunks_mut(k)).for_each(work);
    } else {
        a.chunks(k).zip(out.chunks_mut(k)).for_each(work);
    }
    out
}

/// One row of [`topk_rows`] into `dst` (zeroed); `keys` is scratch.
fn topk_row(row: &[f32], n: usize, keys: &mut Vec<u32>, dst: &mut [f32]) {
    const ABS: u32 = 0x7fff_ffff;
    if n == row.len() {
        dst.copy_from_slice(row);
        return;
    }
    if n == 0 {
        return;
    }
    keys.clear();
    keys.extend(row.iter().map(|x| x.to_bits() & ABS));
    // The n-th largest key (index n − 1 in descending order).
    let (_, &mut t, _) = keys.select_nth_unstable_by(n - 1, |x, y| y.cmp(x));
    let above = row.iter().filter(|x| x.to_bits() & ABS > t).count();
    let mut ties = n - above;
    for (d, &x) in dst.iter_mut().zip(row) {
        let key = x.to_bits() & ABS;
        if key > t || (key == t && ties > 0) {
            if key == t {
                ties -= 1;
            }
            *d = x;
        }
    }
}

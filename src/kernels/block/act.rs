//! The activation block formats the block kernels quantize to inside the
//! product: ggml's Q8_0 (32-blocks, fp16 scale) and Q8_K (256-blocks, f32
//! scale), both int8 codes, each with its per-block code sums (the offset
//! corrections of Q4_0 and the ternary formats need them).

use crate::formats::ggml::{self, GgmlBlock};
use crate::formats::ternary::{self, quantize_q8_k};
use crate::isa;
use rayon::prelude::*;

/// Activations of `m` rows quantized to int8 blocks: codes (`m × nb × QK`),
/// f32 scales and per-block code sums (`m × nb`).
#[derive(Debug, Clone)]
pub struct QuantRows {
    /// Blocks per row.
    pub nb: usize,
    /// Codes, padded to whole blocks with 0.
    pub codes: Vec<i8>,
    /// Block scales as f32.
    pub d: Vec<f32>,
    /// Σ codes per block.
    pub sums: Vec<i32>,
}

/// An activation block format: its block length, description and quantizer.
pub trait ActFormat {
    /// Values per block (the weights' block length too).
    const QK: usize;
    /// What the format is, for variant listings.
    const DESC: &'static str;
    /// Storage bits per activation (codes, scale and any sums).
    fn bits() -> f64;
    /// Quantizes activations (`m × k`) per row, as the emulation does.
    fn quantize(a: &[f32], m: usize, k: usize) -> QuantRows;

    /// [`Self::quantize`] of `m` rows into slices of a larger
    /// [`QuantRows`]: `codes` (`m × nb × QK`), `d` and `sums` (`m × nb`).
    /// The default quantizes and copies; a format may write in place.
    fn quantize_into(
        a: &[f32],
        m: usize,
        k: usize,
        codes: &mut [i8],
        d: &mut [f32],
        sums: &mut [i32],
    ) {
        let q = Self::quantize(a, m, k);
        codes.copy_from_slice(&q.codes);
        d.copy_from_slice(&q.d);
        sums.copy_from_slice(&q.sums);
    }
}

/// ggml Q8_0 activations: 32-blocks, fp16 absmax/127 scale, `roundf`.
///
/// [`ActFormat::quantize`] is the reference (ggml's scalar quantizer, one
/// `roundf` call per value); [`ActFormat::quantize_into`], which the
/// product calls, quantizes whole blocks on AVX-512 (see
/// [`q8_0_block_avx512`]) and the rest as the reference does.
#[derive(Debug, Clone, Copy)]
pub struct Q8_0Act;

impl ActFormat for Q8_0Act {
    const QK: usize = ggml::QK;
    const DESC: &'static str = "Q8_0: int8 g32, fp16 absmax/127 scale";

    fn bits() -> f64 {
        GgmlBlock::Q8_0.bits_per_weight()
    }

    fn quantize(a: &[f32], m: usize, k: usize) -> QuantRows {
        let b = ggml::quantize(GgmlBlock::Q8_0, a, m, k);
        let d = (0..b.d.len()).map(|i| b.scale(i)).collect();
        let sums = b
            .codes
            .chunks(Self::QK)
            .map(|c| c.iter().map(|&x| x as i32).sum())
            .collect();
        QuantRows {
            nb: b.nb,
            codes: b.codes,
            d,
            sums,
        }
    }

    fn quantize_into(
        a: &[f32],
        m: usize,
        k: usize,
        codes: &mut [i8],
        d: &mut [f32],
        sums: &mut [i32],
    ) {
        let (qk, nb) = (Self::QK, k.div_ceil(Self::QK));
        assert!(a.len() == m * k && codes.len() == m * nb * qk && d.len() == m * nb);
        assert_eq!(sums.len(), m * nb, "sums are m × nb");
        #[cfg(target_arch = "x86_64")]
        let fast =
            isa::supported(isa::effective()) == isa::IsaLevel::Avx512 && isa::active().avx512f;
        for r in 0..m {
            for b in 0..nb {
                let i = r * nb + b;
                let src = &a[r * k + b * qk..r * k + ((b + 1) * qk).min(k)];
                let dst = &mut codes[i * qk..(i + 1) * qk];
                #[cfg(target_arch = "x86_64")]
                if fast && src.len() == qk {
                    // SAFETY: AVX-512 F was just checked; both blocks hold 32.
                    if let Some((h, sum)) = unsafe { q8_0_block_avx512(src, dst) } {
                        (d[i], sums[i]) = (ggml::f16_to_f32(h), sum);
                        continue;
                    }
                }
                let h = ggml::q8_0_block(src, &mut dst[..src.len()]);
                dst[src.len()..].fill(0);
                d[i] = ggml::f16_to_f32(h);
                sums[i] = dst.iter().map(|&x| x as i32).sum();
            }
        }
    }
}

/// One whole Q8_0 block (32 values) as [`ggml::q8_0_block`] quantizes it,
/// on two zmm: the fp16 scale bits and Σ codes, or `None` (nothing
/// written) when a value is NaN, where C's running `MAX` depends on the
/// order (a NaN is kept until the next element), so the caller takes the
/// scalar path.
///
/// Without NaN the running maximum is the maximum of |x| in any order.
/// `roundf` (ties away from zero) has no rounding mode of its own: the
/// value truncated, plus ±1 where the exact remainder `y − trunc(y)` is at
/// least ½. Rust's saturating cast and the clamp to −127 are one clamp to
/// ±127 of the rounded value, after a NaN product (`inf · 0`) became 0.
///
/// # Safety
/// AVX-512 F; `x` and `codes` hold 32 values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub unsafe fn q8_0_block_avx512(x: &[f32], codes: &mut [i8]) -> Option<(u16, i32)> {
    use std::arch::x86_64::*;
    assert!(x.len() >= 32 && codes.len() >= 32);
    let xs = [
        _mm512_loadu_ps(x.as_ptr()),
        _mm512_loadu_ps(x.as_ptr().add(16)),
    ];
    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(xs[0], xs[0])
        | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(xs[1], xs[1]);
    if nan != 0 {
        return None;
    }
    let amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(xs[0]), _mm512_abs_ps(xs[1])));
    let d = amax / 127.0;
    let id = _mm512_set1_ps(if d != 0.0 { 1.0 / d } else { 0.0 });
    let (half, one, lim) = (
        _mm512_set1_ps(0.5),
        _mm512_set1_epi32(1f32.to_bits() as i32),
        _mm512_set1_ps(127.0),
    );
    let sign = _mm512_set1_epi32(i32::MIN);
    let mut sum = _mm512_setzero_si512();
    for (h, &xv) in xs.iter().enumerate() {
        let y = _mm512_mul_ps(xv, id);
        let y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_ORD_Q>(y, y), y);
        let t = _mm512_roundscale_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(y);
        let away = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(_mm512_abs_ps(_mm512_sub_ps(y, t)), half);
        let step = _mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(y), sign), one);
        let r = _mm512_mask_add_ps(t, away, t, _mm512_castsi512_ps(step));
        let r = _mm512_min_ps(
            _mm512_max_ps(r, _mm512_sub_ps(_mm512_setzero_ps(), lim)),
            lim,
        );
        let c = _mm512_cvttps_epi32(r);
        sum = _mm512_add_epi32(sum, c);
        _mm_storeu_si128(
            codes.as_mut_ptr().add(h * 16) as *mut __m128i,
            _mm512_cvtepi32_epi8(c),
        );
    }
    Some((ggml::f32_to_f16(d), _mm512_reduce_add_epi32(sum)))
}

/// ggml Q8_K activations: 256-blocks, f32 −max/127 scale; the block sums
/// come from its 16 stored sums of 16.
#[derive(Debug, Clone, Copy)]
pub struct Q8KAct;

impl ActFormat for Q8KAct {
    const QK: usize = ternary::QK_K;
    const DESC: &'static str = "Q8_K: int8 g256, f32 -max/127 scale";

    fn bits() -> f64 {
        ternary::Q8_K_BITS
    }

    fn quantize(a: &[f32], m: usize, k: usize) -> QuantRows {
        let q = quantize_q8_k(a, m, k);
        let sums = q
            .bsums
            .chunks(16)
            .map(|s| s.iter().map(|&x| x as i32).sum())
            .collect();
        QuantRows {
            nb: q.nb,
            codes: q.codes,
            d: q.d,
            sums,
        }
    }
}

/// Activation values per task of [`quantize_rows`] (whole rows, at least one).
const PAR_VALUES: usize = 1 << 17;

/// [`ActFormat::quantize_into`] on chunks of whole rows in parallel, each
/// writing its own part of the result: every row quantizes on its own, so
/// the result is one call's, bit for bit (the product calls this; the
/// emulation calls the format's quantizer once).
pub fn quantize_rows<A: ActFormat>(a: &[f32], m: usize, k: usize) -> QuantRows {
    if k == 0 {
        return A::quantize(a, m, k);
    }
    assert_eq!(a.len(), m * k, "activations are m × k");
    let (qk, nb) = (A::QK, k.div_ceil(A::QK));
    let rows_per = (PAR_VALUES / k).max(1);
    let mut q = QuantRows {
        nb,
        codes: vec![0; m * nb * qk],
        d: vec![0.0; m * nb],
        sums: vec![0; m * nb],
    };
    a.par_chunks(rows_per * k)
        .zip(q.codes.par_chunks_mut(rows_per * nb * qk))
        .zip(q.d.par_chunks_mut(rows_per * nb))
        .zip(q.sums.par_chunks_mut(rows_per * nb))
        .for_each(|(((a, codes), d), sums)| A::quantize_into(a, a.len() / k, k, codes, d, sums));
    q
}

//! The AVX2 GEMM step of the integer kernel ([`super::int8`]) for int8
//! weights, on int16 lanes: the weights are widened once to int16 (at the
//! first GEMM, kept beside the int8 panels, which GEMV still streams) and
//! each task's activation rows per product, and one `vpmaddwd` multiplies a
//! broadcast pair of activations by 8 channels' pair of weights and adds
//! each pair into an int32 lane (16 MACs), then one `vpaddd` accumulates.
//!
//! Why: the int8 form needs `vpsignb` + `vpmaddubsw` + `vpmaddwd` + `vpaddd`
//! for 32 MACs (`vpmaddubsw` takes one unsigned operand, so each row's
//! activations take the weights' signs first), three of them on the
//! multiply-capable ports; this form has the same instruction count per
//! MAC with only `vpmaddwd` on those ports, and no per-row sign step. A
//! tile is 4 rows × 2 panels (8 accumulators), so each broadcast serves two
//! panels and each weight load four rows.
//!
//! Exact: codes are in −127..=127, so a `vpmaddwd` pair is at most
//! 2 · 127² = 32258 and the int32 lane sums are the same exact integers the
//! int8 form adds (int32 adds are associative; K ≤ 2^16 keeps them below
//! 2^31, see [`super::int8`]).

use super::pack::{IntPanels, PANEL};

/// Activation rows per register tile (the integer kernel's tile).
pub const TILE_ROWS: usize = 4;

/// int32 sums of up to [`TILE_ROWS`] rows against one or two panels.
pub type Sums = [[[i32; PANEL]; TILE_ROWS]; 2];

/// The int8 panels' codes as int16, `[panel][group][kpair][8 lanes][2]`:
/// K pair `t` of a group holds, for each of the 8 rows of the panel, the
/// codes at padded positions `2t` and `2t + 1` (the int8 block of quad `q`
/// becomes K pairs `2q` and `2q + 1`; element counts and offsets per panel
/// and group are the int8 layout's byte counts and offsets).
///
/// # Panics
/// When the panels are not 8-bit.
pub fn widen_weights(w: &IntPanels) -> Vec<i16> {
    assert_eq!(w.bits, 8, "int16 widening takes 8-bit panels");
    let mut out = vec![0i16; w.data.len()];
    for (dst, src) in out.chunks_exact_mut(32).zip(w.data.chunks_exact(32)) {
        for l in 0..PANEL {
            for b in 0..4 {
                dst[(b / 2) * 16 + l * 2 + b % 2] = src[l * 4 + b] as i8 as i16;
            }
        }
    }
    out
}

/// The sums of `a.len()` ≤ [`TILE_ROWS`] int16 rows (`quads · 4` values
/// each) against `w.len()` ∈ {1, 2} panels' widened weights (`quads · 32`
/// values each, [`widen_weights`] layout): `sums[p][r][l] = Σ_k a[r][k] ·
/// w[p][l][k]`.
///
/// # Safety
/// The CPU must have AVX2.
///
/// # Panics
/// When a slice is shorter than stated or the counts are out of range.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub unsafe fn sums(w: &[&[i16]], a: &[&[i16]], quads: usize) -> Sums {
    assert!((1..=2).contains(&w.len()) && (1..=TILE_ROWS).contains(&a.len()));
    assert!(w.iter().all(|p| p.len() >= quads * 32));
    assert!(a.iter().all(|r| r.len() >= quads * 4));
    let wp: [*const i16; 2] = [w[0].as_ptr(), w[w.len() - 1].as_ptr()];
    macro_rules! by_rows {
        ($p:literal) => {
            match a.len() {
                1 => tile::<1, $p>(wp, std::array::from_fn(|r| a[r].as_ptr()), quads),
                2 => tile::<2, $p>(wp, std::array::from_fn(|r| a[r].as_ptr()), quads),
                3 => tile::<3, $p>(wp, std::array::from_fn(|r| a[r].as_ptr()), quads),
                _ => tile::<4, $p>(wp, std::array::from_fn(|r| a[r].as_ptr()), quads),
            }
        };
    }
    if w.len() == 2 {
        by_rows!(2)
    } else {
        by_rows!(1)
    }
}

/// The register tile: `R` rows × `P` panels, one K pair per step.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::needless_range_loop)] // r, p index register arrays
unsafe fn tile<const R: usize, const P: usize>(
    w: [*const i16; 2],
    ap: [*const i16; R],
    quads: usize,
) -> Sums {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_si256(); R]; P];
    for t in 0..quads * 2 {
        // SAFETY (all reads): bounds asserted by `sums`. A loop, not
        // `array::from_fn`: a closure would not inherit this function's
        // target features, and the load would not inline.
        let mut wv = [_mm256_setzero_si256(); P];
        for p in 0..P {
            wv[p] = _mm256_loadu_si256(w[p].add(t * 16) as *const __m256i);
        }
        for r in 0..R {
            let a2 = _mm256_set1_epi32((ap[r].add(t * 2) as *const i32).read_unaligned());
            for p in 0..P {
                acc[p][r] = _mm256_add_epi32(acc[p][r], _mm256_madd_epi16(a2, wv[p]));
            }
        }
    }
    let mut out = [[[0i32; PANEL]; TILE_ROWS]; 2];
    for p in 0..P {
        for r in 0..R {
            _mm256_storeu_si256(out[p][r].as_mut_ptr() as *mut __m256i, acc[p][r]);
        }
    }
    out
}

//! The slice methods of [`FloatUnit`]: `out[i] = a[i] op b[i]` with
//! stochastic-rounding index `index0 + i`.
//!
//! `add_slice`, `sub_slice` and `mul_slice` pick, once per slice, a loop
//! compiled for the unit's format (fp16, bf16, e4m3, e5m2; see
//! [`super::fast`]) and rounding mode (all seven, stochastic rounding
//! included); other formats run the per-element loop (`*_slice_generic`),
//! which is also the slow twin the tests compare the specialised loops with.
//! Elements the specialised body does not cover (specials, subnormal or
//! overflowing results, exact zero sums) go through the per-element method,
//! so both loops give the same codes for every input.
//!
//! fp16 and bf16 under round-to-nearest-even go further where the effective
//! ISA level is AVX2 or higher: eight elements at a time through f32
//! (fp16 also needs F16C; see [`simd`] for why that gives the unit's
//! bits), a vector with any special lane falling back to the scalar
//! specialised loop, which also serves lower levels, CPUs without F16C and
//! the other six rounding modes.

// The vector loops are a child module: they share this module's operation
// constants, and a sibling importing them back would be an import circle.
#[cfg(target_arch = "x86_64")]
mod simd;

use super::fast::{self, Bf16, E4m3, E5m2, Fp16, Mode, Shape, SLOW};
use super::FloatUnit;
use crate::formats::Rounding;
use crate::isa;

/// Which operation a slice loop runs (a const parameter, so each loop is its own code).
pub(super) const ADD: u8 = 0;
pub(super) const SUB: u8 = 1;
pub(super) const MUL: u8 = 2;

impl FloatUnit {
    /// `out[i] = a[i] + b[i]` with stochastic-rounding index `index0 + i`
    /// (same codes as [`FloatUnit::add`] per element, faster for fp16, bf16,
    /// e4m3 and e5m2). Panics if the slices differ in length.
    pub fn add_slice(&self, a: &[u32], b: &[u32], out: &mut [u32], index0: u64) {
        self.specialised::<ADD>(a, b, out, index0);
    }

    /// `out[i] = a[i] − b[i]` with stochastic-rounding index `index0 + i`
    /// (same codes as [`FloatUnit::sub`] per element). Panics if the slices
    /// differ in length.
    pub fn sub_slice(&self, a: &[u32], b: &[u32], out: &mut [u32], index0: u64) {
        self.specialised::<SUB>(a, b, out, index0);
    }

    /// `out[i] = a[i] × b[i]` with stochastic-rounding index `index0 + i`
    /// (same codes as [`FloatUnit::mul`] per element). Panics if the slices
    /// differ in length.
    pub fn mul_slice(&self, a: &[u32], b: &[u32], out: &mut [u32], index0: u64) {
        self.specialised::<MUL>(a, b, out, index0);
    }

    /// [`FloatUnit::add_slice`] through the per-element method for every
    /// format: the slow twin of the specialised loops.
    pub fn add_slice_generic(&self, a: &[u32], b: &[u32], out: &mut [u32], index0: u64) {
        self.generic::<ADD>(a, b, out, index0);
    }

    /// [`FloatUnit::sub_slice`] through the per-element method (slow twin).
    pub fn sub_slice_generic(&self, a: &[u32], b: &[u32], out: &mut [u32], index0: u64) {
        self.generic::<SUB>(a, b, out, index0);
    }

    /// [`FloatUnit::mul_slice`] through the per-element method (slow twin).
    pub fn mul_slice_generic(&self, a: &[u32], b: &[u32], out: &mut [u32], index0: u64) {
        self.generic::<MUL>(a, b, out, index0);
    }

    /// `out[i] = a[i] × b[i] + c[i]` with stochastic-rounding index `index0 + i`
    /// (per element; fma has no specialised loop). Panics if the slices differ
    /// in length.
    pub fn fma_slice(&self, a: &[u32], b: &[u32], c: &[u32], out: &mut [u32], index0: u64) {
        assert!(
            a.len() == b.len() && a.len() == c.len() && a.len() == out.len(),
            "slice lengths differ"
        );
        for (i, (((o, &x), &y), &z)) in out.iter_mut().zip(a).zip(b).zip(c).enumerate() {
            *o = self.fma(x, y, z, index0.wrapping_add(i as u64));
        }
    }

    /// The per-element operation `OP`.
    #[inline(always)]
    fn op<const OP: u8>(&self, x: u32, y: u32, index: u64) -> u32 {
        match OP {
            ADD => self.add(x, y, index),
            SUB => self.sub(x, y, index),
            _ => self.mul(x, y, index),
        }
    }

    /// The per-element loop.
    fn generic<const OP: u8>(&self, a: &[u32], b: &[u32], out: &mut [u32], index0: u64) {
        check(a, b, out);
        for (i, ((o, &x), &y)) in out.iter_mut().zip(a).zip(b).enumerate() {
            *o = self.op::<OP>(x, y, index0.wrapping_add(i as u64));
        }
    }

    /// Picks the loop for this unit's format and rounding mode.
    fn specialised<const OP: u8>(&self, a: &[u32], b: &[u32], out: &mut [u32], index0: u64) {
        check(a, b, out);
        if Fp16::matches(self) {
            if self.rounding == Rounding::Rne {
                self.fp16_rne::<OP>(a, b, out, index0)
            } else {
                self.by_mode::<Fp16, OP>(a, b, out, index0)
            }
        } else if Bf16::matches(self) {
            if self.rounding == Rounding::Rne {
                self.bf16_rne::<OP>(a, b, out, index0)
            } else {
                self.by_mode::<Bf16, OP>(a, b, out, index0)
            }
        } else if E4m3::matches(self) {
            self.by_mode::<E4m3, OP>(a, b, out, index0)
        } else if E5m2::matches(self) {
            self.by_mode::<E5m2, OP>(a, b, out, index0)
        } else {
            self.generic::<OP>(a, b, out, index0)
        }
    }

    /// fp16 under rne: the AVX2 + F16C loop where the effective level and the
    /// CPU allow it (see [`simd`]), else the scalar specialised loop.
    fn fp16_rne<const OP: u8>(&self, a: &[u32], b: &[u32], out: &mut [u32], index0: u64) {
        let scalar = |a: &[u32], b: &[u32], out: &mut [u32], start: usize| {
            self.fast_loop::<Fp16, fast::Rne, OP>(a, b, out, index0.wrapping_add(start as u64))
        };
        isa::dispatch!(isa::effective(),
            avx2 => if isa::active().f16c {
                // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2;
                // F16C was just checked; `check` made the lengths equal.
                unsafe { simd::fp16::<OP>(a, b, out, scalar) }
            } else {
                scalar(a, b, out, 0)
            },
            scalar => scalar(a, b, out, 0),
        )
    }

    /// bf16 under rne: the AVX2 loop where the effective level allows it, else
    /// the scalar specialised loop.
    fn bf16_rne<const OP: u8>(&self, a: &[u32], b: &[u32], out: &mut [u32], index0: u64) {
        let scalar = |a: &[u32], b: &[u32], out: &mut [u32], start: usize| {
            self.fast_loop::<Bf16, fast::Rne, OP>(a, b, out, index0.wrapping_add(start as u64))
        };
        isa::dispatch!(isa::effective(),
            // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2;
            // `check` made the lengths equal.
            avx2 => unsafe { simd::bf16::<OP>(a, b, out, scalar) },
            scalar => scalar(a, b, out, 0),
        )
    }

    fn by_mode<F: Shape, const OP: u8>(&self, a: &[u32], b: &[u32], out: &mut [u32], i0: u64) {
        match self.rounding {
            Rounding::Rne => self.fast_loop::<F, fast::Rne, OP>(a, b, out, i0),
            Rounding::Rna => self.fast_loop::<F, fast::Rna, OP>(a, b, out, i0),
            Rounding::Rtz => self.fast_loop::<F, fast::Rtz, OP>(a, b, out, i0),
            Rounding::Ru => self.fast_loop::<F, fast::Ru, OP>(a, b, out, i0),
            Rounding::Rd => self.fast_loop::<F, fast::Rd, OP>(a, b, out, i0),
            Rounding::Rto => self.fast_loop::<F, fast::Rto, OP>(a, b, out, i0),
            Rounding::Sr => self.fast_loop::<F, fast::Sr, OP>(a, b, out, i0),
        }
    }

    /// One specialised loop; elements off the fast path take the per-element method.
    fn fast_loop<F: Shape, R: Mode, const OP: u8>(
        &self,
        a: &[u32],
        b: &[u32],
        out: &mut [u32],
        index0: u64,
    ) {
        for (i, ((o, &x), &y)) in out.iter_mut().zip(a).zip(b).enumerate() {
            let index = index0.wrapping_add(i as u64);
            let c = match OP {
                ADD => fast::add::<F, R>(self, x, y, false, index),
                SUB => fast::add::<F, R>(self, x, y, true, index),
                _ => fast::mul::<F, R>(self, x, y, index),
            };
            *o = if c != SLOW {
                c
            } else {
                self.slow::<OP>(x, y, index)
            };
        }
    }

    /// The per-element method, kept out of line so the fast loop stays small.
    #[cold]
    #[inline(never)]
    fn slow<const OP: u8>(&self, x: u32, y: u32, index: u64) -> u32 {
        self.op::<OP>(x, y, index)
    }
}

fn check(a: &[u32], b: &[u32], out: &[u32]) {
    assert!(
        a.len() == b.len() && a.len() == out.len(),
        "slice lengths differ"
    );
}

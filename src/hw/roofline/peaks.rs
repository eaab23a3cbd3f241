//! Peak loops of the instructions native matmul kernels are built on: the
//! GEMM ceiling `bitsim kernels bench` measures in the same process.
//!
//! Each loop runs 16 independent chains of one instruction group, the way
//! [`super::calibrate`]'s compute kernels do (and times them with its
//! [`rate`]), and returns a value every
//! chain feeds (a wrapping sum of the final lanes' bits), so no chain can be
//! optimised away; the tests below compare that value with a one-lane scalar
//! twin. Where a loop's inputs would be loop-invariant (a product of two
//! constants), each step reads its own accumulator instead, so every
//! iteration really executes.
//!
//! Ops count the kernel's useful work: 2 per multiply-accumulate (64 binary
//! MACs per XOR + popcount of a 64-bit word), as GOP/s are counted elsewhere.

use std::time::Duration;

use super::calibrate::{iters_for, pass_rate, rate};
use crate::arith::dpbf16;
use crate::isa;

/// An instruction group a kernel's inner loop is built on (the kernels
/// layer's `Base` maps onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeakOp {
    /// f32 fused multiply-add.
    F32Fma,
    /// f32 multiply, then a separate add.
    F32MulAdd,
    /// int8 dot steps (AVX2 `vpmaddubsw` + `vpmaddwd` + `vpaddd`; VNNI `vpdpbusd` zmm).
    Int8Dot,
    /// int16 `vpmullw` + saturating `vpaddsw`.
    Int16Sat,
    /// XOR + popcount of 64-bit words.
    Popcount,
    /// L-Mul: integer add of f32 bit patterns, then an f32 add.
    LmulAdd,
    /// bf16 pair dot into f32 (AVX-512 BF16 `vdpbf16ps` zmm: 32 MACs).
    Bf16Dot,
}

/// One peak loop: `run(n)` executes `n × ops_per_iter` operations.
#[derive(Debug, Clone, Copy)]
pub struct PeakLoop {
    /// The instruction and shape, for the output.
    pub what: &'static str,
    /// Operations per iteration (a MAC counts 2).
    pub ops_per_iter: f64,
    /// Runs `n` iterations and returns the folded final state.
    pub run: fn(u64) -> u64,
}

/// Independent chains per loop (as in [`super::calibrate`]).
pub const CHAINS: usize = 16;

/// The best loop for `op` this CPU can run under the ISA cap
/// ([`isa::active`]).
pub fn peak_loop(op: PeakOp) -> PeakLoop {
    #[cfg(target_arch = "x86_64")]
    {
        let f = isa::active();
        match op {
            PeakOp::F32Fma if f.avx512f => {
                return PeakLoop {
                    what: "vfmadd231ps zmm, 16 independent chains",
                    ops_per_iter: (CHAINS * 16 * 2) as f64,
                    // SAFETY: AVX-512F is active.
                    run: |n| unsafe { x86::fma_zmm(n) },
                };
            }
            PeakOp::F32Fma if f.avx2 && f.fma => {
                return PeakLoop {
                    what: "vfmadd231ps ymm, 16 independent chains",
                    ops_per_iter: (CHAINS * 8 * 2) as f64,
                    // SAFETY: AVX2 and FMA are active.
                    run: |n| unsafe { x86::fma_ymm(n) },
                };
            }
            PeakOp::Int8Dot if f.avx512vnni => {
                return PeakLoop {
                    what: "vpdpbusd zmm, 16 independent chains",
                    ops_per_iter: (CHAINS * 64 * 2) as f64,
                    // SAFETY: AVX512-VNNI is active.
                    run: |n| unsafe { x86::dpbusd_zmm(n) },
                };
            }
            PeakOp::Bf16Dot if f.avx512bf16 => {
                return PeakLoop {
                    what: "vdpbf16ps zmm, 16 independent chains",
                    // 16 f32 lanes × 2 bf16 products each, 2 ops per product.
                    ops_per_iter: (CHAINS * 16 * 2 * 2) as f64,
                    // SAFETY: AVX-512F and AVX-512 BF16 are active.
                    run: |n| unsafe { x86::dpbf16_zmm(n) },
                };
            }
            _ if f.avx2 => {
                if let Some(l) = avx2_loop(op) {
                    return l;
                }
            }
            _ => {}
        }
    }
    portable_loop(op)
}

/// The AVX2 loop of `op` (`None`: `op` has none; callers fall back to the portable one).
#[cfg(target_arch = "x86_64")]
fn avx2_loop(op: PeakOp) -> Option<PeakLoop> {
    Some(match op {
        // No AVX2 form: the portable loop runs the unit's model.
        PeakOp::F32Fma | PeakOp::Bf16Dot => return None,
        PeakOp::F32MulAdd => PeakLoop {
            what: "vmulps + vaddps ymm, 16 independent chains",
            ops_per_iter: (CHAINS * 8 * 2) as f64,
            // SAFETY: `peak_loop` calls this only with AVX2 active.
            run: |n| unsafe { x86::muladd_ymm(n) },
        },
        PeakOp::Int8Dot => PeakLoop {
            what: "vpmaddubsw + vpmaddwd + vpaddd ymm, 16 independent chains",
            // 8 int32 lanes × 4 u8·i8 products each, 2 ops per product.
            ops_per_iter: (CHAINS * 8 * 4 * 2) as f64,
            // SAFETY: as above.
            run: |n| unsafe { x86::maddubs_ymm(n) },
        },
        PeakOp::Int16Sat => PeakLoop {
            what: "vpmullw + vpaddsw ymm, 16 independent chains",
            ops_per_iter: (CHAINS * 16 * 2) as f64,
            // SAFETY: as above.
            run: |n| unsafe { x86::mullw_addsw_ymm(n) },
        },
        PeakOp::Popcount if std::is_x86_feature_detected!("popcnt") => PeakLoop {
            what: "xor + popcnt r64, 16 independent chains",
            ops_per_iter: (CHAINS * 64 * 2) as f64,
            // SAFETY: POPCNT was detected just above.
            run: |n| unsafe { x86::xor_popcnt(n) },
        },
        PeakOp::Popcount => return None,
        PeakOp::LmulAdd => PeakLoop {
            what: "vpaddd + vaddps ymm, 16 independent chains",
            ops_per_iter: (CHAINS * 8 * 2) as f64,
            // SAFETY: as above.
            run: |n| unsafe { x86::lmul_add_ymm(n) },
        },
    })
}

/// The portable loop of `op` (what the scalar ISA level runs).
fn portable_loop(op: PeakOp) -> PeakLoop {
    let chains = CHAINS as f64;
    match op {
        PeakOp::F32Fma => PeakLoop {
            what: "portable f32 multiply-add, 16 independent chains",
            ops_per_iter: chains * 2.0,
            run: portable::f32_fma,
        },
        PeakOp::F32MulAdd => PeakLoop {
            what: "portable f32 multiply + add, 16 independent chains",
            ops_per_iter: chains * 2.0,
            run: portable::f32_fma,
        },
        PeakOp::Int8Dot => PeakLoop {
            what: "portable 4-byte int8 dot into i32, 16 independent chains",
            ops_per_iter: chains * 4.0 * 2.0,
            run: portable::int8_dot,
        },
        PeakOp::Int16Sat => PeakLoop {
            what: "portable i16 multiply + saturating add, 16 independent chains",
            ops_per_iter: chains * 2.0,
            run: portable::int16_sat,
        },
        PeakOp::Popcount => PeakLoop {
            what: "portable xor + count_ones u64, 16 independent chains",
            ops_per_iter: chains * 64.0 * 2.0,
            run: portable::xor_popcount,
        },
        PeakOp::LmulAdd => PeakLoop {
            what: "portable u32 add of f32 bits + f32 add, 16 independent chains",
            ops_per_iter: chains * 2.0,
            run: portable::lmul_add,
        },
        PeakOp::Bf16Dot => PeakLoop {
            what: "portable vdpbf16ps lane model, 16 independent chains",
            ops_per_iter: chains * 2.0 * 2.0,
            run: portable::bf16_dot,
        },
    }
}

/// Peak rate of `op`'s loop in G ops/s, summed over `threads` threads
/// running at once, best of runs filling about `budget` (see [`rate`]);
/// with the loop's description.
pub fn peak_gops(op: PeakOp, threads: usize, budget: Duration) -> (f64, &'static str) {
    let l = peak_loop(op);
    let run = l.run;
    let gops = rate(l.ops_per_iter, budget, threads, &|n| {
        std::hint::black_box(run(std::hint::black_box(n)));
    });
    (gops, l.what)
}

/// `op`'s peak loop calibrated once to run about `pass` per timed run, for
/// benches that alternate single passes of it with the work they compare
/// with it (both then see the same machine; see [`peak_gops`] for the best
/// of runs instead).
pub struct PeakPasses {
    l: PeakLoop,
    iters: u64,
    threads: usize,
}

impl PeakPasses {
    /// Calibrates `op`'s loop on `threads` threads to about `pass` a run.
    pub fn new(op: PeakOp, threads: usize, pass: Duration) -> PeakPasses {
        let l = peak_loop(op);
        let run = l.run;
        let iters = iters_for(pass, threads, &|n| {
            std::hint::black_box(run(std::hint::black_box(n)));
        });
        PeakPasses { l, iters, threads }
    }

    /// One timed run's rate, G ops/s summed over the threads.
    pub fn pass(&self) -> f64 {
        let run = self.l.run;
        pass_rate(self.l.ops_per_iter, self.iters, self.threads, &|n| {
            std::hint::black_box(run(std::hint::black_box(n)));
        })
    }

    /// The loop's description.
    pub fn what(&self) -> &'static str {
        self.l.what
    }
}

// ---- one-lane steps (the loops' twins, and the portable loops' bodies) ----

/// Multiplier and offset of the float chains: x ← x·M + C converges to
/// C / (1 − M) = 10, so no overflow and no subnormal ever occurs.
const F_M: f32 = 0.999_9;
const F_C: f32 = 1e-3;
/// Start of the float chains.
const F_X0: f32 = 0.5;
/// The signed bytes of the int8 chains (one per lane byte, low first).
const I8_S: [i8; 4] = [3, -2, 5, -7];
/// Start of the int8 chains' int32 lanes.
const I8_X0: i32 = 0x0102_0304;
/// Multiplier and start of the int16 chains.
const I16_M: i16 = 3;
const I16_X0: i16 = 7;
/// XOR mask and start of the popcount chains.
const POP_K: u64 = 0x5555_0000_ffff_1234;
const POP_X0: u64 = 0x0123_4567_89ab_cdef;
/// The L-Mul chains add this to the bit pattern (−1 in the exponent field:
/// halves a normal value), then add [`F_C`]: x ← x/2 + C converges to 2C.
const LMUL_K: i32 = -(1 << 23);
/// The bf16 pairs of the `vdpbf16ps` chains, `[even, odd]` codes: the odd
/// product (3 · 0.125 = 0.375) is added first, then the even one
/// (2 · −0.125 = −0.25), so x ← x + 0.125 per step in exact arithmetic;
/// once x is large the two rounded steps differ from one exact add, which
/// the twin must reproduce. Linear growth: no overflow, no subnormal.
const BF_A: [u16; 2] = [0x4000, 0x4040];
const BF_B: [u16; 2] = [0xbe00, 0x3e00];
/// Start of the `vdpbf16ps` chains.
const BF_X0: f32 = 1.0;

/// One step of the int8 chains: the `vpmaddubsw` (x's bytes unsigned × the
/// signed bytes, pairs summed with int16 saturation), `vpmaddwd` with ones
/// (the two int16 sums added) and `vpaddd` (wrapping) of one int32 lane.
pub fn int8_step(x: i32) -> i32 {
    let b = x.to_le_bytes();
    let pair = |i: usize| {
        let s = b[i] as i32 * I8_S[i] as i32 + b[i + 1] as i32 * I8_S[i + 1] as i32;
        s.clamp(i16::MIN as i32, i16::MAX as i32)
    };
    x.wrapping_add(pair(0) + pair(2))
}

/// One step of the int16 chains: `vpmullw` (low 16 bits) then `vpaddsw`.
pub fn int16_step(x: i16) -> i16 {
    x.saturating_add(x.wrapping_mul(I16_M))
}

/// One step of the popcount chains.
pub fn popcount_step(x: u64) -> u64 {
    x.wrapping_add((x ^ POP_K).count_ones() as u64)
}

/// One step of the L-Mul chains.
pub fn lmul_step(x: f32) -> f32 {
    f32::from_bits((x.to_bits() as i32).wrapping_add(LMUL_K) as u32) + F_C
}

/// One step of the `vdpbf16ps` chains: one lane of one instruction
/// ([`dpbf16::instruction`]: odd pair element first, DAZ/FTZ, RNE per step).
pub fn bf16_dot_step(x: f32) -> f32 {
    dpbf16::instruction(x, BF_A, BF_B)
}

/// One step of the float chains (multiply, round, add, round).
pub fn f32_step(x: f32) -> f32 {
    x * F_M + F_C
}

/// The value a loop returns when its `lanes` lanes all end at `bits`: the
/// wrapping sum of every lane's bits.
pub fn folded(bits: u64, lanes: usize) -> u64 {
    bits.wrapping_mul(lanes as u64)
}

mod portable {
    use super::*;
    use std::hint::black_box;

    /// 16 chains of `step`, `n` times; the wrapping sum of their bits.
    #[inline(always)]
    fn chains<T: Copy>(n: u64, x0: T, step: impl Fn(T) -> T, bits: impl Fn(T) -> u64) -> u64 {
        let mut a = [black_box(x0); CHAINS];
        for _ in 0..n {
            for x in a.iter_mut() {
                *x = step(*x);
            }
        }
        a.iter().fold(0u64, |t, &x| t.wrapping_add(bits(x)))
    }

    pub fn f32_fma(n: u64) -> u64 {
        chains(n, F_X0, f32_step, |x| x.to_bits() as u64)
    }
    pub fn int8_dot(n: u64) -> u64 {
        chains(n, I8_X0, int8_step, |x| x as u32 as u64)
    }
    pub fn int16_sat(n: u64) -> u64 {
        chains(n, I16_X0, int16_step, |x| x as u16 as u64)
    }
    pub fn xor_popcount(n: u64) -> u64 {
        chains(n, POP_X0, popcount_step, |x| x)
    }
    pub fn lmul_add(n: u64) -> u64 {
        chains(n, F_X0, lmul_step, |x| x.to_bits() as u64)
    }
    pub fn bf16_dot(n: u64) -> u64 {
        chains(n, BF_X0, bf16_dot_step, |x| x.to_bits() as u64)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use std::arch::x86_64::*;
    use std::hint::black_box;

    /// Runs `$op` on 16 accumulators `n` times (written out so that each
    /// stays in a register).
    macro_rules! chains {
        ($n:expr, $init:expr, $op:expr) => {{
            let mut a = [$init; 16];
            for _ in 0..$n {
                a[0] = $op(a[0]);
                a[1] = $op(a[1]);
                a[2] = $op(a[2]);
                a[3] = $op(a[3]);
                a[4] = $op(a[4]);
                a[5] = $op(a[5]);
                a[6] = $op(a[6]);
                a[7] = $op(a[7]);
                a[8] = $op(a[8]);
                a[9] = $op(a[9]);
                a[10] = $op(a[10]);
                a[11] = $op(a[11]);
                a[12] = $op(a[12]);
                a[13] = $op(a[13]);
                a[14] = $op(a[14]);
                a[15] = $op(a[15]);
            }
            a
        }};
    }

    /// Wrapping sum of the 32-bit lanes of every register.
    #[target_feature(enable = "avx2")]
    fn fold32(a: &[__m256i]) -> u64 {
        let mut out = [0u32; 8];
        let mut t = 0u64;
        for &x in a {
            // SAFETY: `out` holds 8 lanes.
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), x) };
            t = out.iter().fold(t, |t, &l| t.wrapping_add(l as u64));
        }
        t
    }

    /// Wrapping sum of the 16-bit lanes of every register.
    #[target_feature(enable = "avx2")]
    fn fold16(a: &[__m256i]) -> u64 {
        let mut out = [0u16; 16];
        let mut t = 0u64;
        for &x in a {
            // SAFETY: `out` holds 16 lanes.
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), x) };
            t = out.iter().fold(t, |t, &l| t.wrapping_add(l as u64));
        }
        t
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_ymm(n: u64) -> u64 {
        let m = _mm256_set1_ps(black_box(F_M));
        let c = _mm256_set1_ps(black_box(F_C));
        let a = chains!(n, _mm256_set1_ps(F_X0), |x| _mm256_fmadd_ps(x, m, c));
        fold32(&a.map(|x| _mm256_castps_si256(x)))
    }

    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_zmm(n: u64) -> u64 {
        let m = _mm512_set1_ps(black_box(F_M));
        let c = _mm512_set1_ps(black_box(F_C));
        let a = chains!(n, _mm512_set1_ps(F_X0), |x| _mm512_fmadd_ps(x, m, c));
        let mut out = [0u32; 16];
        let mut t = 0u64;
        for x in a {
            // SAFETY: `out` holds 16 lanes.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr().cast(), x) };
            t = out.iter().fold(t, |t, &l| t.wrapping_add(l as u64));
        }
        t
    }

    #[target_feature(enable = "avx512f,avx512vnni")]
    pub unsafe fn dpbusd_zmm(n: u64) -> u64 {
        let u = _mm512_set1_epi8(black_box(3));
        let s = _mm512_set1_epi8(black_box(-2));
        let a = chains!(n, _mm512_setzero_si512(), |x| _mm512_dpbusd_epi32(x, u, s));
        let mut out = [0u32; 16];
        let mut t = 0u64;
        for x in a {
            // SAFETY: `out` holds 16 lanes.
            unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), x) };
            t = out.iter().fold(t, |t, &l| t.wrapping_add(l as u64));
        }
        t
    }

    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn dpbf16_zmm(n: u64) -> u64 {
        let pair = |p: [u16; 2]| (p[0] as u32 | (p[1] as u32) << 16) as i32;
        let a = _mm512_set1_epi32(black_box(pair(BF_A)));
        let b = _mm512_set1_epi32(black_box(pair(BF_B)));
        // SAFETY: `__m512bh` is 32 bf16 codes in 512 bits.
        let (a, b) = unsafe {
            (
                std::mem::transmute::<__m512i, __m512bh>(a),
                std::mem::transmute::<__m512i, __m512bh>(b),
            )
        };
        let acc = chains!(n, _mm512_set1_ps(BF_X0), |x| _mm512_dpbf16_ps(x, a, b));
        let mut out = [0u32; 16];
        let mut t = 0u64;
        for x in acc {
            // SAFETY: `out` holds 16 lanes.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr().cast(), x) };
            t = out.iter().fold(t, |t, &l| t.wrapping_add(l as u64));
        }
        t
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn muladd_ymm(n: u64) -> u64 {
        let m = _mm256_set1_ps(black_box(F_M));
        let c = _mm256_set1_ps(black_box(F_C));
        let a = chains!(n, _mm256_set1_ps(F_X0), |x| _mm256_add_ps(
            _mm256_mul_ps(x, m),
            c
        ));
        fold32(&a.map(|x| _mm256_castps_si256(x)))
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn maddubs_ymm(n: u64) -> u64 {
        let s = _mm256_set1_epi32(black_box(i32::from_le_bytes(I8_S.map(|b| b as u8))));
        let ones = _mm256_set1_epi16(black_box(1));
        let a = chains!(n, _mm256_set1_epi32(I8_X0), |x| _mm256_add_epi32(
            x,
            _mm256_madd_epi16(_mm256_maddubs_epi16(x, s), ones)
        ));
        fold32(&a)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn mullw_addsw_ymm(n: u64) -> u64 {
        let m = _mm256_set1_epi16(black_box(I16_M));
        let a = chains!(n, _mm256_set1_epi16(I16_X0), |x| _mm256_adds_epi16(
            x,
            _mm256_mullo_epi16(x, m)
        ));
        fold16(&a)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn lmul_add_ymm(n: u64) -> u64 {
        let k = _mm256_set1_epi32(black_box(LMUL_K));
        let c = _mm256_set1_ps(black_box(F_C));
        let a = chains!(n, _mm256_set1_ps(F_X0), |x| _mm256_add_ps(
            _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(x), k)),
            c
        ));
        fold32(&a.map(|x| _mm256_castps_si256(x)))
    }

    #[target_feature(enable = "popcnt")]
    pub unsafe fn xor_popcnt(n: u64) -> u64 {
        let k = black_box(POP_K);
        let a = chains!(n, black_box(POP_X0), |x: u64| x
            .wrapping_add((x ^ k).count_ones() as u64));
        a.iter().fold(0u64, |t, &x| t.wrapping_add(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `step` applied `n` times to `x`.
    fn iterate<T: Copy>(x: T, n: u64, step: impl Fn(T) -> T) -> T {
        (0..n).fold(x, |x, _| step(x))
    }

    /// What each op's loop must return after `n` iterations with `lanes`
    /// lanes per chain, from the one-lane twins.
    fn want(op: PeakOp, n: u64, lanes: usize) -> u64 {
        let lanes = lanes * CHAINS;
        let bits = match op {
            PeakOp::F32Fma => {
                // Fused: one rounding per step.
                iterate(F_X0, n, |x| x.mul_add(F_M, F_C)).to_bits() as u64
            }
            PeakOp::F32MulAdd => iterate(F_X0, n, f32_step).to_bits() as u64,
            PeakOp::Int8Dot => iterate(I8_X0, n, int8_step) as u32 as u64,
            PeakOp::Int16Sat => iterate(I16_X0, n, int16_step) as u16 as u64,
            PeakOp::Popcount => iterate(POP_X0, n, popcount_step),
            PeakOp::LmulAdd => iterate(F_X0, n, lmul_step).to_bits() as u64,
            PeakOp::Bf16Dot => iterate(BF_X0, n, bf16_dot_step).to_bits() as u64,
        };
        folded(bits, lanes)
    }

    #[test]
    fn every_loop_computes_what_its_twin_computes() {
        for n in [0u64, 1, 2, 7, 100, 1000] {
            #[cfg(target_arch = "x86_64")]
            if isa::detected() >= isa::IsaLevel::Avx2 {
                for op in [
                    PeakOp::F32MulAdd,
                    PeakOp::Int8Dot,
                    PeakOp::Int16Sat,
                    PeakOp::LmulAdd,
                    PeakOp::Popcount,
                ] {
                    let l = avx2_loop(op).expect("AVX2 loop");
                    let lanes = match op {
                        PeakOp::Int16Sat => 16,
                        PeakOp::Popcount => 1,
                        _ => 8,
                    };
                    assert_eq!((l.run)(n), want(op, n, lanes), "{op:?} avx2, n = {n}");
                }
                if std::is_x86_feature_detected!("fma") {
                    // SAFETY: AVX2 and FMA checked.
                    let got = unsafe { x86::fma_ymm(n) };
                    assert_eq!(got, want(PeakOp::F32Fma, n, 8), "fma ymm, n = {n}");
                }
            }
            #[cfg(target_arch = "x86_64")]
            if isa::features().avx512bf16 {
                // SAFETY: AVX-512 BF16 (with F) detected.
                let got = unsafe { x86::dpbf16_zmm(n) };
                assert_eq!(got, want(PeakOp::Bf16Dot, n, 16), "vdpbf16ps zmm, n = {n}");
            }
            for op in [
                PeakOp::Int8Dot,
                PeakOp::Int16Sat,
                PeakOp::Popcount,
                PeakOp::LmulAdd,
                PeakOp::F32MulAdd,
                PeakOp::Bf16Dot,
            ] {
                let l = portable_loop(op);
                assert_eq!((l.run)(n), want(op, n, 1), "{op:?} portable, n = {n}");
            }
        }
    }

    #[test]
    fn the_twins_exercise_saturation_and_wrapping() {
        // The int16 chain reaches saturation and stays there; the int8 step
        // reads its lane's bytes as unsigned; the float chains converge
        // (no overflow, no subnormals).
        assert_eq!(iterate(I16_X0, 20, int16_step), i16::MAX);
        let b = i32::from_le_bytes([255, 255, 0, 0]);
        assert_eq!(int8_step(b), b + 255 * 3 - 255 * 2);
        assert!((iterate(F_X0, 200_000, f32_step) - 10.0).abs() < 0.01);
        assert!((iterate(F_X0, 100, lmul_step) - 2.0 * F_C).abs() < 1e-6);
    }

    #[test]
    fn peak_rates_are_positive() {
        for op in [
            PeakOp::F32Fma,
            PeakOp::F32MulAdd,
            PeakOp::Int8Dot,
            PeakOp::Int16Sat,
            PeakOp::Popcount,
            PeakOp::LmulAdd,
            PeakOp::Bf16Dot,
        ] {
            let (g, what) = peak_gops(op, 1, Duration::from_millis(5));
            assert!(g > 0.0 && g.is_finite(), "{op:?} ({what}): {g}");
        }
    }
}

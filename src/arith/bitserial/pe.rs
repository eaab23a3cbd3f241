//! A cycle-counting bit-serial processing element (PE) and the matmul it
//! computes, the slow and obvious twin of the bit-serial matmul variants.
//!
//! The PE holds `dp` lanes (the dot-product width). Each lane multiplies an
//! integer activation (int8 codes) by a weight that arrives serially, `b`
//! bits per cycle; an adder tree sums the lanes' partial products and the
//! accumulator adds them, shifted into place. A group of `g` weights takes
//! `ceil(g / dp)` lane loads of `ceil(digit_bits / b)` cycles each.
//!
//! Weight codings ([`WeightCoding`]):
//! - two's complement of `bits` bits (INT4, INT8): radix-2^b digits, the low
//!   ones unsigned and the top one signed, so `w = Σ_c d_c · 2^(b·c)`;
//! - sign / mantissa / shift (BitMoD): every BitMoD value is `±m · 2^e` with
//!   `m` odd (1, 3, or 5 for ER's 10 = 5·2); `m` is sent serially in
//!   `mant_bits` bits, the shift `e` is applied to the lane's partial product
//!   (a barrel shift, no cycle) and the sign by add/subtract. 4-bit BitMoD
//!   needs `mant_bits = 3`, 3-bit BitMoD `mant_bits = 2`.
//!
//! Bit-serial dequantization: when the weights have a per-group scale (an
//! fp16 or f32 value `M · 2^E`, `M` an odd integer of at most
//! `scale_bits` bits), the group's integer partial sum `p` is multiplied by
//! `M` by shift-and-add, `b` bits of `M` per cycle (`ceil(scale_bits / b)`
//! cycles per group), then `p·M·2^E` is rounded once to f32 and added to the
//! f32 accumulator. That equals the variants' kernel order
//! (`f32(p) · s`, one f32 rounding) whenever `|p| < 2^24`, and the PE checks
//! that every exact intermediate it forms is within the modelled range
//! (`|p · M| < 2^53`, so the f64 step before the single f32 rounding is exact).
//!
//! After all groups, the accumulator is multiplied by the outer scales in
//! f32 (activation, then weight), as [`crate::variants::kernel`] does.
//!
//! Cycle count per output (see [`output_cycles`]):
//! `Σ_groups ceil(len_g / dp) · ceil(digit_bits / b) + [scaled] · ceil(scale_bits / b)`.

use crate::tensor::{QOperand, Values};

/// How a weight is presented to the PE, one digit of `b` bits per cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightCoding {
    /// Two's complement integer of `bits` bits.
    TwosComplement {
        /// Width of the weight.
        bits: u32,
    },
    /// `±m · 2^e` with `m` odd, `m` serial in `mant_bits` bits, `e` a shift.
    SignMantShift {
        /// Serial mantissa width.
        mant_bits: u32,
    },
}

impl WeightCoding {
    /// Bits sent serially per weight.
    pub fn digit_bits(&self) -> u32 {
        match *self {
            WeightCoding::TwosComplement { bits } => bits,
            WeightCoding::SignMantShift { mant_bits } => mant_bits,
        }
    }
}

/// A bit-serial PE's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeConfig {
    /// Lanes (dot-product width).
    pub dp: usize,
    /// Weight bits consumed per cycle.
    pub bits_per_cycle: u32,
    /// Weight coding.
    pub coding: WeightCoding,
    /// Significant bits of a group scale's mantissa (fp16: 11, f32: 24).
    pub scale_bits: u32,
}

impl PeConfig {
    /// BitMoD's PE for the `bits`-bit family: dp 4, 2 bits per cycle, fp16 scales.
    pub fn bitmod(bits: u32) -> Self {
        PeConfig {
            dp: 4,
            bits_per_cycle: 2,
            coding: WeightCoding::SignMantShift {
                mant_bits: if bits == 3 { 2 } else { 3 },
            },
            scale_bits: 11,
        }
    }

    /// A classic bit-serial INT`bits` PE: dp 4, 2 bits per cycle, f32 scales.
    pub fn int(bits: u32) -> Self {
        PeConfig {
            dp: 4,
            bits_per_cycle: 2,
            coding: WeightCoding::TwosComplement { bits },
            scale_bits: 24,
        }
    }

    /// Cycles to stream one lane load of weights.
    pub fn cycles_per_load(&self) -> u64 {
        self.coding
            .digit_bits()
            .div_ceil(self.bits_per_cycle.max(1)) as u64
    }

    /// Cycles of one group's shift-and-add dequantization.
    pub fn dequant_cycles(&self) -> u64 {
        self.scale_bits.div_ceil(self.bits_per_cycle.max(1)) as u64
    }

    fn check(&self) -> Result<(), String> {
        let d = self.coding.digit_bits();
        if self.dp == 0 || self.bits_per_cycle == 0 || self.bits_per_cycle > 16 {
            return Err("dp must be ≥ 1 and bits per cycle in 1..=16".into());
        }
        if d == 0 || d > 16 || self.scale_bits == 0 || self.scale_bits > 24 {
            return Err("weight digits must be 1..=16 bits and scale bits 1..=24".into());
        }
        Ok(())
    }
}

/// The closed-form cycle count of one output over K = `k` with groups of
/// `group` (`group = 0`: one group, no group scale).
pub fn output_cycles(cfg: &PeConfig, k: usize, group: usize) -> u64 {
    let scaled = group != 0;
    let g = if scaled { group } else { k.max(1) };
    let mut c = 0u64;
    let mut start = 0;
    while start < k {
        let len = g.min(k - start);
        c += len.div_ceil(cfg.dp) as u64 * cfg.cycles_per_load();
        if scaled {
            c += cfg.dequant_cycles();
        }
        start += len;
    }
    c
}

/// The serial digits of weight `w`: `(digit, shift)` per cycle, with
/// `w = Σ digit · 2^shift`.
pub fn weight_digits(w: i32, cfg: &PeConfig) -> Result<Vec<(i64, u32)>, String> {
    let b = cfg.bits_per_cycle;
    let n = cfg.cycles_per_load() as u32;
    match cfg.coding {
        WeightCoding::TwosComplement { bits } => {
            let lo = -(1i64 << (bits - 1));
            let hi = (1i64 << (bits - 1)) - 1;
            if (w as i64) < lo || (w as i64) > hi {
                return Err(format!(
                    "weight {w} does not fit {bits}-bit two's complement"
                ));
            }
            let mask = (1i64 << b) - 1;
            Ok((0..n)
                .map(|c| {
                    let sh = b * c;
                    let d = if c + 1 == n {
                        (w as i64) >> sh // top digit keeps the sign
                    } else {
                        ((w as i64) >> sh) & mask
                    };
                    (d, sh)
                })
                .collect())
        }
        WeightCoding::SignMantShift { mant_bits } => {
            if w == 0 {
                return Ok((0..n).map(|c| (0, b * c)).collect());
            }
            let e = w.unsigned_abs().trailing_zeros();
            let m = (w.unsigned_abs() >> e) as i64;
            if m >= 1i64 << mant_bits {
                return Err(format!(
                    "weight {w} needs more than {mant_bits} mantissa bits"
                ));
            }
            let sign = if w < 0 { -1 } else { 1 };
            let mask = (1i64 << b) - 1;
            Ok((0..n)
                .map(|c| (sign * ((m >> (b * c)) & mask), b * c + e))
                .collect())
        }
    }
}

/// One group's dot product, cycle by cycle: returns the exact integer sum
/// and the cycles spent.
pub fn dot_group(a: &[i8], w: &[i32], cfg: &PeConfig) -> Result<(i64, u64), String> {
    cfg.check()?;
    let mut acc = 0i64;
    let mut cycles = 0u64;
    for (ac, wc) in a.chunks(cfg.dp).zip(w.chunks(cfg.dp)) {
        let digits: Vec<Vec<(i64, u32)>> = wc
            .iter()
            .map(|&x| weight_digits(x, cfg))
            .collect::<Result<_, _>>()?;
        for c in 0..cfg.cycles_per_load() as usize {
            // The adder tree: every lane's digit × activation, shifted.
            let tree: i64 = ac
                .iter()
                .zip(&digits)
                .map(|(&x, d)| (x as i64 * d[c].0) << d[c].1)
                .sum();
            acc += tree;
            cycles += 1;
        }
    }
    Ok((acc, cycles))
}

/// Shift-and-add dequantization of a partial sum `p` by a finite f32
/// `scale`: returns `f32(p · scale)` (one rounding) and the cycles spent.
pub fn dequantize(p: i64, scale: f32, cfg: &PeConfig) -> Result<(f32, u64), String> {
    if !scale.is_finite() {
        return Err(format!("scale {scale} is not finite"));
    }
    let cycles = cfg.dequant_cycles();
    if scale == 0.0 || p == 0 {
        return Ok((0.0 * scale * p.signum() as f32, cycles));
    }
    let bits = scale.to_bits();
    let (exp, frac) = ((bits >> 23) & 0xFF, (bits & 0x7F_FFFF) as i64);
    let (mut m, mut e) = if exp == 0 {
        (frac, -149i32)
    } else {
        (frac | 1 << 23, exp as i32 - 150)
    };
    let tz = m.trailing_zeros();
    m >>= tz;
    e += tz as i32;
    if m >= 1i64 << cfg.scale_bits {
        return Err(format!(
            "scale {scale} has more than {} significant bits",
            cfg.scale_bits
        ));
    }
    let b = cfg.bits_per_cycle;
    let mask = (1i64 << b) - 1;
    let mut prod: i128 = 0;
    for c in 0..cycles as u32 {
        prod += (p as i128 * ((m >> (b * c)) & mask) as i128) << (b * c);
    }
    if prod.unsigned_abs() >= 1u128 << 53 {
        return Err(format!(
            "partial sum {p} × scale {scale} exceeds the modelled range"
        ));
    }
    let mut v = prod as f64 * 2f64.powi(e);
    if scale.is_sign_negative() {
        v = -v;
    }
    Ok((v as f32, cycles))
}

/// What a PE run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct PeRun {
    /// Outputs, `m × n` row-major.
    pub out: Vec<f64>,
    /// Dot-product cycles (all outputs, one PE).
    pub dot_cycles: u64,
    /// Dequantization cycles (all outputs, one PE).
    pub dequant_cycles: u64,
}

impl PeRun {
    /// All cycles.
    pub fn cycles(&self) -> u64 {
        self.dot_cycles + self.dequant_cycles
    }
}

/// Runs the matmul `a · wᵀ` on one PE, output by output, counting cycles.
/// `a` must hold int8 codes with an outer (per-row) scale and no inner
/// scales; `w` integer codes with inner (group) and/or outer scales.
pub fn matmul(a: &QOperand, w: &QOperand, cfg: &PeConfig) -> Result<PeRun, String> {
    cfg.check()?;
    let (Values::Int(av), Values::Int(wv)) = (&a.values, &w.values) else {
        return Err("the PE takes integer codes on both sides".into());
    };
    if a.k != w.k {
        return Err("A and W must share K".into());
    }
    if a.inner.is_some() {
        return Err("activation group scales are not modelled".into());
    }
    let k = a.k;
    let group = if w.inner.is_some() {
        w.group.max(1)
    } else {
        k.max(1)
    };
    let groups = k.div_ceil(group);
    let mut run = PeRun {
        out: Vec::with_capacity(a.rows * w.rows),
        dot_cycles: 0,
        dequant_cycles: 0,
    };
    for i in 0..a.rows {
        let arow = &av[i * k..(i + 1) * k];
        for j in 0..w.rows {
            let wrow: Vec<i32> = wv[j * k..(j + 1) * k].iter().map(|&x| x as i32).collect();
            let mut acc = 0f32;
            for g in 0..groups {
                let r = g * group..((g + 1) * group).min(k);
                let (p, c) = dot_group(&arow[r.clone()], &wrow[r], cfg)?;
                run.dot_cycles += c;
                let v = match &w.inner {
                    Some(s) => {
                        let (v, c) = dequantize(p, s[j * groups + g], cfg)?;
                        run.dequant_cycles += c;
                        v
                    }
                    None => p as f32,
                };
                acc += v;
            }
            if let Some(s) = &a.outer {
                acc *= s[i];
            }
            if let Some(s) = &w.outer {
                acc *= s[j];
            }
            run.out.push(acc as f64);
        }
    }
    Ok(run)
}

//! The slow, obvious twin of MX and NVFP4 quantization ([`quantize_reference`]),
//! which the fast path is checked against.

use super::{check_format, check_nan, check_shape, element_options, BlockTensor};
use crate::formats::{
    exp2i, BlockFormat, BlockKind, ConvertOptions, ElementFormat, FormatError, Overflow,
};

/// floor(log2(a)) for a positive finite f64 by search over powers of two.
fn ref_floor_log2(a: f64) -> i32 {
    let mut k = 1023;
    while exp2i(k) > a {
        k -= 1;
    }
    k
}

/// ceil(log2(a)) for a positive finite f64 by search over powers of two.
fn ref_ceil_log2(a: f64) -> i32 {
    let k = ref_floor_log2(a);
    if exp2i(k) == a {
        k
    } else {
        k + 1
    }
}

/// `a / b` rounded to odd at 53 bits, by exact integer long division.
pub(super) fn ref_div_round_odd(a: f64, b: f64) -> f64 {
    // a = A × 2^ea, b = B × 2^eb with integer significands.
    fn parts(x: f64) -> (u128, i32) {
        let bits = x.abs().to_bits();
        let e = ((bits >> 52) & 0x7ff) as i32;
        let f = bits & ((1u64 << 52) - 1);
        if e == 0 {
            (f as u128, -1074)
        } else {
            ((f | 1 << 52) as u128, e - 1075)
        }
    }
    if a == 0.0 {
        return a / b; // a signed zero
    }
    let neg = (a < 0.0) != (b < 0.0);
    let (an, ea) = parts(a);
    let (bn, eb) = parts(b);
    // Scale the numerator so the quotient has at least 55 bits.
    let sh = 55 + (128 - bn.leading_zeros()) as i32 - (128 - an.leading_zeros()) as i32;
    let sh = sh.max(0) as u32;
    let num = an << sh;
    let mut q = num / bn;
    let mut sticky = !num.is_multiple_of(bn);
    let len = 128 - q.leading_zeros();
    let drop = len.saturating_sub(53);
    sticky |= q & ((1u128 << drop) - 1) != 0;
    q >>= drop;
    if sticky {
        q |= 1;
    }
    let v = q as f64 * exp2i(ea - eb - sh as i32 + drop as i32);
    if neg {
        -v
    } else {
        v
    }
}

/// The slow, obvious twin of [`quantize`](super::quantize): per-element scalar f64 arithmetic,
/// exponents found by searching powers of two, f32 divisions reproduced as an
/// f64 division rounded to f32 (correct because 53 ≥ 2 × 24 + 2, Figueroa 1995),
/// and the NVFP4 quotient by integer long division. Same output, bit for bit.
pub fn quantize_reference(
    fmt: &BlockFormat,
    opts: &ConvertOptions,
    data: &[f32],
    row_len: usize,
) -> Result<BlockTensor, FormatError> {
    check_format(fmt)?;
    check_shape(fmt, data.len(), row_len)?;
    let eopts = element_options(fmt, opts)?;
    check_nan(fmt, opts, data)?;
    let rows = data.len() / row_len;
    let bs = fmt.block_size;
    let mut codes = vec![0u8; data.len()];
    let mut scales = Vec::new();
    let mut tensor_scale = None;

    // Element max and mantissa width, derived independently of elem_info.
    let (elem_max, elem_m) = match fmt.element {
        ElementFormat::Float(f) => (f.max_value(), f.mbits as i32),
        ElementFormat::Int(i) => {
            let mx = i.max_int() as f64;
            (mx, ref_floor_log2(mx))
        }
    };
    let elem_max = elem_max * exp2i(fmt.element_scale_log2);
    let emax = ref_floor_log2(elem_max);

    let mut ts = 1.0f64;
    if fmt.kind == BlockKind::Nv {
        let amax = data
            .iter()
            .filter(|x| x.is_finite())
            .map(|x| (*x as f64).abs())
            .fold(0.0f64, f64::max);
        let q = (amax / (fmt.scale.max_value() * elem_max)) as f32;
        ts = if q == 0.0 { 1.0 } else { q as f64 };
        tensor_scale = Some(ts as f32);
    }

    for r in 0..rows {
        let mut start = 0;
        while start < row_len {
            let end = (start + bs).min(row_len);
            let idx = |j: usize| r * row_len + j;
            let finite = (start..end).all(|j| data[idx(j)].is_finite());
            let amax = (start..end)
                .map(|j| (data[idx(j)] as f64).abs())
                .fold(0.0f64, |m, v| if v > m { v } else { m });
            match fmt.kind {
                BlockKind::Mx => {
                    let x: Option<i32> = if !finite {
                        None
                    } else if amax == 0.0 {
                        Some(-127)
                    } else {
                        let x = match fmt.rule {
                            crate::formats::ScaleRule::Floor => ref_floor_log2(amax) - emax,
                            crate::formats::ScaleRule::Ceil => ref_ceil_log2(amax) - emax,
                            crate::formats::ScaleRule::Rceil => {
                                let q = (amax / elem_max) as f32 as f64;
                                if q == 0.0 || q.is_infinite() {
                                    if q == 0.0 {
                                        -127
                                    } else {
                                        128
                                    }
                                } else {
                                    ref_ceil_log2(q)
                                }
                            }
                            crate::formats::ScaleRule::Even => {
                                // Half-up at elem_m fraction bits on the grid of amax's
                                // f32 binade (subnormals share the lowest normal binade's grid).
                                let k = ref_floor_log2(amax).max(-126);
                                let ulp = exp2i(k - elem_m.min(23));
                                let rounded = (amax / ulp + 0.5).floor() * ulp;
                                if rounded < exp2i(-126) {
                                    -127 // torchao: exponent field 0 → clamped
                                } else {
                                    ref_floor_log2(rounded) - emax
                                }
                            }
                        };
                        (x <= 127).then_some(x.max(-127))
                    };
                    match x {
                        None => scales.push(0xff),
                        Some(x) => {
                            scales.push((x + 127) as u8);
                            let k = exp2i(-(x + fmt.element_scale_log2));
                            for j in start..end {
                                let v = data[idx(j)] as f64 * k;
                                codes[idx(j)] = fmt.element.encode(v, &eopts, idx(j) as u64)? as u8;
                            }
                        }
                    }
                }
                BlockKind::Nv => {
                    let ElementFormat::Float(elem) = fmt.element else {
                        unreachable!()
                    };
                    if !finite {
                        scales.push(fmt.scale.nan_code(false).expect("checked") as u8);
                    } else {
                        let sb = (((amax / elem_max) as f32 as f64) / ts) as f32;
                        let sat = ConvertOptions {
                            overflow: Some(Overflow::Saturate),
                            ..ConvertOptions::default()
                        };
                        let sc = fmt.scale.encode(sb as f64, &sat, 0)?;
                        scales.push(sc as u8);
                        let d = fmt.scale.decode(sc) * ts;
                        for j in start..end {
                            let v = data[idx(j)] as f64;
                            codes[idx(j)] = if d == 0.0 {
                                if v.is_sign_negative() && elem.has_neg_zero() {
                                    elem.encode(-0.0, &eopts, 0)?
                                } else {
                                    elem.encode(0.0, &eopts, 0)?
                                }
                            } else {
                                elem.encode(ref_div_round_odd(v, d), &eopts, idx(j) as u64)?
                            } as u8;
                        }
                    }
                }
            }
            start = end;
        }
    }
    Ok(BlockTensor {
        format: *fmt,
        row_len,
        codes,
        scales,
        tensor_scale,
    })
}

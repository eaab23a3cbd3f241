//! Per-tensor, per-channel and per-group scaled tensors.
//!
//! A `rows × cols` row-major tensor is split into scale groups by a
//! [`Granularity`]; each group gets one scale and every element one code:
//!
//! - `scale = absmax / element_max`, the quotient rounded once into the scale
//!   format (a [`MiniFloat`]: f32 by default, or bf16, fp16, e8m0, e4m3…) with
//!   the scale rounding mode. The default is `ru` (round up), so
//!   `|v| / scale ≤ element_max` for every element and nothing clips; `rne`
//!   gives a closer scale but the group's largest element may saturate. Scales
//!   saturate at the scale format's max.
//! - `element = round(v / scale)` with the caller's [`ConvertOptions`], the
//!   quotient rounded once (computed rounded-to-odd, see [`div_round_odd`]).
//! - `dequantize`: `value(code) × scale`, exact in f64 and rounded once to f32.
//!
//! Edge cases, all deliberate:
//! - A group whose absmax is 0 gets the scale format's encoding of 0 (the
//!   smallest scale, 2^−127, for E8M0, which has no zero); its finite elements
//!   are stored as ±0 and decode to ±0. The same holds whenever the scale
//!   rounds to 0 (possible only with a downward scale rounding).
//! - NaN and ±inf do not take part in the absmax (one bad value does not wipe out
//!   its group). They are encoded on their own: NaN by the element format's NaN
//!   or `opts.nan` policy, ±inf by `opts.overflow`.
//! - Unsigned integer elements keep `scale = absmax / max_int`; negative
//!   values clamp to 0.
//! - `symmetric` makes a signed integer element symmetric (±(2^(b−1) − 1)),
//!   so the most negative code is never produced.
//! - Stochastic rounding: element `i` (row-major) uses random index `i`; scale
//!   `g` uses index `g` with the seed `opts.seed ^ SCALE_SEED_SALT`.

mod fast_path;

use super::mx::div_round_odd;
use super::{ConvertOptions, ElementFormat, FormatError, IntKind, MiniFloat, Overflow, Rounding};
use crate::isa::{self, IsaLevel};
use rayon::prelude::*;

/// XOR-ed into the seed for stochastic rounding of scales, so that scale and
/// element random streams differ.
pub const SCALE_SEED_SALT: u64 = 0x5ca1_e5ca_1e5c_a1e5;

/// Which axis of a 2-D tensor a per-channel scale runs along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    /// One scale per row.
    Row,
    /// One scale per column.
    Col,
}

/// How elements are grouped under one scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// One scale for the whole tensor.
    PerTensor,
    /// One scale per row or per column.
    PerChannel(Axis),
    /// One scale per `g` consecutive elements of a row (the last group of a
    /// row may be shorter); groups never span rows.
    PerGroup(usize),
}

/// How scales are computed and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleOptions {
    /// Scale format (f32 by default).
    pub format: MiniFloat,
    /// Rounding of `absmax / element_max` into the scale format (`ru` by default).
    pub rounding: Rounding,
    /// Make signed integer elements symmetric.
    pub symmetric: bool,
}

impl Default for ScaleOptions {
    fn default() -> Self {
        ScaleOptions {
            format: super::parse::F32,
            rounding: Rounding::Ru,
            symmetric: false,
        }
    }
}

/// A quantized tensor with scales per tensor, channel or group.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaledTensor {
    /// Element format (after `symmetric` was applied).
    pub element: ElementFormat,
    /// Grouping.
    pub granularity: Granularity,
    /// Scale format.
    pub scale_format: MiniFloat,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Element codes, row-major.
    pub codes: Vec<u32>,
    /// Scale codes, one per group (see [`ScaledTensor::group_of`] for the order).
    pub scales: Vec<u32>,
}

/// Number of scale groups and the group of element (r, c).
fn groups(g: Granularity, rows: usize, cols: usize) -> usize {
    match g {
        Granularity::PerTensor => 1,
        Granularity::PerChannel(Axis::Row) => rows,
        Granularity::PerChannel(Axis::Col) => cols,
        Granularity::PerGroup(n) => rows * cols.div_ceil(n),
    }
}

#[inline]
fn group_of(g: Granularity, cols: usize, r: usize, c: usize) -> usize {
    match g {
        Granularity::PerTensor => 0,
        Granularity::PerChannel(Axis::Row) => r,
        Granularity::PerChannel(Axis::Col) => c,
        Granularity::PerGroup(n) => r * cols.div_ceil(n) + c / n,
    }
}

/// Quantizes a row-major `rows × cols` tensor. See the module docs for the rules.
///
/// Runs at [`isa::effective`]: maxima, element quotients and codes go through
/// the vectorized pipeline of [`crate::formats::fast`] where it is exact for
/// the element format and options (every mode but stochastic rounding, see
/// `fast::quotient`), in parallel for large tensors; otherwise, and to report
/// an error, the scalar [`quantize_reference`] runs. The result equals
/// [`quantize_reference`]'s bit for bit.
///
/// Fails when `rows × cols ≠ data.len()`, the group size is 0, the options do
/// not suit the element format, or a NaN meets `NanPolicy::Error`.
pub fn quantize(
    data: &[f32],
    rows: usize,
    cols: usize,
    element: &ElementFormat,
    granularity: Granularity,
    sopts: &ScaleOptions,
    opts: &ConvertOptions,
) -> Result<ScaledTensor, FormatError> {
    quantize_at(
        isa::effective(),
        data,
        rows,
        cols,
        element,
        granularity,
        sopts,
        opts,
    )
}

/// [`quantize`] at a chosen [`IsaLevel`] (lowered to [`isa::supported`] if the
/// CPU lacks it), for tests and benchmarks.
#[allow(clippy::too_many_arguments)]
pub fn quantize_at(
    level: IsaLevel,
    data: &[f32],
    rows: usize,
    cols: usize,
    element: &ElementFormat,
    granularity: Granularity,
    sopts: &ScaleOptions,
    opts: &ConvertOptions,
) -> Result<ScaledTensor, FormatError> {
    let element = prepare(data, rows, cols, element, granularity, sopts, opts)?;
    let absmax = fast_path::absmax(data, rows, cols, granularity);
    let (scales, sval) = scales_of(&absmax, &element, sopts, opts)?;
    let codes = match fast_path::codes(level, data, cols, granularity, &element, &sval, opts) {
        Some(Ok(codes)) => codes,
        // No fast path for these options, or an error the reference words.
        _ => reference_codes(data, cols, granularity, &element, &sval, opts)?,
    };
    Ok(ScaledTensor {
        element,
        granularity,
        scale_format: sopts.format,
        rows,
        cols,
        codes,
        scales,
    })
}

/// The reference of [`quantize`]: one scalar f64 step per element (maxima,
/// then `element.encode(div_round_odd(v, scale))`), in order.
pub fn quantize_reference(
    data: &[f32],
    rows: usize,
    cols: usize,
    element: &ElementFormat,
    granularity: Granularity,
    sopts: &ScaleOptions,
    opts: &ConvertOptions,
) -> Result<ScaledTensor, FormatError> {
    let element = prepare(data, rows, cols, element, granularity, sopts, opts)?;

    // Pass 1: absmax of the finite values of every group.
    let n = groups(granularity, rows, cols);
    let mut absmax = vec![0f64; n];
    for (i, v) in data.iter().enumerate() {
        if v.is_finite() {
            let g = group_of(granularity, cols, i / cols, i % cols);
            absmax[g] = absmax[g].max(v.abs() as f64);
        }
    }
    let (scales, sval) = scales_of(&absmax, &element, sopts, opts)?;
    let codes = reference_codes(data, cols, granularity, &element, &sval, opts)?;
    Ok(ScaledTensor {
        element,
        granularity,
        scale_format: sopts.format,
        rows,
        cols,
        codes,
        scales,
    })
}

/// Checks the arguments; returns the element format with `symmetric` applied.
fn prepare(
    data: &[f32],
    rows: usize,
    cols: usize,
    element: &ElementFormat,
    granularity: Granularity,
    sopts: &ScaleOptions,
    opts: &ConvertOptions,
) -> Result<ElementFormat, FormatError> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(FormatError::BadOption(format!(
            "a {rows} × {cols} tensor needs {} elements, got {}",
            rows.saturating_mul(cols),
            data.len()
        )));
    }
    if granularity == Granularity::PerGroup(0) {
        return Err(FormatError::BadOption("group size must be > 0".into()));
    }
    let mut element = *element;
    if let ElementFormat::Int(i) = &mut element {
        if let IntKind::Signed { symmetric, .. } = &mut i.kind {
            *symmetric |= sopts.symmetric;
        }
    }
    element.check_options(opts)?;
    Ok(element)
}

/// Groups from which scales are encoded in parallel.
const PAR_SCALES: usize = 4096;

/// Scale codes and values: `absmax / element_max` rounded once into the scale
/// format (scale `g` has stochastic-rounding index `g`).
fn scales_of(
    absmax: &[f64],
    element: &ElementFormat,
    sopts: &ScaleOptions,
    opts: &ConvertOptions,
) -> Result<(Vec<u32>, Vec<f64>), FormatError> {
    let emax = element.max_value();
    let so = ConvertOptions {
        rounding: sopts.rounding,
        overflow: Some(Overflow::Saturate),
        seed: opts.seed ^ SCALE_SEED_SALT,
        ..*opts
    };
    let one = |g: usize, a: f64| -> Result<(u32, f64), FormatError> {
        let q = if a == 0.0 {
            0.0
        } else {
            div_round_odd(a, emax)
        };
        let code = sopts.format.encode(q, &so, g as u64)?;
        Ok((code, sopts.format.decode(code)))
    };
    let pairs: Vec<(u32, f64)> = if absmax.len() >= PAR_SCALES {
        absmax
            .par_iter()
            .enumerate()
            .map(|(g, a)| one(g, *a))
            .collect::<Result<_, _>>()?
    } else {
        absmax
            .iter()
            .enumerate()
            .map(|(g, a)| one(g, *a))
            .collect::<Result<_, _>>()?
    };
    Ok(pairs.into_iter().unzip())
}

/// Pass 2 of the reference: one exact scalar encode per element.
fn reference_codes(
    data: &[f32],
    cols: usize,
    granularity: Granularity,
    element: &ElementFormat,
    sval: &[f64],
    opts: &ConvertOptions,
) -> Result<Vec<u32>, FormatError> {
    let mut codes = Vec::with_capacity(data.len());
    for (i, v) in data.iter().enumerate() {
        let s = sval[group_of(granularity, cols, i / cols, i % cols)];
        let idx = i as u64;
        let code = if !v.is_finite() {
            element.encode_f32(*v, opts, idx)?
        } else if *v == 0.0 || s == 0.0 {
            element.encode(if v.is_sign_negative() { -0.0 } else { 0.0 }, opts, idx)?
        } else {
            element.encode(div_round_odd(*v as f64, s), opts, idx)?
        };
        codes.push(code);
    }
    Ok(codes)
}

impl ScaledTensor {
    /// Number of scale groups.
    pub fn group_count(&self) -> usize {
        groups(self.granularity, self.rows, self.cols)
    }

    /// The scale group of element (`r`, `c`): per tensor 0; per row `r`; per
    /// column `c`; per group `r × ceil(cols / g) + c / g`.
    pub fn group_of(&self, r: usize, c: usize) -> usize {
        group_of(self.granularity, self.cols, r, c)
    }

    /// Decoded scale of every group.
    pub fn scale_values(&self) -> Vec<f64> {
        self.scales
            .iter()
            .map(|c| self.scale_format.decode(*c))
            .collect()
    }

    /// Dequantized values: `value(code) × scale`, exact in f64, rounded once to f32.
    pub fn dequantize(&self) -> Vec<f32> {
        let s = self.scale_values();
        self.codes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (self.element.decode(*c) * s[self.group_of(i / self.cols, i % self.cols)]) as f32
            })
            .collect()
    }

    /// Storage bits: element codes plus scales (no packing overhead).
    pub fn storage_bits(&self) -> u64 {
        self.codes.len() as u64 * self.element.bits() as u64
            + self.scales.len() as u64 * self.scale_format.bits() as u64
    }
}

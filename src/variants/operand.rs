//! How one matmul operand (activations or weights) is quantized, and the
//! quantized form the kernels consume.
//!
//! Rounding is always done by the format layer ([`crate::formats`]); this
//! module only chooses which quantizer to call and lays the result out as
//! kernel inputs: element values (`i8` codes for integer datapaths, exact
//! `f32`/`f64` values for float datapaths), optional *inner* scales (one per
//! row and group of `group` elements along K, applied to each group's partial
//! sum) and optional *outer* scales (one per row, applied once per output).

use crate::formats::scaled::{self, Axis, Granularity, ScaleOptions};
use crate::formats::{
    self, mx, BlockFormat, ConvertOptions, ElementFormat, IntFormat, MiniFloat, Rounding,
};
use crate::tensor::Matrix;
pub use crate::tensor::{QOperand, Values};
use rayon::prelude::*;

/// Where a scale applies along the operand's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleAxis {
    /// One scale for the whole tensor.
    PerTensor,
    /// One scale per row (per token for activations, per output channel for weights).
    PerRow,
    /// One scale per `g` consecutive elements along K (inner scales).
    Group(usize),
}

/// A quantizer for one operand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OperandSpec {
    /// Exact: the f32 values widened to f64 (the reference).
    F64,
    /// The f32 values as they are.
    F32,
    /// Every element rounded (RNE) to a minifloat with no scale (bf16, fp16),
    /// via [`formats::fast::encode_f32`].
    Cast(MiniFloat),
    /// Absmax scaling via [`scaled::quantize`]: `scale = absmax / element_max`
    /// rounded RNE to f32, elements `round_rne(x / scale)`, signed integers
    /// symmetric.
    AbsMax {
        /// Element format.
        element: ElementFormat,
        /// Scale granularity.
        axis: ScaleAxis,
    },
    /// Absmean scaling (BitNet b1.58 ternary, XNOR-Net binary):
    /// `scale = mean|x|` (compensated f64 sum, the mean rounded once to f32),
    /// elements `element.encode(x / scale)` (RNE on the exact quotient, then
    /// clamped to the integer set; binary takes the sign, 0 → +1).
    AbsMean {
        /// Integer element format (ternary or binary).
        element: IntFormat,
        /// [`ScaleAxis::PerTensor`] or [`ScaleAxis::PerRow`].
        axis: ScaleAxis,
    },
    /// MX / NVFP4 block quantization along K via [`mx::quantize`] (RNE elements).
    Block(BlockFormat),
}

/// Element conversion options: RNE, saturation by format default, NaN → −0/0.
fn opts() -> ConvertOptions {
    ConvertOptions::with_rounding(Rounding::Rne)
}

impl OperandSpec {
    /// Whether the kernel gets integer codes from this quantizer.
    pub fn is_int(&self) -> bool {
        matches!(
            self,
            OperandSpec::AbsMax {
                element: ElementFormat::Int(_),
                ..
            } | OperandSpec::AbsMean { .. }
        )
    }

    /// Storage bits of one element, without scales.
    pub fn element_bits(&self) -> u32 {
        match self {
            OperandSpec::F64 => 64,
            OperandSpec::F32 => 32,
            OperandSpec::Cast(f) => f.bits(),
            OperandSpec::AbsMax { element, .. } => element.bits(),
            OperandSpec::AbsMean { element, .. } => element.bits(),
            OperandSpec::Block(b) => b.element.bits(),
        }
    }

    /// Storage bits per element including amortized scales, for rows of `k`.
    /// A per-tensor scale is one value for the whole tensor and is not
    /// counted (it is below `32 / k` bits per element and the row count is
    /// not known here); an NVFP4 tensor scale likewise.
    pub fn bits_per_element(&self, k: usize) -> f64 {
        let k = k.max(1);
        let e = self.element_bits() as f64;
        let scale_bits = |axis: &ScaleAxis, bits: f64| match axis {
            ScaleAxis::PerTensor => 0.0,
            ScaleAxis::PerRow => bits / k as f64,
            ScaleAxis::Group(g) => bits * k.div_ceil(*g) as f64 / k as f64,
        };
        match self {
            OperandSpec::AbsMax { axis, .. } | OperandSpec::AbsMean { axis, .. } => {
                e + scale_bits(axis, 32.0)
            }
            OperandSpec::Block(b) => {
                e + scale_bits(&ScaleAxis::Group(b.block_size), b.scale.bits() as f64)
            }
            _ => e,
        }
    }

    /// Group length of inner scales (0 = none).
    pub fn inner_group(&self) -> usize {
        match self {
            OperandSpec::AbsMax {
                axis: ScaleAxis::Group(g),
                ..
            } => *g,
            OperandSpec::Block(b) => b.block_size,
            _ => 0,
        }
    }

    /// Whether the operand has an outer (per-row or per-tensor) scale.
    pub fn has_outer(&self) -> bool {
        match self {
            OperandSpec::AbsMax { axis, .. } => !matches!(axis, ScaleAxis::Group(_)),
            OperandSpec::AbsMean { .. } => true,
            OperandSpec::Block(b) => b.kind == formats::BlockKind::Nv,
            _ => false,
        }
    }

    /// The inner scale format (E8M0, E4M3 or f32), if there are inner scales.
    pub fn inner_scale_format(&self) -> Option<MiniFloat> {
        match self {
            OperandSpec::AbsMax {
                axis: ScaleAxis::Group(_),
                ..
            } => Some(formats::parse::F32),
            OperandSpec::Block(b) => Some(b.scale),
            _ => None,
        }
    }

    /// Human-readable format with its scaling, e.g. `int4 g128 (f32 scale)`.
    pub fn describe(&self, what_row: &str) -> String {
        let axis = |a: &ScaleAxis| match a {
            ScaleAxis::PerTensor => "per-tensor".to_string(),
            ScaleAxis::PerRow => format!("per-{what_row}"),
            ScaleAxis::Group(g) => format!("g{g}"),
        };
        match self {
            OperandSpec::F64 => "f64".into(),
            OperandSpec::F32 => "f32".into(),
            OperandSpec::Cast(f) => format!("{f}"),
            OperandSpec::AbsMax { element, axis: a } => {
                format!("{} {} absmax (f32 scale)", format_name(element), axis(a))
            }
            OperandSpec::AbsMean { element, axis: a } => {
                format!("{element} {} absmean (f32 scale)", axis(a))
            }
            OperandSpec::Block(b) => match b.kind {
                formats::BlockKind::Mx => {
                    format!("{b} ({} g{}, e8m0 scale)", b.element, b.block_size)
                }
                formats::BlockKind::Nv => {
                    format!(
                        "{b} ({} g{}, e4m3 scale, f32 tensor scale)",
                        b.element, b.block_size
                    )
                }
            },
        }
    }

    /// The element format, `None` for the f64/f32 references.
    pub fn element(&self) -> Option<ElementFormat> {
        match self {
            OperandSpec::F64 | OperandSpec::F32 => None,
            OperandSpec::Cast(f) => Some(ElementFormat::Float(*f)),
            OperandSpec::AbsMax { element, .. } => Some(*element),
            OperandSpec::AbsMean { element, .. } => Some(ElementFormat::Int(*element)),
            OperandSpec::Block(b) => Some(b.element),
        }
    }

    /// Whether rows quantize independently of each other (no per-tensor
    /// statistic), so that row chunks can be quantized in parallel with the
    /// same result. Every quantizer here rounds RNE, so element indices (used
    /// only by stochastic rounding) do not matter either.
    fn rows_independent(&self) -> bool {
        match self {
            OperandSpec::AbsMax { axis, .. } | OperandSpec::AbsMean { axis, .. } => {
                *axis != ScaleAxis::PerTensor
            }
            OperandSpec::Block(b) => b.kind == formats::BlockKind::Mx,
            _ => true,
        }
    }

    /// Quantizes a `rows × k` matrix for a kernel whose datapath is integer
    /// (`int_datapath`) or float. Row-separable quantizers run on chunks of
    /// [`QUANT_ROWS`] rows in parallel (bit-identical to one sequential call).
    ///
    /// # Panics
    /// Never on data: the options are fixed and valid, and NaN inputs map to
    /// 0 (integers) or the format's NaN policy (floats).
    pub fn quantize(&self, m: &Matrix, int_datapath: bool) -> QOperand {
        if m.rows <= QUANT_ROWS || m.cols == 0 || !self.rows_independent() {
            return self.quantize_seq(m, int_datapath);
        }
        let parts: Vec<QOperand> = m
            .data
            .par_chunks(QUANT_ROWS * m.cols)
            .map(|c| {
                self.quantize_seq(
                    &Matrix::new(c.len() / m.cols, m.cols, c.to_vec()),
                    int_datapath,
                )
            })
            .collect();
        concat(parts)
    }

    /// [`OperandSpec::quantize`] in one call on the whole matrix.
    pub fn quantize_seq(&self, m: &Matrix, int_datapath: bool) -> QOperand {
        let (rows, k) = (m.rows, m.cols);
        let mut q = QOperand {
            rows,
            k,
            values: Values::F32(vec![]),
            group: 0,
            inner: None,
            outer: None,
        };
        match self {
            OperandSpec::F64 => q.values = Values::F64(m.data.iter().map(|&x| x as f64).collect()),
            OperandSpec::F32 => q.values = Values::F32(m.data.clone()),
            OperandSpec::Cast(f) => q.values = Values::F32(cast(f, &m.data)),
            OperandSpec::AbsMax { element, axis } => {
                let gran = match axis {
                    ScaleAxis::PerTensor => Granularity::PerTensor,
                    ScaleAxis::PerRow => Granularity::PerChannel(Axis::Row),
                    ScaleAxis::Group(g) => Granularity::PerGroup(*g),
                };
                let sopts = ScaleOptions {
                    format: formats::parse::F32,
                    rounding: Rounding::Rne,
                    symmetric: true,
                };
                let t = scaled::quantize(&m.data, rows, k, element, gran, &sopts, &opts())
                    .expect("absmax quantization: fixed valid options, shape from the matrix");
                let s: Vec<f32> = t.scale_values().iter().map(|&v| v as f32).collect();
                q.values = element_values(&t.element, &t.codes, 0, int_datapath);
                match axis {
                    ScaleAxis::PerTensor => q.outer = Some(vec![s[0]; rows]),
                    ScaleAxis::PerRow => q.outer = Some(s),
                    ScaleAxis::Group(g) => {
                        q.group = *g;
                        q.inner = Some(s);
                    }
                }
            }
            OperandSpec::AbsMean { element, axis } => {
                let (codes, scales) = absmean(element, m, *axis);
                let ef = ElementFormat::Int(*element);
                q.values = element_values(&ef, &codes, 0, int_datapath);
                q.outer = Some(scales);
            }
            OperandSpec::Block(b) if k == 0 => {
                // Nothing to block (mx::quantize rejects empty rows).
                q.values = Values::F32(vec![]);
                q.group = b.block_size;
                q.inner = Some(vec![]);
                if b.kind == formats::BlockKind::Nv {
                    q.outer = Some(vec![1.0; rows]);
                }
            }
            OperandSpec::Block(b) => {
                let t = mx::quantize(b, &opts(), &m.data, k)
                    .expect("block quantization: fixed valid options, rows of k");
                let codes: Vec<u32> = t.codes.iter().map(|&c| c as u32).collect();
                q.values = element_values(&b.element, &codes, b.element_scale_log2, int_datapath);
                q.group = b.block_size;
                q.inner = Some(
                    t.scales
                        .iter()
                        .map(|&c| mx::scale_value(b, c).map_or(f32::NAN, |v| v as f32))
                        .collect(),
                );
                if let Some(ts) = t.tensor_scale {
                    q.outer = Some(vec![ts; rows]);
                }
            }
        }
        q
    }

    /// The operand after quantization and dequantization, as f32:
    /// `value × inner scale × outer scale`, exact in f64, rounded once.
    pub fn dequantize(&self, m: &Matrix) -> Matrix {
        let q = self.quantize(m, false);
        let (rows, k) = (q.rows, q.k);
        let mut out = Vec::with_capacity(rows * k);
        for r in 0..rows {
            for c in 0..k {
                let i = r * k + c;
                let mut v = match &q.values {
                    Values::Int(v) => v[i] as f64,
                    Values::F32(v) => v[i] as f64,
                    Values::F64(v) => v[i],
                };
                if let Some(s) = &q.inner {
                    v *= s[r * k.div_ceil(q.group) + c / q.group] as f64;
                }
                if let Some(s) = &q.outer {
                    v *= s[r] as f64;
                }
                out.push(v as f32);
            }
        }
        Matrix::new(rows, k, out)
    }
}

/// Rows per parallel quantization chunk.
pub const QUANT_ROWS: usize = 16;

/// Joins row chunks quantized separately (same spec): values and scales are
/// row-major, so concatenation in chunk order is the whole tensor's layout.
fn concat(parts: Vec<QOperand>) -> QOperand {
    let mut it = parts.into_iter();
    let mut q = it.next().expect("at least one chunk");
    for p in it {
        q.rows += p.rows;
        match (&mut q.values, p.values) {
            (Values::Int(a), Values::Int(b)) => a.extend(b),
            (Values::F32(a), Values::F32(b)) => a.extend(b),
            (Values::F64(a), Values::F64(b)) => a.extend(b),
            _ => unreachable!("chunks of one spec have one value kind"),
        }
        if let (Some(a), Some(b)) = (&mut q.inner, p.inner) {
            a.extend(b);
        }
        if let (Some(a), Some(b)) = (&mut q.outer, p.outer) {
            a.extend(b);
        }
    }
    q
}

/// RNE cast of every element through the fast converter, back to exact f32.
fn cast(f: &MiniFloat, data: &[f32]) -> Vec<f32> {
    let mut codes = vec![0u16; data.len()];
    formats::fast::encode_f32(f, &opts(), data, 0, 0, &mut codes)
        .expect("RNE cast with default options cannot fail");
    let mut out = vec![0f32; data.len()];
    formats::fast::decode_f32(f, &codes, &mut out);
    out
}

/// Element codes to kernel values; `scale_log2` is the element's implicit
/// scale (MXINT8: −6), folded into float values (exact: a power of two).
fn element_values(e: &ElementFormat, codes: &[u32], scale_log2: i32, int_datapath: bool) -> Values {
    match e {
        ElementFormat::Int(i) if int_datapath && scale_log2 == 0 => {
            Values::Int(codes.iter().map(|&c| i.decode_int(c) as i8).collect())
        }
        _ => {
            let k = formats::exp2i(scale_log2) as f32;
            let value = |c: u32| e.decode_f32(c) * k;
            if e.bits() > 8 {
                return Values::F32(codes.iter().map(|&c| value(c)).collect());
            }
            // Codes of ≤ 8 bits: the same values read from a table of
            // every code (one decode per code, not per element).
            let table: Vec<f32> = (0..1u32 << e.bits()).map(value).collect();
            Values::F32(
                codes
                    .iter()
                    .map(|&c| table.get(c as usize).map_or_else(|| value(c), |&v| v))
                    .collect(),
            )
        }
    }
}

/// Absmean quantization: per tensor or per row, `scale = mean|x|` (f32),
/// codes `element.encode(x / scale)` with the quotient rounded to odd so the
/// final rounding is a single rounding of the exact quotient.
fn absmean(element: &IntFormat, m: &Matrix, axis: ScaleAxis) -> (Vec<u32>, Vec<f32>) {
    let o = opts();
    let mean = |xs: &[f32]| -> f32 {
        if xs.is_empty() {
            return 0.0;
        }
        (crate::tensor::sum(xs.iter().map(|x| x.abs() as f64)) / xs.len() as f64) as f32
    };
    let row_scales: Vec<f32> = match axis {
        ScaleAxis::PerRow => (0..m.rows).map(|r| mean(m.row(r))).collect(),
        _ => vec![mean(&m.data); m.rows],
    };
    let mut codes = Vec::with_capacity(m.data.len());
    for (r, &s) in row_scales.iter().enumerate() {
        let s = s as f64;
        for (c, &x) in m.row(r).iter().enumerate() {
            let x = x as f64;
            let q = if x == 0.0 || s == 0.0 || !s.is_finite() || !x.is_finite() {
                x
            } else {
                mx::div_round_odd(x, s)
            };
            let code = element
                .encode(q, &o, (r * m.cols + c) as u64)
                .expect("integer encode with NaN → 0 cannot fail");
            codes.push(code);
        }
    }
    (codes, row_scales)
}

/// The name of an element format in the format grammar, as the report shows
/// it: symmetric signed integers by their width only (`int4`), since their
/// non-negative values are those of `int4`.
pub fn format_name(e: &ElementFormat) -> String {
    match e {
        ElementFormat::Int(i) => match i.kind {
            formats::IntKind::Signed { bits, .. } => format!("int{bits}"),
            _ => i.to_string(),
        },
        ElementFormat::Float(f) => f.to_string(),
    }
}

/// A symmetric absmax quantizer to `bits`-bit signed integers.
pub fn int_absmax(bits: u32, axis: ScaleAxis) -> OperandSpec {
    OperandSpec::AbsMax {
        element: ElementFormat::Int(IntFormat {
            kind: formats::IntKind::Signed {
                bits,
                symmetric: true,
            },
        }),
        axis,
    }
}

//! The explorer's quantizer: one configuration over a `rows × cols` tensor,
//! returning the squared error (and the dequantized rows it is asked for),
//! through the vectorised conversion path.
//!
//! Per chunk of whole rows (about 64 Ki elements, chunks in parallel):
//! group maxima by [`fast::block_amax_bits`]; one scale per group; every
//! element's quotient `x / scale` computed in f64 and rounded *to odd* into
//! f32; then the chunk's codes in one [`fast::encode_f32`] call and its
//! values in one [`fast::decode_f32`] call (minifloats), or a
//! round-half-even and clamp (integers); dequantized as `value × scale`,
//! exact in f64, rounded once to f32 — what the named presets
//! (`formats::mx`, `formats::scaled`) dequantize to.
//!
//! Why the f32 quotient is exact enough: the exact quotient of two f32
//! values rounded to nearest in f64 and then to odd at 24 bits equals the
//! exact quotient rounded to odd at 24 bits (no 24-bit number lies within
//! 2^−53 of a quotient of 24-bit numbers that it is not equal to), and
//! rounding a value rounded to odd at p + 2 or more bits to p bits equals
//! rounding the exact value (Boldo & Melquiond 2005). Elements have at most
//! 8 bits, so the codes equal the presets' codes, which round the exact
//! quotient (the tests compare them). Quotients below 2^−126 lose the odd
//! bit, but round to zero in every element the explorer takes.
//!
//! NVFP4-style two-level scales (`nv`) go through [`mx::quantize`] whole.
//! [`quantize_reference`] is the slow twin: the presets' scalar paths.

use rayon::prelude::*;

use crate::isa;

use super::config::{Block, Config, Element, Rule};
use crate::formats::mx::{self, div_round_odd, MxScaler};
use crate::formats::{
    fast, scaled, BlockFormat, BlockKind, ConvertOptions, MiniFloat, Overflow, Rounding, ScaleRule,
};

/// Elements per parallel chunk (whole rows, at least one).
const CHUNK: usize = 1 << 16;

/// The candidate factors on amax of the `mse` rule for non-power-of-two scales.
const MSE_FACTORS: [f64; 5] = [1.0, 15.0 / 16.0, 7.0 / 8.0, 13.0 / 16.0, 3.0 / 4.0];

/// Squared error of a quantized tensor, and the signal it is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Errors {
    /// Σ (x − q(x))², in f64.
    pub sse: f64,
    /// Σ x², in f64.
    pub ssx: f64,
}

impl Errors {
    fn add(self, o: Errors) -> Errors {
        Errors {
            sse: self.sse + o.sse,
            ssx: self.ssx + o.ssx,
        }
    }

    /// Signal-to-quantization-noise ratio, dB (+inf when exact).
    pub fn sqnr_db(&self) -> f64 {
        if self.sse == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (self.ssx / self.sse).log10()
        }
    }

    /// ‖x − q(x)‖ / ‖x‖.
    pub fn rel_error(&self) -> f64 {
        if self.ssx == 0.0 {
            if self.sse == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            (self.sse / self.ssx).sqrt()
        }
    }
}

/// A configuration prepared for quantizing.
struct Prepared {
    cfg: Config,
    /// Element conversion: round to nearest even, saturating.
    opts: ConvertOptions,
    /// The OCP MX rule of a power-of-two scale (and the floor rule, for `mse`).
    pow2: Option<MxScaler>,
}

fn element_opts() -> ConvertOptions {
    ConvertOptions {
        rounding: Rounding::Rne,
        overflow: Some(Overflow::Saturate),
        ..ConvertOptions::default()
    }
}

impl Prepared {
    fn new(cfg: &Config) -> Prepared {
        let pow2 = match (cfg.rule, cfg.element.as_format()) {
            (Rule::Pow2(r), Some(e)) => Some(MxScaler::new(&mx_format(cfg, e, r))),
            (Rule::Mse, Some(e)) if super::config::is_pow2_scale(&cfg.scale) => {
                Some(MxScaler::new(&mx_format(cfg, e, ScaleRule::Floor)))
            }
            _ => None,
        };
        Prepared {
            cfg: *cfg,
            opts: element_opts(),
            pow2,
        }
    }
}

/// The block format a configuration is (blocks of `n`; the rule's scale).
fn mx_format(cfg: &Config, element: crate::formats::ElementFormat, rule: ScaleRule) -> BlockFormat {
    BlockFormat {
        name: "explore",
        kind: if cfg.rule == Rule::Nv {
            BlockKind::Nv
        } else {
            BlockKind::Mx
        },
        element,
        element_scale_log2: 0,
        block_size: match cfg.block {
            Block::Size(n) => n,
            _ => usize::MAX,
        },
        scale: cfg.scale,
        rule,
    }
}

/// Group length along a row.
fn group_len(block: Block, cols: usize) -> usize {
    match block {
        Block::Size(n) => n.min(cols.max(1)),
        Block::Channel | Block::Tensor => cols.max(1),
    }
}

/// What a group's scale may be: the scale value, or (asymmetric) step and offset.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    step: f64,
    offset: f64,
}

/// Quantizes `data` (`rows × cols`, row-major) with `cfg`; returns the
/// squared errors and the dequantized values of the first `keep_rows` rows.
pub fn quantize(
    cfg: &Config,
    data: &[f32],
    rows: usize,
    cols: usize,
    keep_rows: usize,
) -> Result<(Errors, Vec<f32>), String> {
    assert_eq!(data.len(), rows * cols, "explore::quantize: shape");
    let keep = keep_rows.min(rows) * cols;
    if cfg.rule == Rule::Nv {
        let deq = nv_dequantize(cfg, data, cols)?;
        let e = errors(data, &deq);
        return Ok((e, deq[..keep].to_vec()));
    }
    let p = Prepared::new(cfg);
    // Per-tensor scales come from the whole tensor; every other group lies
    // within a row, so chunks of whole rows are independent.
    let tensor_candidates: Vec<Scale> = if cfg.block == Block::Tensor {
        tensor_scales(&p, data)?
    } else {
        Vec::new()
    };
    let run = |fixed: Option<Scale>, keep: usize| -> Result<(Errors, Vec<f32>), String> {
        let rows_per = (CHUNK / cols.max(1)).max(1);
        let chunk = rows_per * cols;
        let parts: Vec<Result<(Errors, Vec<f32>), String>> = data
            .par_chunks(chunk.max(1))
            .enumerate()
            .map(|(k, src)| {
                let mut deq = vec![0f32; src.len()];
                let e = quantize_rows(&p, src, cols, fixed, &mut deq)?;
                let start = k * chunk;
                let kept = if start < keep {
                    deq[..(keep - start).min(src.len())].to_vec()
                } else {
                    Vec::new()
                };
                Ok((e, kept))
            })
            .collect();
        let mut total = Errors::default();
        let mut kept = Vec::with_capacity(keep);
        for part in parts {
            let (e, k) = part?;
            total = total.add(e);
            kept.extend(k);
        }
        Ok((total, kept))
    };
    if cfg.block == Block::Tensor {
        // The whole tensor is one group: try each candidate on all of it.
        let mut best: Option<(Errors, Vec<f32>)> = None;
        for s in tensor_candidates {
            let r = run(Some(s), keep)?;
            if best.as_ref().is_none_or(|b| r.0.sse < b.0.sse) {
                best = Some(r);
            }
        }
        return best.ok_or_else(|| "no scale candidate".to_string());
    }
    run(None, keep)
}

/// Σ (x − d)² and Σ x² over a tensor, each summed in 8 interleaved lanes
/// (element i into lane i mod 8; the lanes then added pairwise,
/// ((0+1)+(2+3))+((4+5)+(6+7))): independent chains, so the loop vectorises
/// instead of waiting on one add's latency per element. The order is fixed,
/// so the sums do not depend on the CPU.
#[inline(always)]
fn errors(x: &[f32], d: &[f32]) -> Errors {
    const L: usize = 8;
    let (mut se, mut sx) = ([0f64; L], [0f64; L]);
    let (xc, dc) = (x.chunks_exact(L), d.chunks_exact(L));
    let (xt, dt) = (xc.remainder(), dc.remainder());
    for (a, b) in xc.zip(dc) {
        for l in 0..L {
            let (a, b) = (a[l] as f64, b[l] as f64);
            se[l] += (a - b) * (a - b);
            sx[l] += a * a;
        }
    }
    for (l, (a, b)) in xt.iter().zip(dt).enumerate() {
        let (a, b) = (*a as f64, *b as f64);
        se[l] += (a - b) * (a - b);
        sx[l] += a * a;
    }
    let tree = |v: [f64; L]| ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
    Errors {
        sse: tree(se),
        ssx: tree(sx),
    }
}

/// NVFP4-style configurations, through the preset path whole.
fn nv_dequantize(cfg: &Config, data: &[f32], cols: usize) -> Result<Vec<f32>, String> {
    let e = cfg
        .element
        .as_format()
        .ok_or("nv needs a minifloat element")?;
    let mut f = mx_format(cfg, e, ScaleRule::Floor);
    f.block_size = group_len(cfg.block, cols);
    mx::quantize(&f, &element_opts(), data, cols.max(1))
        .map(|t| t.dequantize())
        .map_err(|e| e.to_string())
}

/// The candidate scales of a per-tensor configuration.
fn tensor_scales(p: &Prepared, data: &[f32]) -> Result<Vec<Scale>, String> {
    if let Element::Asym { .. } = p.cfg.element {
        let (lo, hi) = data.par_chunks(CHUNK).map(min_max).reduce(
            || (f32::INFINITY, f32::NEG_INFINITY),
            |a, b| (a.0.min(b.0), a.1.max(b.1)),
        );
        return Ok(vec![asym_scale(&p.cfg, lo, hi)?]);
    }
    let amax = data
        .par_chunks(CHUNK)
        .map(|c| c.iter().map(|x| x.abs().to_bits()).max().unwrap_or(0))
        .max()
        .unwrap_or(0);
    candidates(p, amax)
}

fn min_max(c: &[f32]) -> (f32, f32) {
    c.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        })
}

/// The scale candidates of a group with amax bits `amax` (one unless `mse`).
fn candidates(p: &Prepared, amax: u32) -> Result<Vec<Scale>, String> {
    let one = |step: f64| Scale { step, offset: 0.0 };
    match (p.cfg.rule, p.pow2) {
        (Rule::Pow2(_), Some(s)) => Ok(vec![one(pow2_value(s.code(amax))?)]),
        (Rule::Mse, Some(s)) => {
            let x = s.code(amax);
            let mut v = vec![one(pow2_value(x)?)];
            for c in [x.checked_sub(1), x.checked_add(1).filter(|c| *c < 0xff)]
                .into_iter()
                .flatten()
            {
                if amax != 0 {
                    v.push(one(pow2_value(c)?));
                }
            }
            Ok(v)
        }
        (Rule::Absmax, _) => Ok(vec![one(absmax_scale(&p.cfg, amax, 1.0)?)]),
        (Rule::Mse, None) => {
            let mut v: Vec<Scale> = Vec::new();
            for f in MSE_FACTORS {
                let s = one(absmax_scale(&p.cfg, amax, f)?);
                if !v.contains(&s) {
                    v.push(s);
                }
            }
            Ok(v)
        }
        _ => Err(format!("rule {} does not apply here", p.cfg.rule.name())),
    }
}

/// 2^(code − 127) for an E8M0 code; a NaN scale (an element so small its
/// block needs 2^128) is an error.
fn pow2_value(code: u8) -> Result<f64, String> {
    if code == 0xff {
        return Err("a block needs a scale above 2^127 (NaN scale)".into());
    }
    Ok(crate::formats::exp2i(code as i32 - 127))
}

fn scale_opts(rounding: Rounding) -> ConvertOptions {
    ConvertOptions {
        rounding,
        overflow: Some(Overflow::Saturate),
        seed: ConvertOptions::default().seed ^ scaled::SCALE_SEED_SALT,
        ..ConvertOptions::default()
    }
}

/// `amax × factor / element max` rounded up into the scale format (as
/// `formats::scaled` does for factor 1), decoded.
fn absmax_scale(cfg: &Config, amax_bits: u32, factor: f64) -> Result<f64, String> {
    let a = f32::from_bits(amax_bits) as f64 * factor;
    let q = if a == 0.0 {
        0.0
    } else {
        div_round_odd(a, cfg.element.max_value())
    };
    encode_decode(&cfg.scale, q, Rounding::Ru)
}

fn encode_decode(f: &MiniFloat, v: f64, rounding: Rounding) -> Result<f64, String> {
    let c = f
        .encode(v, &scale_opts(rounding), 0)
        .map_err(|e| e.to_string())?;
    Ok(f.decode(c))
}

/// Asymmetric step and offset of a group spanning `[lo, hi]`: the offset is
/// `lo` rounded down, the step `(hi − offset) / (2^N − 1)` rounded up, both
/// into the scale format, so no code clips.
fn asym_scale(cfg: &Config, lo: f32, hi: f32) -> Result<Scale, String> {
    let lo = (lo as f64).min(0.0);
    let hi = (hi as f64).max(0.0);
    let offset = encode_decode(&cfg.scale, lo, Rounding::Rd)?;
    let span = hi - offset;
    let q = if span == 0.0 {
        0.0
    } else {
        div_round_odd(span, cfg.element.max_value())
    };
    Ok(Scale {
        step: encode_decode(&cfg.scale, q, Rounding::Ru)?,
        offset,
    })
}

/// `q` rounded to odd at f32 precision (see the module docs).
#[inline(always)]
fn to_odd_f32(q: f64) -> f32 {
    let f = q as f32;
    let back = f as f64;
    let b = f.to_bits();
    // Inexact with an even last bit: move one step towards q (sign-magnitude
    // bits: +1 is away from zero). Written as selects, not branches, so the
    // loops around it vectorise (the last bit is a coin flip for a branch).
    let fix = back != q && b & 1 == 0;
    let step = if back.abs() < q.abs() { 1 } else { u32::MAX };
    f32::from_bits(if fix { b.wrapping_add(step) } else { b })
}

/// Quantizes whole rows (`src`, rows of `cols`); `fixed` is the tensor's
/// scale for per-tensor configurations. Writes the dequantized values into
/// `deq` and returns the errors.
///
/// The same code compiled twice: for the baseline target and, where the CPU
/// has it, for AVX2, so the element loops vectorise 4–8 wide and rounding
/// is one instruction instead of a library call. Only IEEE operations the
/// two builds perform alike (no fused multiply-add), so the bits agree.
fn quantize_rows(
    p: &Prepared,
    src: &[f32],
    cols: usize,
    fixed: Option<Scale>,
    deq: &mut [f32],
) -> Result<Errors, String> {
    isa::dispatch!(isa::effective(),
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { quantize_rows_avx2(p, src, cols, fixed, deq) },
        scalar => quantize_rows_body(p, src, cols, fixed, deq),
    )
}

/// [`quantize_rows_body`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quantize_rows_avx2(
    p: &Prepared,
    src: &[f32],
    cols: usize,
    fixed: Option<Scale>,
    deq: &mut [f32],
) -> Result<Errors, String> {
    quantize_rows_body(p, src, cols, fixed, deq)
}

#[inline(always)]
fn quantize_rows_body(
    p: &Prepared,
    src: &[f32],
    cols: usize,
    fixed: Option<Scale>,
    deq: &mut [f32],
) -> Result<Errors, String> {
    let g = group_len(p.cfg.block, cols);
    // Group ranges within the chunk: per row, blocks of g (the last may be short).
    let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(src.len() / g + 1);
    for r in (0..src.len()).step_by(cols.max(1)) {
        let mut s = r;
        while s < r + cols {
            let e = (s + g).min(r + cols);
            ranges.push((s, e));
            s = e;
        }
    }
    // Candidates per group.
    let cands: Vec<Vec<Scale>> = match fixed {
        Some(s) => vec![vec![s]; ranges.len()],
        None => {
            if let Element::Asym { .. } = p.cfg.element {
                ranges
                    .iter()
                    .map(|&(a, b)| {
                        let (lo, hi) = min_max(&src[a..b]);
                        asym_scale(&p.cfg, lo, hi).map(|s| vec![s])
                    })
                    .collect::<Result<_, _>>()?
            } else {
                let mut amax = vec![0u32; ranges.len()];
                if cols.is_multiple_of(g) {
                    fast::block_amax_bits(src, g, &mut amax);
                } else {
                    for (m, &(a, b)) in amax.iter_mut().zip(&ranges) {
                        *m = src[a..b]
                            .iter()
                            .map(|x| x.abs().to_bits())
                            .max()
                            .unwrap_or(0);
                    }
                }
                amax.iter()
                    .map(|a| candidates(p, *a))
                    .collect::<Result<_, _>>()?
            }
        }
    };
    let rounds = cands.iter().map(Vec::len).max().unwrap_or(0);
    let mut best_sse = vec![f64::INFINITY; ranges.len()];
    let mut trial = vec![0f32; src.len()];
    let mut q = vec![0f32; src.len()];
    let mut codes = vec![0u8; src.len()];
    for round in 0..rounds {
        let pick = |i: usize| cands[i][round.min(cands[i].len() - 1)];
        apply(p, src, &ranges, &pick, &mut q, &mut codes, &mut trial)?;
        for (i, &(a, b)) in ranges.iter().enumerate() {
            if round > 0 && round >= cands[i].len() {
                continue;
            }
            let sse = errors(&src[a..b], &trial[a..b]).sse;
            // Strictly better only: ties keep the earlier (rule's own) candidate.
            if sse < best_sse[i] {
                best_sse[i] = sse;
                deq[a..b].copy_from_slice(&trial[a..b]);
            }
        }
    }
    // From the chosen values in element order (the per-group sums added
    // in another order could differ in the last bit).
    Ok(errors(src, deq))
}

/// Quantizes and dequantizes every group with the scale `pick(group)`.
#[inline(always)]
fn apply(
    p: &Prepared,
    src: &[f32],
    ranges: &[(usize, usize)],
    pick: &dyn Fn(usize) -> Scale,
    q: &mut [f32],
    codes: &mut [u8],
    out: &mut [f32],
) -> Result<(), String> {
    match p.cfg.element {
        Element::Float(f) => {
            for (i, &(a, b)) in ranges.iter().enumerate() {
                let s = pick(i).step;
                let (x, d) = (&src[a..b], &mut q[a..b]);
                if s == 0.0 {
                    for (x, d) in x.iter().zip(d) {
                        *d = 0f32.copysign(*x);
                    }
                } else {
                    // ±0 / s is ±0 already: no branch in the loop.
                    for (x, d) in x.iter().zip(d) {
                        *d = to_odd_f32(*x as f64 / s);
                    }
                }
            }
            fast::encode_f32(&f, &p.opts, q, 0, 0, codes).map_err(|e| e.to_string())?;
            fast::decode_f32(&f, codes, q);
            for (i, &(a, b)) in ranges.iter().enumerate() {
                let s = pick(i).step;
                for (v, o) in q[a..b].iter().zip(&mut out[a..b]) {
                    *o = (*v as f64 * s) as f32;
                }
            }
        }
        Element::Int { bits, symmetric } => {
            let hi = ((1i32 << (bits - 1)) - 1) as f32;
            let lo = if symmetric { -hi } else { -hi - 1.0 };
            for (i, &(a, b)) in ranges.iter().enumerate() {
                let s = pick(i).step;
                for (x, o) in src[a..b].iter().zip(&mut out[a..b]) {
                    let v = if s == 0.0 {
                        0.0
                    } else {
                        // + 0.0: integer code 0 is +0, whatever the sign rounded to it.
                        to_odd_f32(*x as f64 / s).round_ties_even().clamp(lo, hi) + 0.0
                    };
                    *o = (v as f64 * s) as f32;
                }
            }
        }
        Element::Asym { bits } => {
            let top = ((1u32 << bits) - 1) as f64;
            for (i, &(a, b)) in ranges.iter().enumerate() {
                let Scale { step, offset } = pick(i);
                for (x, o) in src[a..b].iter().zip(&mut out[a..b]) {
                    let c = if step == 0.0 {
                        0.0
                    } else {
                        ((*x as f64 - offset) / step)
                            .round_ties_even()
                            .clamp(0.0, top)
                    };
                    *o = (c * step + offset) as f32;
                }
            }
        }
    }
    Ok(())
}

/// The slow twin of [`quantize`] for the rules the presets implement: the
/// dequantized tensor through `formats::mx` (scalar reference, power-of-two
/// rules; NVFP4-style) or `formats::scaled` (`absmax`). `None` for the rules
/// no preset has (`mse`, `minmax`).
pub fn quantize_reference(
    cfg: &Config,
    data: &[f32],
    rows: usize,
    cols: usize,
) -> Option<Vec<f32>> {
    let e = cfg.element.as_format()?;
    let opts = element_opts();
    match cfg.rule {
        Rule::Pow2(r) => {
            let (row_len, block) = match cfg.block {
                Block::Tensor => (data.len(), data.len()),
                Block::Channel => (cols, cols),
                Block::Size(n) => (cols, n),
            };
            let mut f = mx_format(cfg, e, r);
            f.block_size = block;
            mx::quantize_reference(&f, &opts, data, row_len)
                .ok()
                .map(|t| t.dequantize())
        }
        Rule::Nv => {
            let mut f = mx_format(cfg, e, ScaleRule::Floor);
            f.block_size = group_len(cfg.block, cols);
            mx::quantize_reference(&f, &opts, data, cols)
                .ok()
                .map(|t| t.dequantize())
        }
        Rule::Absmax => {
            let g = match cfg.block {
                Block::Tensor => scaled::Granularity::PerTensor,
                Block::Channel => scaled::Granularity::PerChannel(scaled::Axis::Row),
                Block::Size(n) => scaled::Granularity::PerGroup(n),
            };
            let so = scaled::ScaleOptions {
                format: cfg.scale,
                ..Default::default()
            };
            scaled::quantize(data, rows, cols, &e, g, &so, &opts)
                .ok()
                .map(|t| t.dequantize())
        }
        Rule::Mse | Rule::MinMax => None,
    }
}

//! L-Mul accuracy (mean relative error against correctly rounded
//! multiplication) and energy, per semantics and mantissa width: the checks
//! of the claims of Luo & Sun 2024 ("Addition is All You Need").
//!
//! **Accuracy.** `samples` pairs `(x, y)` of independent N(0, 1) values
//! (ChaCha8 from `seed`) are rounded RNE to each format and multiplied:
//!
//! - L-Mul (`lmul-carry`, `lmul-literal`) on `e{E}m{m}` for every `m` of
//!   `mantissa_bits`, `E = exponent_bits` (default 8);
//! - correctly rounded FP multiplication (exact product, one RNE rounding)
//!   on `e{E}m{m}` for the same widths and for m = 2 and 3: the "e5m2-like"
//!   and "e4m3-like" baselines, same exponent width as L-Mul;
//! - the same on the OCP FP8 formats e4m3 and e5m2 themselves.
//!
//! Why an 8-bit exponent by default: with N(0, 1) inputs no product then
//! overflows or underflows, so the error measured is that of the mantissa
//! and the multiplier alone, which is what the paper's claims are about. The
//! real FP8 rows show what their narrower exponents add (e4m3's products
//! below 2^−10 round to zero).
//!
//! Each method's error is the mean over the samples of `|r − x·y| / |x·y|`
//! against the exact product of the unrounded inputs (operand rounding
//! included, as the paper compares whole FP8 multiplications), and the same
//! against the exact product of the rounded operands (the multiplier's own
//! error).
//!
//! **Energy.** From the suite's energy table: an FP multiply of each format
//! against an integer add of its magnitude field (`ebits + mbits` bits),
//! element-wise and per dot-product step (each step keeps its f32 add).

use super::StudyContext;
use crate::arith::lmul::{LmulUnit, Semantics};
use crate::formats::parse::{BF16, E4M3, E5M2, F32, FP16};
use crate::formats::{ConvertOptions, MiniFloat};
use crate::hw::cost::OpKind;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The paper's element-wise energy claim: −95 %.
pub const CLAIM_ELEMENTWISE: f64 = 0.95;
/// The paper's dot-product energy claim: −80 %.
pub const CLAIM_DOT: f64 = 0.80;

/// Parameters (`[studies.lmul]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LmulParams {
    /// Number of N(0, 1) operand pairs (default 200 000).
    pub samples: usize,
    /// Seed of the samples (default: the suite's first seed).
    pub seed: Option<u64>,
    /// L-Mul mantissa widths, each 1..=23 (default [2, 3, 4, 7]).
    pub mantissa_bits: Vec<u32>,
    /// Exponent width of the L-Mul formats and of the like-for-like FP
    /// baselines, 2..=8 (default 8).
    pub exponent_bits: u32,
}

impl Default for LmulParams {
    fn default() -> Self {
        LmulParams {
            samples: 200_000,
            seed: None,
            mantissa_bits: vec![2, 3, 4, 7],
            exponent_bits: 8,
        }
    }
}

/// The error of one multiplication method on the samples.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorRow {
    /// `lmul-carry`, `lmul-literal` or `fp-mul`.
    pub method: String,
    /// Operand (and result) format, e.g. `e8m4`.
    pub format: String,
    /// Mantissa bits of the format.
    pub mbits: u32,
    /// Whether the format is one of the OCP FP8 formats (e4m3, e5m2) rather
    /// than `e{exponent_bits}m{mbits}`.
    pub ocp: bool,
    /// Mean relative error against the exact product of the unrounded inputs.
    pub mean_rel_err: f64,
    /// Mean relative error against the exact product of the rounded operands
    /// (samples whose rounded product is 0 are left out).
    pub arith_rel_err: f64,
    /// Largest relative error against the exact product of the unrounded inputs.
    pub max_rel_err: f64,
}

/// One claim of the paper against our numbers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClaimRow {
    /// The claim in words.
    pub claim: String,
    /// The L-Mul semantics measured.
    pub semantics: String,
    /// Our L-Mul error (mean relative, vs exact).
    pub lmul_err: f64,
    /// The baseline it is compared to, e.g. `fp-mul e8m3`.
    pub baseline: String,
    /// The baseline's error.
    pub baseline_err: f64,
    /// Plain verdict.
    pub verdict: String,
}

/// Energy of one multiplication by FP multiply and by L-Mul.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EnergyRow {
    /// Format (`f32`, `bf16`, …).
    pub format: String,
    /// The L-Mul adder counted, e.g. `int add 31`.
    pub adder: String,
    /// FP multiply, pJ.
    pub fp_mul_pj: f64,
    /// The L-Mul integer add, pJ.
    pub lmul_pj: f64,
    /// The accumulator add each dot-product step keeps (f32), pJ.
    pub acc_add_pj: f64,
    /// Element-wise saving `1 − lmul / fp_mul`.
    pub elementwise_saving: f64,
    /// Dot-product saving `1 − (lmul + add) / (fp_mul + add)`.
    pub dot_saving: f64,
    /// Verdict on the paper's −95 % element-wise claim.
    pub elementwise_verdict: String,
    /// Verdict on the paper's −80 % dot-product claim.
    pub dot_verdict: String,
}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LmulStudy {
    /// Operand pairs sampled.
    pub samples: usize,
    /// Seed used.
    pub seed: u64,
    /// Exponent width of the L-Mul formats and like-for-like baselines.
    pub exponent_bits: u32,
    /// L-Mul mantissa widths measured.
    pub mantissa_bits: Vec<u32>,
    /// Errors: L-Mul (both semantics, each width), then FP multiplication.
    pub errors: Vec<ErrorRow>,
    /// The paper's precision claims against our numbers.
    pub claims: Vec<ClaimRow>,
    /// Energy per multiplication and per dot-product step.
    pub energy: Vec<EnergyRow>,
    /// The energy table's description.
    pub energy_table: String,
    /// Notes on energy numbers that were derived rather than read.
    pub energy_notes: Vec<String>,
}

impl LmulStudy {
    /// The error row of `method` on the format with `mbits` mantissa bits and
    /// the study's exponent width.
    pub fn error(&self, method: &str, mbits: u32) -> Option<&ErrorRow> {
        self.errors
            .iter()
            .find(|r| r.method == method && r.mbits == mbits && !r.ocp)
    }

    /// The `fp-mul` row of an OCP FP8 format (`e4m3` or `e5m2`).
    pub fn ocp_error(&self, format: &str) -> Option<&ErrorRow> {
        self.errors.iter().find(|r| r.ocp && r.format == format)
    }
}

/// The method names of the error rows.
pub const FP_MUL: &str = "fp-mul";

fn check(p: &LmulParams) -> Result<(), String> {
    if p.samples == 0 || p.samples > 50_000_000 {
        return Err(format!("samples must be 1..=50000000, got {}", p.samples));
    }
    if !(2..=8).contains(&p.exponent_bits) {
        return Err(format!(
            "exponent_bits must be 2..=8, got {}",
            p.exponent_bits
        ));
    }
    if p.mantissa_bits.is_empty() {
        return Err("mantissa_bits must list at least one width".into());
    }
    if let Some(m) = p.mantissa_bits.iter().find(|m| !(1..=23).contains(*m)) {
        return Err(format!("mantissa_bits must be 1..=23, got {m}"));
    }
    Ok(())
}

/// Operand pairs rounded to one format: codes and exact values.
struct Rounded {
    codes: Vec<(u32, u32)>,
    values: Vec<(f64, f64)>,
}

fn round_all(f: &MiniFloat, pairs: &[(f64, f64)]) -> Rounded {
    let o = ConvertOptions::default();
    let enc = |x: f64| f.encode(x, &o, 0).expect("RNE with the default policy");
    let codes: Vec<(u32, u32)> = pairs.iter().map(|&(x, y)| (enc(x), enc(y))).collect();
    let values = codes
        .iter()
        .map(|&(a, b)| (f.decode(a), f.decode(b)))
        .collect();
    Rounded { codes, values }
}

/// Mean and max relative errors of results `r[i]` (values) for the samples.
fn row(
    method: &str,
    f: &MiniFloat,
    pairs: &[(f64, f64)],
    q: &Rounded,
    result: impl Fn(usize) -> f64,
) -> ErrorRow {
    let (mut sum, mut max, mut arith, mut n_arith) = (0.0f64, 0.0f64, 0.0f64, 0usize);
    for (i, &(x, y)) in pairs.iter().enumerate() {
        let r = result(i);
        let exact = x * y;
        let e = ((r - exact) / exact).abs();
        let e = if e.is_nan() { f64::INFINITY } else { e };
        sum += e;
        max = max.max(e);
        let (qx, qy) = q.values[i];
        let qp = qx * qy;
        if qp != 0.0 {
            let ea = ((r - qp) / qp).abs();
            arith += if ea.is_nan() { f64::INFINITY } else { ea };
            n_arith += 1;
        }
    }
    let n = pairs.len() as f64;
    ErrorRow {
        method: method.into(),
        format: f.to_string(),
        mbits: f.mbits,
        ocp: false,
        mean_rel_err: sum / n,
        arith_rel_err: if n_arith == 0 {
            f64::NAN
        } else {
            arith / n_arith as f64
        },
        max_rel_err: max,
    }
}

fn lmul_row(sem: Semantics, f: &MiniFloat, pairs: &[(f64, f64)], q: &Rounded) -> ErrorRow {
    let unit = LmulUnit::new(*f, sem, &ConvertOptions::default()).expect("default options fit");
    row(sem.name(), f, pairs, q, |i| {
        let (a, b) = q.codes[i];
        f.decode(unit.mul(a, b, i as u64))
    })
}

fn fp_row(f: &MiniFloat, pairs: &[(f64, f64)], q: &Rounded) -> ErrorRow {
    let o = ConvertOptions::default();
    row(FP_MUL, f, pairs, q, |i| {
        let (x, y) = q.values[i];
        // Exact in f64 (two ≤ 24-bit significands), then one rounding.
        f.decode(f.encode(x * y, &o, 0).expect("RNE with the default policy"))
    })
}

/// The N(0, 1) operand pairs of the study.
pub fn samples(n: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let x: f64 = StandardNormal.sample(&mut rng);
            let y: f64 = StandardNormal.sample(&mut rng);
            (x, y)
        })
        .collect()
}

/// Verdict on "L-Mul ≈ baseline": within a factor 1.25 either way.
fn verdict_close(lmul: f64, base: f64) -> String {
    let r = lmul / base;
    if r < 0.8 {
        format!("holds: L-Mul is more precise ({r:.2}× the error)")
    } else if r <= 1.25 {
        format!("holds ({r:.2}× the error)")
    } else {
        format!("does not hold: L-Mul has {r:.2}× the error")
    }
}

/// Verdict on "L-Mul beats baseline".
fn verdict_beats(lmul: f64, base: f64) -> String {
    let r = lmul / base;
    if r < 1.0 {
        format!("holds ({r:.2}× the error)")
    } else {
        format!("does not hold: L-Mul has {r:.2}× the error")
    }
}

/// Verdict on a saving against the paper's claim: within 5 points holds.
fn verdict_saving(ours: f64, claim: f64) -> String {
    let d = (ours - claim) * 100.0;
    if d.abs() <= 5.0 {
        format!("holds ({:+.1} points)", d)
    } else if d > 0.0 {
        format!("holds, larger saving ({:+.1} points)", d)
    } else {
        format!("does not hold ({:+.1} points)", d)
    }
}

fn claims(s: &LmulStudy) -> Vec<ClaimRow> {
    let mut out = Vec::new();
    let ocp_err = |name: &str| s.ocp_error(name).map(|r| r.mean_rel_err);
    // (L-Mul mantissa bits, baseline mantissa bits, OCP format, claim, verdict rule)
    type Verdict = fn(f64, f64) -> String;
    let specs: [(u32, u32, &str, &str, Verdict); 2] = [
        (
            4,
            3,
            "e4m3",
            "4-bit-mantissa L-Mul ≈ float8 e4m3 multiplication",
            verdict_close,
        ),
        (
            3,
            2,
            "e5m2",
            "3-bit-mantissa L-Mul beats float8 e5m2 multiplication",
            verdict_beats,
        ),
    ];
    for (m, base_m, ocp_name, claim, verdict) in specs {
        for sem in Semantics::ALL {
            let Some(l) = s.error(sem.name(), m) else {
                out.push(ClaimRow {
                    claim: claim.into(),
                    semantics: sem.name().into(),
                    lmul_err: f64::NAN,
                    baseline: String::new(),
                    baseline_err: f64::NAN,
                    verdict: format!("not measured: mantissa_bits lacks {m}"),
                });
                continue;
            };
            let like = s
                .error(FP_MUL, base_m)
                .map(|r| (format!("{} ({ocp_name}-like)", r.format), r.mean_rel_err));
            let real = ocp_err(ocp_name).map(|e| (format!("{ocp_name} (OCP FP8)"), e));
            for (bname, berr) in like.into_iter().chain(real) {
                out.push(ClaimRow {
                    claim: claim.into(),
                    semantics: sem.name().into(),
                    lmul_err: l.mean_rel_err,
                    baseline: format!("{FP_MUL} {bname}"),
                    baseline_err: berr,
                    verdict: verdict(l.mean_rel_err, berr),
                });
            }
        }
    }
    out
}

fn energy(ctx: &StudyContext, notes: &mut Vec<String>) -> Vec<EnergyRow> {
    let mut pj = |k: OpKind| {
        let (v, n) = ctx.energy.pj(k);
        if let Some(n) = n {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
        v
    };
    let add = pj(OpKind::F32_ADD);
    let mut rows = Vec::new();
    let formats: [(&str, MiniFloat, u32); 5] = [
        ("f32", F32, 31),
        ("f32 (paper: int32 add)", F32, 32),
        ("bf16", BF16, 15),
        ("fp16", FP16, 15),
        ("e4m3", E4M3, 7),
    ];
    for (name, f, bits) in formats {
        let fp = pj(OpKind::FpMul {
            ebits: f.ebits,
            mbits: f.mbits,
        });
        let l = pj(OpKind::IntAdd { bits });
        let el = 1.0 - l / fp;
        let dot = 1.0 - (l + add) / (fp + add);
        rows.push(EnergyRow {
            format: name.into(),
            adder: format!("int add {bits}"),
            fp_mul_pj: fp,
            lmul_pj: l,
            acc_add_pj: add,
            elementwise_saving: el,
            dot_saving: dot,
            elementwise_verdict: verdict_saving(el, CLAIM_ELEMENTWISE),
            dot_verdict: verdict_saving(dot, CLAIM_DOT),
        });
    }
    rows
}

/// Runs the study.
pub fn run(params: &LmulParams, ctx: &StudyContext) -> Result<LmulStudy, String> {
    check(params)?;
    let seed = params.seed.unwrap_or(ctx.seed);
    let pairs = samples(params.samples, seed);
    let e = params.exponent_bits;
    let mut widths = params.mantissa_bits.clone();
    widths.sort_unstable();
    widths.dedup();
    let mut fp_widths = widths.clone();
    fp_widths.extend([2, 3]);
    fp_widths.sort_unstable();
    fp_widths.dedup();

    let mut errors = Vec::new();
    for sem in Semantics::ALL {
        for &m in &widths {
            let f = MiniFloat::ieee(e, m);
            errors.push(lmul_row(sem, &f, &pairs, &round_all(&f, &pairs)));
        }
    }
    for &m in &fp_widths {
        let f = MiniFloat::ieee(e, m);
        errors.push(fp_row(&f, &pairs, &round_all(&f, &pairs)));
    }
    for f in [E4M3, E5M2] {
        errors.push(ErrorRow {
            ocp: true,
            ..fp_row(&f, &pairs, &round_all(&f, &pairs))
        });
    }

    let mut study = LmulStudy {
        samples: params.samples,
        seed,
        exponent_bits: e,
        mantissa_bits: widths,
        errors,
        energy_table: ctx.energy.description().to_string(),
        ..Default::default()
    };
    study.claims = claims(&study);
    let mut notes = Vec::new();
    study.energy = energy(ctx, &mut notes);
    study.energy_notes = notes;
    Ok(study)
}

/// The study of L-Mul accuracy and energy (registered in `with_studies`).
pub struct Lmul;

impl super::Study for Lmul {
    type Params = LmulParams;
    type Output = LmulStudy;
    fn validate(params: &LmulParams, _ctx: &StudyContext) -> Result<(), String> {
        check(params)
    }
    fn run(params: &LmulParams, ctx: &StudyContext) -> Result<LmulStudy, String> {
        run(params, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::energy::EnergyTable;
    use std::path::Path;

    fn ctx_run(p: &LmulParams) -> Result<LmulStudy, String> {
        let table = EnergyTable::load("energy-45nm").unwrap();
        let ctx = StudyContext {
            energy: &table,
            base: Path::new("."),
            seed: 1,
            variants: &[],
        };
        run(p, &ctx)
    }

    fn small() -> LmulStudy {
        ctx_run(&LmulParams {
            samples: 60_000,
            ..Default::default()
        })
        .unwrap()
    }

    /// Mean |L-Mul(carry) / exact − 1| over mantissa fields weighted by the
    /// log-uniform (Benford) law of significands: the closed form the
    /// sampled arithmetic error should approach.
    fn carry_expectation(m: u32) -> f64 {
        let n = 1u32 << m;
        let w = |i: u32| ((n + i + 1) as f64 / (n + i) as f64).log2();
        let off = 2f64.powi(-(crate::arith::lmul::l_of(m) as i32));
        let mut e = 0.0;
        for i in 0..n {
            for j in 0..n {
                let (x, y) = (i as f64 / n as f64, j as f64 / n as f64);
                let s = x + y + off;
                let v = if s < 1.0 {
                    1.0 + s
                } else if s < 2.0 {
                    2.0 * s
                } else {
                    4.0 * (s - 1.0)
                };
                e += w(i) * w(j) * (v / ((1.0 + x) * (1.0 + y)) - 1.0).abs();
            }
        }
        e
    }

    #[test]
    fn errors_are_sane_against_closed_forms() {
        let s = small();
        for m in [4u32, 7] {
            let got = s.error("lmul-carry", m).unwrap().arith_rel_err;
            let want = carry_expectation(m);
            assert!((got / want - 1.0).abs() < 0.1, "m={m}: {got} vs {want}");
        }
        // Correct rounding of a log-uniform significand s to m bits: the
        // error is uniform in ±2^−m/2, so the mean relative error is
        // 2^−m/4 · E[1/s] = 2^−m/4 · 1/(2 ln 2) ≈ 0.180·2^−m. (Only for wide
        // mantissas: products of 4-bit significands are too discrete.)
        let got = s.error(FP_MUL, 7).unwrap().arith_rel_err;
        let want = 0.25 / std::f64::consts::LN_2 * 0.5 * 2f64.powi(-7);
        assert!((got / want - 1.0).abs() < 0.05, "fp m=7: {got} vs {want}");
        // More mantissa bits, less error (FP strictly; L-Mul carry too).
        for method in [FP_MUL, "lmul-carry"] {
            let e: Vec<f64> = [2, 3, 4, 7]
                .iter()
                .map(|&m| s.error(method, m).unwrap().mean_rel_err)
                .collect();
            assert!(e.windows(2).all(|w| w[1] < w[0]), "{method}: {e:?}");
        }
        // Every method is far from useless and far from exact.
        for r in &s.errors {
            assert!(r.mean_rel_err > 1e-4 && r.mean_rel_err < 0.2, "{r:?}");
        }
        assert_eq!(s.errors.iter().filter(|r| r.ocp).count(), 2);
        assert_eq!(s.claims.len(), 8);
    }

    #[test]
    fn energy_rows_follow_the_table() {
        let s = small();
        let f32row = &s.energy[0];
        assert_eq!(f32row.fp_mul_pj, 3.7);
        assert_eq!(f32row.acc_add_pj, 0.9);
        assert!((f32row.lmul_pj - 0.1 * 31.0 / 32.0).abs() < 1e-12);
        let paper = &s.energy[1];
        assert!((paper.elementwise_saving - (1.0 - 0.1 / 3.7)).abs() < 1e-12);
        assert!((paper.dot_saving - (1.0 - 1.0 / 4.6)).abs() < 1e-12);
        assert!(paper.elementwise_verdict.starts_with("holds"));
        assert!(!s.energy_notes.is_empty());
    }

    #[test]
    fn same_seed_same_study_and_bad_params_are_refused() {
        let p = LmulParams {
            samples: 2000,
            seed: Some(9),
            ..Default::default()
        };
        assert_eq!(ctx_run(&p).unwrap(), ctx_run(&p).unwrap());
        let other = ctx_run(&LmulParams {
            seed: Some(10),
            ..p.clone()
        })
        .unwrap();
        assert_ne!(other.errors, ctx_run(&p).unwrap().errors);
        for bad in [
            LmulParams {
                samples: 0,
                ..p.clone()
            },
            LmulParams {
                mantissa_bits: vec![0],
                ..p.clone()
            },
            LmulParams {
                mantissa_bits: vec![],
                ..p.clone()
            },
            LmulParams {
                exponent_bits: 9,
                ..p.clone()
            },
        ] {
            assert!(ctx_run(&bad).is_err(), "{bad:?}");
        }
        let e = toml::from_str::<LmulParams>("sampels = 3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sampels"), "{e}");
        let q: LmulParams = toml::from_str("mantissa_bits = [3]\nexponent_bits = 5").unwrap();
        let s = ctx_run(&LmulParams { samples: 1000, ..q }).unwrap();
        assert_eq!(s.claims[0].verdict, "not measured: mantissa_bits lacks 4");
    }
}

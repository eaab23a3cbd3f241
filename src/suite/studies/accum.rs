//! Accumulator study: error of dot products summed in narrow, truncated,
//! chunked, integer and exact accumulators, in several orders.
//!
//! For each reduction length K and trial, two vectors of N(0,1) samples are
//! drawn (seeded) and rounded (RNE, saturating) to the float operand format;
//! for the integer configurations the same samples become int8 codes
//! `clamp(round(32·x), ±127)`. Every configuration sums the same exact
//! products; its error is measured against the exact sum (a Kulisch
//! register), as `sqrt(Σ err²) / sqrt(Σ exact²)` over the trials (relative
//! RMS error) and `max |err| / sqrt(mean exact²)` (relative max error).

use super::StudyContext;
use crate::arith::accum::fast::FastSum;
use crate::arith::accum::{AccumSpec, Accumulate, Accumulator, ExactSum};
use crate::formats::{parse, ConvertOptions, ElementFormat, MiniFloat, Overflow};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.accum]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccumParams {
    /// Reduction lengths K (default 256, 1024, 4096, 16384).
    pub ks: Vec<usize>,
    /// Dot products per K (default 24).
    pub trials: usize,
    /// Seed of the operands (default: the suite's first seed).
    pub seed: Option<u64>,
    /// Float operand format (default `e4m3`).
    pub operand: String,
    /// Accumulator specs for the float operands (grammar of
    /// [`crate::arith::accum::spec`]).
    pub configs: Vec<String>,
    /// Accumulator specs for the int8 operands.
    pub int_configs: Vec<String>,
}

impl Default for AccumParams {
    fn default() -> Self {
        AccumParams {
            ks: vec![256, 1024, 4096, 16384],
            trials: 24,
            seed: None,
            operand: "e4m3".into(),
            configs: [
                "acc=f32",
                "acc=f32,order=pairwise",
                "acc=fp16",
                "acc=bf16",
                "acc=bf16,order=pairwise",
                "acc=e8m13:rtz",
                "acc=e8m13:rtz,order=chunk:128",
                "acc=exact",
            ]
            .map(String::from)
            .to_vec(),
            int_configs: ["acc=int32", "acc=int16:sat", "acc=int16:wrap"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// Error of one configuration at one K.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccumPoint {
    /// Reduction length.
    pub k: usize,
    /// `sqrt(Σ err²) / sqrt(Σ exact²)` over the trials; `None` when a result
    /// was not finite (overflow to inf, NaN).
    pub rel_rms_error: Option<f64>,
    /// `max |err| / sqrt(mean exact²)`; `None` as above.
    pub rel_max_error: Option<f64>,
}

/// One accumulator configuration and its errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccumRow {
    /// Operands: the float format's name or `int8`.
    pub operands: String,
    /// Canonical spec string.
    pub spec: String,
    /// Human description.
    pub label: String,
    /// The register's add operation.
    pub add_op: String,
    /// Its energy in the suite's table (pJ per add).
    pub add_pj: f64,
    /// Errors by K, in the order of the study's `ks`.
    pub points: Vec<AccumPoint>,
}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccumStudy {
    /// Float operand format.
    pub operand: String,
    /// Dot products per K.
    pub trials: usize,
    /// Seed used.
    pub seed: u64,
    /// Reduction lengths.
    pub ks: Vec<usize>,
    /// Float-operand configurations, then int8 ones.
    pub rows: Vec<AccumRow>,
}

fn parse_specs(list: &[String], key: &str) -> Result<Vec<AccumSpec>, String> {
    list.iter()
        .enumerate()
        .map(|(i, s)| s.parse().map_err(|e| format!("{key}[{i}]: {e}")))
        .collect()
}

/// Product vectors, one per trial.
type Trials = Vec<Vec<f64>>;

/// Seeded N(0,1) pairs for one (K, trial).
fn samples(seed: u64, k: usize, trial: usize) -> Vec<(f64, f64)> {
    let s = seed ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ ((trial as u64) << 40);
    let mut rng = ChaCha8Rng::seed_from_u64(s);
    (0..k)
        .map(|_| {
            let x: f64 = StandardNormal.sample(&mut rng);
            let y: f64 = StandardNormal.sample(&mut rng);
            (x, y)
        })
        .collect()
}

/// Errors of `spec` over the trials' product vectors.
fn measure(spec: &AccumSpec, k: usize, trials: &[Vec<f64>]) -> AccumPoint {
    let fast = FastSum::new(spec);
    let model = Accumulator::new(*spec);
    let (mut se, mut sx, mut max) = (0.0f64, 0.0f64, 0.0f64);
    let mut finite = true;
    for ps in trials {
        let got = match &fast {
            Some(f) => f.sum(ps),
            None => model.sum(ps),
        };
        if !got.is_finite() {
            finite = false;
            continue;
        }
        let mut e = ExactSum::new();
        e.extend(ps.iter().copied());
        let exact = e.to_f64_round_odd();
        e.add(-got);
        let err = e.to_f64_round_odd();
        se += err * err;
        sx += exact * exact;
        max = max.max(err.abs());
    }
    let ok = finite && sx > 0.0;
    let rms_exact = (sx / trials.len().max(1) as f64).sqrt();
    AccumPoint {
        k,
        rel_rms_error: ok.then(|| (se / sx).sqrt()),
        rel_max_error: ok.then(|| max / rms_exact),
    }
}

/// Checks the parameters; returns the operand format and the parsed
/// accumulator configurations.
#[allow(clippy::type_complexity)]
fn check(params: &AccumParams) -> Result<(MiniFloat, Vec<AccumSpec>, Vec<AccumSpec>), String> {
    if params.ks.is_empty() || params.ks.iter().any(|&k| k == 0 || k > 1 << 22) {
        return Err("ks: each K must be 1..=4194304, and at least one is needed".into());
    }
    if !(1..=10_000).contains(&params.trials) {
        return Err(format!("trials: must be 1..=10000, got {}", params.trials));
    }
    // Every product vector is built up front: bound their total length (2^26 products, 512 MiB).
    let products: usize = params.ks.iter().sum::<usize>() * params.trials;
    if products > 1 << 26 {
        return Err(format!(
            "ks × trials: {products} products in all, more than 2^26; use fewer or shorter dot products"
        ));
    }
    let operand: MiniFloat = match parse::parse_element(&params.operand) {
        Ok(ElementFormat::Float(f)) => f,
        Ok(ElementFormat::Int(_)) => {
            return Err(format!(
                "operand: '{}' is not a minifloat (int8 operands run the int_configs)",
                params.operand
            ))
        }
        Err(e) => return Err(format!("operand: {e}")),
    };
    let configs = parse_specs(&params.configs, "configs")?;
    let int_configs = parse_specs(&params.int_configs, "int_configs")?;
    Ok((operand, configs, int_configs))
}

/// Runs the study.
pub fn run(params: &AccumParams, ctx: &StudyContext) -> Result<AccumStudy, String> {
    let (operand, configs, int_configs) = check(params)?;
    let seed = params.seed.unwrap_or(ctx.seed);
    let o = ConvertOptions {
        overflow: Some(Overflow::Saturate),
        ..Default::default()
    };
    let to_op = |x: f64| {
        operand.decode(
            operand
                .encode(x, &o, 0)
                .expect("saturating RNE encode of a finite value"),
        )
    };
    let to_i8 = |x: f64| (x * 32.0).round_ties_even().clamp(-127.0, 127.0);
    // Products per K: float operands and int8 operands, one vector per trial.
    let data: Vec<(Trials, Trials)> = params
        .ks
        .par_iter()
        .map(|&k| {
            (0..params.trials)
                .map(|t| {
                    let s = samples(seed, k, t);
                    let f = s.iter().map(|&(x, y)| to_op(x) * to_op(y)).collect();
                    let i = s.iter().map(|&(x, y)| to_i8(x) * to_i8(y)).collect();
                    (f, i)
                })
                .unzip()
        })
        .collect();
    let jobs: Vec<(&AccumSpec, bool)> = configs
        .iter()
        .map(|c| (c, false))
        .chain(int_configs.iter().map(|c| (c, true)))
        .collect();
    let rows = jobs
        .par_iter()
        .map(|&(spec, int)| {
            let points = params
                .ks
                .iter()
                .zip(&data)
                .map(|(&k, (f, i))| measure(spec, k, if int { i } else { f }))
                .collect();
            // An exact register is sized for the float operands' products.
            let add = Accumulator::for_operands(*spec, &operand, &operand).add_op();
            AccumRow {
                operands: if int {
                    "int8".into()
                } else {
                    operand.to_string()
                },
                spec: spec.to_string(),
                label: spec.describe(),
                add_op: add.to_string(),
                add_pj: ctx.energy.pj(add).0,
                points,
            }
        })
        .collect();
    Ok(AccumStudy {
        operand: operand.to_string(),
        trials: params.trials,
        seed,
        ks: params.ks.clone(),
        rows,
    })
}

/// The study of accumulator formats and orders (registered in `with_studies`).
pub struct Accum;

impl super::Study for Accum {
    type Params = AccumParams;
    type Output = AccumStudy;
    fn validate(params: &AccumParams, _ctx: &StudyContext) -> Result<(), String> {
        check(params).map(drop)
    }
    fn run(params: &AccumParams, ctx: &StudyContext) -> Result<AccumStudy, String> {
        run(params, ctx)
    }
}

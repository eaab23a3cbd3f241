//! ParetoQ-style study: at equal weight memory (bits × parameters fixed),
//! which weight bit width gives the lowest output error?
//!
//! Memory budgets are given as the width an 8-bit network would have
//! (`base_widths`): a budget is `8 · base_width · (d + 1)` weight bits. Each
//! bit width b of `bits` (1, 1.58, 2, 3, 4, 8, and 32 for f32) gets the
//! width that spends the same bits, `round(8 · base_width / b)`, and is
//! trained with quantization-aware training ([`super::twolayer`]: the
//! straight-through estimator, one scale per layer, not counted in the
//! budget) on the seeded teacher task of the `scaling1bit` study, same data
//! and steps for every bit width. The output error is the held-out loss
//! relative to the teacher's (`½ mean (f − y)² / ½ mean y²`).
//!
//! Why trained networks and not one set of weights: at equal memory a lower
//! bit width buys *more parameters*, and what more parameters are worth
//! depends on training; quantizing one fixed weight matrix cannot trade
//! parameters for bits. ParetoQ compares trained models for the same
//! reason. Real-model weights (MiniLM) do not enter until the real-model
//! layer lands; see REPRODUCTIONS.md.

use super::twolayer::{self, Quant, Task};
use super::StudyContext;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.paretoq]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParetoqParams {
    /// Memory budgets, as the width of an 8-bit network.
    pub base_widths: Vec<usize>,
    /// Weight bit widths: 1, 1.58, 2 … 8, or 32 (f32).
    pub bits: Vec<f64>,
    /// Inputs.
    pub d: usize,
    /// Teacher hidden units.
    pub teacher_width: usize,
    /// Training samples.
    pub samples: usize,
    /// Held-out samples.
    pub test: usize,
    /// Full-batch gradient steps.
    pub steps: usize,
    /// Learning rate.
    pub lr: f32,
}

impl Default for ParetoqParams {
    fn default() -> Self {
        ParetoqParams {
            base_widths: vec![16, 64],
            bits: vec![1.0, 1.58, 2.0, 3.0, 4.0, 8.0, 32.0],
            d: 16,
            teacher_width: 16,
            samples: 128,
            test: 1024,
            steps: 100,
            lr: 0.5,
        }
    }
}

/// One bit width at one budget.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ParetoRow {
    /// Budget, weight bits.
    pub budget_bits: f64,
    /// Bits per weight.
    pub bits: f64,
    /// Hidden units bought by the budget.
    pub width: usize,
    /// Weights (`width · (d + 1)`).
    pub params: usize,
    /// Final training loss.
    pub train_loss: f64,
    /// Held-out loss.
    pub test_loss: f64,
    /// Held-out loss / the teacher's ½ mean y².
    pub rel_error: f64,
}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ParetoqStudy {
    /// The task, in words.
    pub task: String,
    /// Rows grouped by budget, in `bits` order.
    pub rows: Vec<ParetoRow>,
    /// Per budget: (budget bits, bit width with the lowest held-out error).
    pub best: Vec<(f64, f64)>,
}

/// Checks the parameters; returns the bit widths as quantizers.
fn check(p: &ParetoqParams) -> Result<Vec<Quant>, String> {
    let quants: Vec<Quant> = p
        .bits
        .iter()
        .map(|&b| Quant::from_bits(b).map_err(|e| format!("bits: {e}")))
        .collect::<Result<_, _>>()?;
    if p.base_widths.is_empty() || p.base_widths.iter().any(|&w| w == 0 || w > 4096) {
        return Err("base_widths must be 1 … 4096, at least one".into());
    }
    if p.d == 0 || p.teacher_width == 0 || p.samples == 0 || p.test == 0 || p.steps > 100_000 {
        return Err(
            "d, teacher_width, samples and test must be positive, steps at most 100000".into(),
        );
    }
    if !(p.lr.is_finite() && p.lr > 0.0) {
        return Err(format!("lr: {} (must be positive)", p.lr));
    }
    Ok(quants)
}

/// Runs the study.
pub fn run(p: &ParetoqParams, ctx: &StudyContext) -> Result<ParetoqStudy, String> {
    let quants = check(p)?;
    let task = Task {
        d: p.d,
        teacher_width: p.teacher_width,
        samples: p.samples,
        test: p.test,
        steps: p.steps,
        lr: p.lr,
        seed: ctx.seed,
    };
    let (train, test) = twolayer::make_data(&task);
    let teacher = test.y.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / (2.0 * test.n as f64);
    let mut out = ParetoqStudy {
        task: format!(
            "teacher: {} ReLU units on {} N(0, 1) inputs; {} training and {} held-out samples; {} full-batch GD steps, lr {}",
            p.teacher_width, p.d, p.samples, p.test, p.steps, p.lr
        ),
        ..Default::default()
    };
    for &base in &p.base_widths {
        let budget = 8.0 * (base * (p.d + 1)) as f64;
        let first = out.rows.len();
        for &q in &quants {
            let width = ((8.0 * base as f64 / q.bits()).round() as usize).max(1);
            let t = twolayer::train(&task, width, q, &train, &test);
            out.rows.push(ParetoRow {
                budget_bits: budget,
                bits: q.bits(),
                width,
                params: width * (p.d + 1),
                train_loss: *t.losses.last().expect("at least the final loss"),
                test_loss: t.test_loss,
                rel_error: if teacher > 0.0 {
                    t.test_loss / teacher
                } else {
                    0.0
                },
            });
        }
        let best = out.rows[first..]
            .iter()
            .min_by(|a, b| a.test_loss.total_cmp(&b.test_loss))
            .map_or(0.0, |r| r.bits);
        out.best.push((budget, best));
    }
    Ok(out)
}

/// The equal-memory bit-width study (registered in `with_studies`).
pub struct Paretoq;

impl super::Study for Paretoq {
    type Params = ParetoqParams;
    type Output = ParetoqStudy;
    fn validate(params: &ParetoqParams, _ctx: &StudyContext) -> Result<(), String> {
        check(params).map(drop)
    }
    fn run(params: &ParetoqParams, ctx: &StudyContext) -> Result<ParetoqStudy, String> {
        run(params, ctx)
    }
}

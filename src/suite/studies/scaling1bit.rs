//! 1-bit scaling-law study: do two-layer networks with weights in {−1, +1}
//! (times one scale per layer) train like their full-precision twins as
//! width grows — training loss falling as a power law, and the gap between
//! their outputs ("generalization difference") staying small?
//!
//! For each width of `widths`, one full-precision and one 1-bit network
//! ([`super::twolayer`]: NTK parametrization, straight-through estimator,
//! per-layer scale mean|w|) train from the same initialization on the same
//! seeded teacher task (`d` Gaussian inputs, a random `teacher_width`-unit
//! teacher, `samples` training points) for `steps` full-batch steps at
//! learning rate `lr`. Reported per width: final training loss of both,
//! held-out loss of both, and the generalization difference
//! `mean |f_1bit(x) − f_fp(x)|` over `test` held-out inputs, also relative
//! to the teacher's output RMS. Per precision, a power law
//! `L(W) = a·W^(−α) + c` (c ≥ 0) is fitted to the training losses by least
//! squares (variable projection over α), with R², the RMS of the log
//! residuals and a 95 % profile-likelihood interval for α
//! (`SSR(α) ≤ SSR_min·(1 + F_{0.95}(1, n − 3)/(n − 3))`, statrs' F quantile).

use super::twolayer::{self, Quant, Task};
use super::StudyContext;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.scaling1bit]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scaling1bitParams {
    /// Hidden widths.
    pub widths: Vec<usize>,
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
    /// Learning rate (NTK parametrization: the same for every width).
    pub lr: f32,
}

impl Default for Scaling1bitParams {
    fn default() -> Self {
        Scaling1bitParams {
            widths: (6..=14).map(|e| 1usize << e).collect(),
            d: 16,
            teacher_width: 16,
            samples: 128,
            test: 1024,
            steps: 100,
            lr: 0.5,
        }
    }
}

/// One width.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WidthRow {
    /// Hidden units.
    pub width: usize,
    /// Final training loss, full precision.
    pub train_fp: f64,
    /// Final training loss, 1-bit.
    pub train_1bit: f64,
    /// Held-out loss, full precision.
    pub test_fp: f64,
    /// Held-out loss, 1-bit.
    pub test_1bit: f64,
    /// mean |f_1bit − f_fp| on held-out inputs.
    pub gen_diff: f64,
    /// `gen_diff` divided by the teacher's held-out output RMS.
    pub gen_diff_rel: f64,
}

/// A fitted power law `a·W^(−α) + c`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PowerFit {
    /// `full precision` or `1-bit`.
    pub series: String,
    /// a.
    pub a: f64,
    /// α.
    pub alpha: f64,
    /// c (≥ 0).
    pub c: f64,
    /// R² of the fit on the losses.
    pub r2: f64,
    /// RMS of ln(fit) − ln(loss).
    pub log_rms: f64,
    /// 95 % profile-likelihood interval of α (bounded by the search range
    /// [0, 4]; `None` with fewer than 4 widths).
    pub alpha_ci: Option<(f64, f64)>,
}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scaling1bitStudy {
    /// The task, in words.
    pub task: String,
    /// Teacher output RMS on held-out inputs.
    pub teacher_rms: f64,
    /// One row per width, ascending.
    pub rows: Vec<WidthRow>,
    /// Fits: full precision, then 1-bit.
    pub fits: Vec<PowerFit>,
    /// The seed's claim at these widths, plainly.
    pub verdict: String,
}

/// Least squares `y ≈ a·x + c` with c ≥ 0: `(a, c, ssr)`.
fn linear_fit(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let (mut a, mut c) = if sxx > 0.0 {
        (sxy / sxx, 0.0)
    } else {
        (0.0, my)
    };
    if sxx > 0.0 {
        c = my - a * mx;
    }
    if c < 0.0 {
        let sxx0: f64 = x.iter().map(|v| v * v).sum();
        a = if sxx0 > 0.0 {
            x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>() / sxx0
        } else {
            0.0
        };
        c = 0.0;
    }
    let ssr = x
        .iter()
        .zip(y)
        .map(|(xv, yv)| (yv - a * xv - c).powi(2))
        .sum();
    (a, c, ssr)
}

/// Fits `L(W) = a·W^(−α) + c` (c ≥ 0, α ∈ [0, 4]) by variable projection:
/// for each α the linear least squares in (a, c), α by a grid of step
/// 0.001 refined by golden-section search.
pub fn fit_power_law(series: &str, w: &[f64], l: &[f64]) -> PowerFit {
    let ssr_at = |alpha: f64| {
        let x: Vec<f64> = w.iter().map(|v| v.powf(-alpha)).collect();
        linear_fit(&x, l)
    };
    let grid: Vec<f64> = (0..=4000).map(|i| i as f64 * 0.001).collect();
    let best = grid
        .iter()
        .cloned()
        .min_by(|a, b| ssr_at(*a).2.total_cmp(&ssr_at(*b).2))
        .unwrap_or(0.0);
    let (mut lo, mut hi) = ((best - 0.001).max(0.0), (best + 0.001).min(4.0));
    let g = 0.5 * (5f64.sqrt() - 1.0);
    for _ in 0..60 {
        let (m1, m2) = (hi - g * (hi - lo), lo + g * (hi - lo));
        if ssr_at(m1).2 <= ssr_at(m2).2 {
            hi = m2;
        } else {
            lo = m1;
        }
    }
    let alpha = 0.5 * (lo + hi);
    let (a, c, ssr) = ssr_at(alpha);
    let n = l.len();
    let mean = l.iter().sum::<f64>() / n.max(1) as f64;
    let sst: f64 = l.iter().map(|v| (v - mean).powi(2)).sum();
    let fit = |wv: f64| a * wv.powf(-alpha) + c;
    let log_rms = (w
        .iter()
        .zip(l)
        .map(|(&wv, &lv)| (fit(wv).max(1e-300).ln() - lv.max(1e-300).ln()).powi(2))
        .sum::<f64>()
        / n.max(1) as f64)
        .sqrt();
    let alpha_ci = (n >= 4).then(|| {
        use statrs::distribution::{ContinuousCDF, FisherSnedecor};
        let dof = (n - 3) as f64;
        let f = FisherSnedecor::new(1.0, dof).map_or(f64::INFINITY, |d| d.inverse_cdf(0.95));
        let limit = ssr * (1.0 + f / dof);
        let inside: Vec<f64> = grid
            .iter()
            .cloned()
            .filter(|&x| ssr_at(x).2 <= limit)
            .collect();
        (
            inside.first().copied().unwrap_or(alpha).min(alpha),
            inside.last().copied().unwrap_or(alpha).max(alpha),
        )
    });
    PowerFit {
        series: series.into(),
        a,
        alpha,
        c,
        r2: if sst > 0.0 { 1.0 - ssr / sst } else { 1.0 },
        log_rms,
        alpha_ci,
    }
}

fn check(p: &Scaling1bitParams) -> Result<(), String> {
    if p.widths.is_empty() || p.widths.iter().any(|&w| w == 0 || w > 1 << 16) {
        return Err("widths must be 1 … 65536, at least one".into());
    }
    if p.d == 0 || p.teacher_width == 0 || p.samples == 0 || p.test == 0 {
        return Err("d, teacher_width, samples and test must be positive".into());
    }
    if p.steps > 100_000 {
        return Err(format!("steps: {} (at most 100000)", p.steps));
    }
    if !(p.lr.is_finite() && p.lr > 0.0) {
        return Err(format!("lr: {} (must be positive)", p.lr));
    }
    let work =
        p.widths.iter().map(|&w| w as f64).sum::<f64>() * (p.d * p.samples) as f64 * p.steps as f64;
    if work > 1e12 {
        return Err("widths × d × samples × steps: more than 10^12, too long to train".into());
    }
    Ok(())
}

/// Runs the study.
pub fn run(p: &Scaling1bitParams, ctx: &StudyContext) -> Result<Scaling1bitStudy, String> {
    check(p)?;
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
    let teacher_rms =
        (test.y.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / test.n as f64).sqrt();
    let mut widths = p.widths.clone();
    widths.sort_unstable();
    widths.dedup();
    let mut rows = Vec::new();
    for &w in &widths {
        let fp = twolayer::train(&task, w, Quant::Full, &train, &test);
        let bin = twolayer::train(&task, w, Quant::Bits(1.0), &train, &test);
        let diff = fp
            .test_out
            .iter()
            .zip(&bin.test_out)
            .map(|(a, b)| (a - b).abs() as f64)
            .sum::<f64>()
            / test.n as f64;
        rows.push(WidthRow {
            width: w,
            train_fp: *fp.losses.last().expect("at least the final loss"),
            train_1bit: *bin.losses.last().expect("at least the final loss"),
            test_fp: fp.test_loss,
            test_1bit: bin.test_loss,
            gen_diff: diff,
            gen_diff_rel: if teacher_rms > 0.0 {
                diff / teacher_rms
            } else {
                0.0
            },
        });
    }
    let ws: Vec<f64> = rows.iter().map(|r| r.width as f64).collect();
    let fits = vec![
        fit_power_law(
            "full precision",
            &ws,
            &rows.iter().map(|r| r.train_fp).collect::<Vec<_>>(),
        ),
        fit_power_law(
            "1-bit",
            &ws,
            &rows.iter().map(|r| r.train_1bit).collect::<Vec<_>>(),
        ),
    ];
    let verdict = verdict(&rows, &fits);
    Ok(Scaling1bitStudy {
        task: format!(
            "teacher: {} ReLU units on {} N(0, 1) inputs; {} training and {} held-out samples; {} full-batch GD steps, lr {}",
            p.teacher_width, p.d, p.samples, p.test, p.steps, p.lr
        ),
        teacher_rms,
        rows,
        fits,
        verdict,
    })
}

/// The claim in words, from the numbers: loss falls with width (α's
/// interval above 0), and the 1-bit/full-precision output gap does not
/// grow from the narrowest to the widest network.
fn verdict(rows: &[WidthRow], fits: &[PowerFit]) -> String {
    let (first, last) = match (rows.first(), rows.last()) {
        (Some(f), Some(l)) if rows.len() >= 2 => (f, l),
        _ => return "one width only: no trend to judge".into(),
    };
    let falls = fits[1].alpha_ci.is_some_and(|(lo, _)| lo > 0.0);
    let loss = if falls {
        format!(
            "1-bit training loss falls with width (α = {:.2}, 95 % interval excludes 0; {:.3e} at W = {} → {:.3e} at W = {}, full precision {:.3e} → {:.3e})",
            fits[1].alpha, first.train_1bit, first.width, last.train_1bit, last.width, first.train_fp, last.train_fp
        )
    } else {
        format!(
            "1-bit training loss does not fall significantly with width ({:.3e} at W = {} → {:.3e} at W = {})",
            first.train_1bit, first.width, last.train_1bit, last.width
        )
    };
    let gap = if last.gen_diff <= first.gen_diff {
        format!(
            "the output gap to full precision shrinks ({:.1} % → {:.1} % of the teacher's RMS)",
            100.0 * first.gen_diff_rel,
            100.0 * last.gen_diff_rel
        )
    } else {
        format!(
            "the output gap to full precision grows ({:.1} % → {:.1} % of the teacher's RMS)",
            100.0 * first.gen_diff_rel,
            100.0 * last.gen_diff_rel
        )
    };
    format!("{loss}; {gap}.")
}

/// The 1-bit scaling-law study (registered in `with_studies`).
pub struct Scaling1bit;

impl super::Study for Scaling1bit {
    type Params = Scaling1bitParams;
    type Output = Scaling1bitStudy;
    fn validate(params: &Scaling1bitParams, _ctx: &StudyContext) -> Result<(), String> {
        check(params)
    }
    fn run(params: &Scaling1bitParams, ctx: &StudyContext) -> Result<Scaling1bitStudy, String> {
        run(params, ctx)
    }
}

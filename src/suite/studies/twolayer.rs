//! A two-layer ReLU network trained by full-batch gradient descent on a
//! seeded teacher task, with full-precision or quantized weights (the
//! `scaling1bit` and `paretoq` studies).
//!
//! Model (NTK parametrization, so that the learning rate does not depend on
//! the width): `f(x) = (1/√m) Σ_j v_j · relu(w_j · x / √d)`, `m` hidden
//! units, `d` inputs. Teacher: the same form with `teacher_width` units and
//! N(0, 1) weights; inputs N(0, I_d); loss `½ mean (f(x) − y)²`.
//!
//! Quantized training keeps latent f32 weights; the forward pass uses
//! `Q(W)` and `Q(v)` with one scale per layer, and the gradient with
//! respect to `Q(·)` updates the latent weights unchanged (the
//! straight-through estimator). Quantizers ([`Quant`]): 1 bit
//! `s · sign(w)` (0 → +), `s = mean|w|`; 1.58 bits ternary absmean
//! (BitNet b1.58: `s · clamp(round(w/s), −1, 1)`, `s = mean|w|`); b ≥ 2
//! bits symmetric absmax integers (`L = 2^(b−1) − 1` levels each side,
//! `s = max|w| / L`, round half away from zero).
//!
//! Speed: the hidden units are split into fixed chunks that rayon runs in
//! parallel; partial outputs are summed in chunk order, so results do not
//! depend on the thread count. `reference_step` is the plain loop twin.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// A per-layer weight quantizer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quant {
    /// f32 weights as they are.
    Full,
    /// `bits` bits: 1 (binary), 1.58 (ternary) or an integer 2 … 8.
    Bits(f64),
}

impl Quant {
    /// Parses a bit width: 1, 1.58, 2 … 8, or 32 (full precision).
    pub fn from_bits(b: f64) -> Result<Quant, String> {
        if b == 32.0 {
            Ok(Quant::Full)
        } else if b == 1.0 || b == 1.58 || (b.fract() == 0.0 && (2.0..=8.0).contains(&b)) {
            Ok(Quant::Bits(b))
        } else {
            Err(format!("{b}: bit widths are 1, 1.58, 2 … 8 or 32"))
        }
    }

    /// Storage bits per weight (scale not counted: one per layer).
    pub fn bits(self) -> f64 {
        match self {
            Quant::Full => 32.0,
            Quant::Bits(b) => b,
        }
    }

    /// The layer's weights after quantization and dequantization.
    pub fn apply(self, w: &[f32]) -> Vec<f32> {
        let n = w.len().max(1) as f64;
        match self {
            Quant::Full => w.to_vec(),
            Quant::Bits(1.0) => {
                let s = (w.iter().map(|x| x.abs() as f64).sum::<f64>() / n) as f32;
                w.iter().map(|&x| if x < 0.0 { -s } else { s }).collect()
            }
            Quant::Bits(b) if b < 2.0 => {
                let s = (w.iter().map(|x| x.abs() as f64).sum::<f64>() / n) as f32;
                if s == 0.0 {
                    return vec![0.0; w.len()];
                }
                w.iter()
                    .map(|&x| s * (x / s).round().clamp(-1.0, 1.0))
                    .collect()
            }
            Quant::Bits(b) => {
                let levels = ((1u32 << (b as u32 - 1)) - 1) as f32;
                let s = w.iter().fold(0f32, |m, x| m.max(x.abs())) / levels;
                if s == 0.0 {
                    return vec![0.0; w.len()];
                }
                w.iter()
                    .map(|&x| s * (x / s).round().clamp(-levels, levels))
                    .collect()
            }
        }
    }
}

/// The task and the training run.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Inputs d.
    pub d: usize,
    /// Teacher hidden units.
    pub teacher_width: usize,
    /// Training samples.
    pub samples: usize,
    /// Held-out samples.
    pub test: usize,
    /// Gradient steps.
    pub steps: usize,
    /// Learning rate.
    pub lr: f32,
    /// Seed of the data and the initializations.
    pub seed: u64,
}

/// Inputs stored feature-major (`x[k · n + i]` is feature k of sample i),
/// so the per-unit loops over samples are contiguous.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    /// Samples.
    pub n: usize,
    /// Features.
    pub d: usize,
    /// `d × n`, feature-major.
    pub x: Vec<f32>,
    /// Teacher outputs.
    pub y: Vec<f32>,
}

/// Network weights: `w` is `m × d` (row per hidden unit), `v` has `m`.
#[derive(Debug, Clone, PartialEq)]
pub struct Net {
    /// Hidden units.
    pub m: usize,
    /// Inputs.
    pub d: usize,
    /// First layer, `m × d`.
    pub w: Vec<f32>,
    /// Second layer.
    pub v: Vec<f32>,
}

fn normals(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

impl Net {
    /// N(0, 1) weights from `seed`.
    pub fn init(m: usize, d: usize, seed: u64) -> Net {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Net {
            m,
            d,
            w: normals(m * d, &mut rng),
            v: normals(m, &mut rng),
        }
    }

    /// Outputs on `data` (f32 math, units summed in fixed chunks).
    pub fn predict(&self, data: &Data) -> Vec<f32> {
        forward(&self.w, &self.v, self.m, data).0
    }
}

/// Teacher and data sets `(train, test)` of a task.
pub fn make_data(t: &Task) -> (Data, Data) {
    let teacher = Net::init(t.teacher_width, t.d, crate::rng::mix64(t.seed ^ 0x7EAC));
    let mut rng = ChaCha8Rng::seed_from_u64(crate::rng::mix64(t.seed ^ 0xDA7A));
    let mut gen = |n: usize| {
        let x = normals(n * t.d, &mut rng);
        let mut d = Data {
            n,
            d: t.d,
            x,
            y: vec![],
        };
        d.y = teacher.predict(&d);
        d
    };
    let train = gen(t.samples);
    let test = gen(t.test);
    (train, test)
}

/// Units per parallel chunk.
const UNITS: usize = 64;

/// Forward pass: `(outputs, pre-activations m × n)`.
fn forward(w: &[f32], v: &[f32], m: usize, data: &Data) -> (Vec<f32>, Vec<f32>) {
    let (n, d) = (data.n, data.d);
    let (sd, sm) = (1.0 / (d as f32).sqrt(), 1.0 / (m as f32).sqrt());
    let mut pre = vec![0f32; m * n];
    let parts: Vec<Vec<f32>> = pre
        .par_chunks_mut(UNITS * n)
        .enumerate()
        .map(|(c, block)| {
            let mut f = vec![0f32; n];
            for (u, h) in block.chunks_mut(n).enumerate() {
                let j = c * UNITS + u;
                for k in 0..d {
                    let wk = w[j * d + k] * sd;
                    let xs = &data.x[k * n..(k + 1) * n];
                    h.iter_mut().zip(xs).for_each(|(h, x)| *h += wk * x);
                }
                let vj = v[j] * sm;
                f.iter_mut()
                    .zip(h.iter())
                    .for_each(|(f, &h)| *f += vj * h.max(0.0));
            }
            f
        })
        .collect();
    let mut f = vec![0f32; n];
    for p in parts {
        f.iter_mut().zip(&p).for_each(|(a, b)| *a += b);
    }
    (f, pre)
}

/// `½ mean (f − y)²` in f64.
pub fn mse_half(f: &[f32], y: &[f32]) -> f64 {
    let n = f.len().max(1) as f64;
    f.iter()
        .zip(y)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        / (2.0 * n)
}

/// One gradient step of `net` (latent weights) with quantizer `q`; returns
/// the training loss before the step.
pub fn step(net: &mut Net, q: Quant, data: &Data, lr: f32) -> f64 {
    let (m, d, n) = (net.m, net.d, data.n);
    let (wq, vq) = (q.apply(&net.w), q.apply(&net.v));
    let (f, pre) = forward(&wq, &vq, m, data);
    let loss = mse_half(&f, &data.y);
    let r: Vec<f32> = f
        .iter()
        .zip(&data.y)
        .map(|(a, b)| (a - b) / n as f32)
        .collect();
    let (sd, sm) = (1.0 / (d as f32).sqrt(), 1.0 / (m as f32).sqrt());
    net.w
        .par_chunks_mut(UNITS * d)
        .zip(net.v.par_chunks_mut(UNITS))
        .enumerate()
        .for_each(|(c, (wb, vb))| {
            let mut g = vec![0f32; n];
            for u in 0..vb.len() {
                let j = c * UNITS + u;
                let h = &pre[j * n..(j + 1) * n];
                let gv: f32 = h.iter().zip(&r).map(|(&h, &r)| r * h.max(0.0)).sum::<f32>() * sm;
                let back = vq[j] * sm * sd;
                g.iter_mut()
                    .zip(h.iter().zip(&r))
                    .for_each(|(g, (&h, &r))| *g = if h > 0.0 { r * back } else { 0.0 });
                for k in 0..d {
                    let xs = &data.x[k * n..(k + 1) * n];
                    let gw: f32 = g.iter().zip(xs).map(|(a, b)| a * b).sum();
                    wb[u * d + k] -= lr * gw;
                }
                vb[u] -= lr * gv;
            }
        });
    loss
}

/// [`step`] written as plain loops over samples, units and inputs, in f64
/// (the reference twin: the same maths without chunks or f32 sums).
pub fn reference_step(net: &mut Net, q: Quant, data: &Data, lr: f64) -> f64 {
    let (m, d, n) = (net.m, net.d, data.n);
    let (wq, vq) = (q.apply(&net.w), q.apply(&net.v));
    let (sd, sm) = (1.0 / (d as f64).sqrt(), 1.0 / (m as f64).sqrt());
    let x = |i: usize, k: usize| data.x[k * n + i] as f64;
    let mut pre = vec![0f64; m * n];
    let mut f = vec![0f64; n];
    for i in 0..n {
        for j in 0..m {
            let h: f64 = (0..d).map(|k| wq[j * d + k] as f64 * x(i, k)).sum::<f64>() * sd;
            pre[j * n + i] = h;
            f[i] += vq[j] as f64 * sm * h.max(0.0);
        }
    }
    let loss = f
        .iter()
        .zip(&data.y)
        .map(|(a, &b)| (a - b as f64).powi(2))
        .sum::<f64>()
        / (2.0 * n as f64);
    let mut gw = vec![0f64; m * d];
    let mut gv = vec![0f64; m];
    for i in 0..n {
        let r = (f[i] - data.y[i] as f64) / n as f64;
        for j in 0..m {
            let h = pre[j * n + i];
            gv[j] += r * h.max(0.0) * sm;
            if h > 0.0 {
                for k in 0..d {
                    gw[j * d + k] += r * vq[j] as f64 * sm * sd * x(i, k);
                }
            }
        }
    }
    for (w, g) in net.w.iter_mut().zip(&gw) {
        *w = (*w as f64 - lr * g) as f32;
    }
    for (v, g) in net.v.iter_mut().zip(&gv) {
        *v = (*v as f64 - lr * g) as f32;
    }
    loss
}

/// What one training run ends with.
#[derive(Debug, Clone, PartialEq)]
pub struct Trained {
    /// The latent weights.
    pub net: Net,
    /// Training loss at every step (before it), then after the last.
    pub losses: Vec<f64>,
    /// Held-out outputs of the quantized network.
    pub test_out: Vec<f32>,
    /// Held-out loss.
    pub test_loss: f64,
}

/// Trains a width-`m` network with quantizer `q` on `(train, test)`; the
/// initialization depends on `(task.seed, m)` only, so full-precision and
/// quantized runs of one width start from the same weights.
pub fn train(task: &Task, m: usize, q: Quant, train: &Data, test: &Data) -> Trained {
    let mut net = Net::init(
        m,
        task.d,
        crate::rng::mix64(task.seed ^ (m as u64).wrapping_mul(0x1D1F)),
    );
    let mut losses: Vec<f64> = (0..task.steps)
        .map(|_| step(&mut net, q, train, task.lr))
        .collect();
    let final_net = Net {
        w: q.apply(&net.w),
        v: q.apply(&net.v),
        ..net.clone()
    };
    losses.push(mse_half(&final_net.predict(train), &train.y));
    let test_out = final_net.predict(test);
    let test_loss = mse_half(&test_out, &test.y);
    Trained {
        net,
        losses,
        test_out,
        test_loss,
    }
}

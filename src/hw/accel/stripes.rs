//! Classic bit-serial accelerator models, as closed forms relative to a
//! bit-parallel baseline that takes `T_parallel` cycles for a layer
//! (DaDianNao-style, 16-bit fixed point):
//!
//! - Stripes (Judd et al., MICRO 2016): activations bit-serial, so a
//!   convolutional layer takes `T ≈ T_parallel · P_a / 16` with `P_a` the
//!   layer's activation precision. Fully connected layers run at the
//!   baseline's speed (`T = T_parallel`): Stripes gains nothing there.
//! - Loom (Sharify et al., DAC 2018): weights and activations bit-serial;
//!   convolutional layers `T ∝ P_a · P_w / 256`, fully connected layers
//!   (weights only) `T ∝ P_w / 16`.
//!
//! `T_parallel = ceil(MACs / parallel_macs_per_cycle)`.

use serde::{Deserialize, Serialize};

/// Layer kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetKind {
    /// Convolution.
    Conv,
    /// Fully connected.
    Fc,
}

impl NetKind {
    /// `conv` or `fc`.
    pub fn name(self) -> &'static str {
        match self {
            NetKind::Conv => "conv",
            NetKind::Fc => "fc",
        }
    }
}

/// One layer of a network with its precisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetLayer {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: NetKind,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Activation precision, bits.
    pub p_a: u32,
    /// Weight precision, bits.
    pub p_w: u32,
}

/// A network for the Stripes/Loom models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Name.
    pub name: String,
    /// What it is, with a source.
    pub description: String,
    /// Layers.
    pub layers: Vec<NetLayer>,
}

/// Baseline cycles of a layer.
pub fn parallel_cycles(macs: u64, macs_per_cycle: u64) -> u64 {
    macs.div_ceil(macs_per_cycle.max(1))
}

/// Stripes cycles from the baseline's.
pub fn stripes_cycles(t_parallel: f64, kind: NetKind, p_a: u32) -> f64 {
    match kind {
        NetKind::Conv => t_parallel * p_a as f64 / 16.0,
        NetKind::Fc => t_parallel,
    }
}

/// Loom cycles from the baseline's.
pub fn loom_cycles(t_parallel: f64, kind: NetKind, p_a: u32, p_w: u32) -> f64 {
    match kind {
        NetKind::Conv => t_parallel * (p_a * p_w) as f64 / 256.0,
        NetKind::Fc => t_parallel * p_w as f64 / 16.0,
    }
}

/// One layer's cycles under the three models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetLayerResult {
    /// Layer name.
    pub layer: String,
    /// Kind.
    pub kind: NetKind,
    /// Activation precision.
    pub p_a: u32,
    /// Weight precision.
    pub p_w: u32,
    /// Baseline cycles.
    pub parallel: f64,
    /// Stripes cycles.
    pub stripes: f64,
    /// Loom cycles.
    pub loom: f64,
}

/// Runs the three models on every layer.
pub fn simulate(net: &Network, macs_per_cycle: u64) -> Vec<NetLayerResult> {
    net.layers
        .iter()
        .map(|l| {
            let t = parallel_cycles(l.macs, macs_per_cycle) as f64;
            NetLayerResult {
                layer: l.name.clone(),
                kind: l.kind,
                p_a: l.p_a,
                p_w: l.p_w,
                parallel: t,
                stripes: stripes_cycles(t, l.kind, l.p_a),
                loom: loom_cycles(t, l.kind, l.p_a, l.p_w),
            }
        })
        .collect()
}

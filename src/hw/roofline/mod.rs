//! Roofline: arithmetic intensity against compute and bandwidth ceilings.
//!
//! A [`Machine`] (TOML in `sims/`, e.g. `sims/machine-zen5.toml`, or written
//! by `bitsim calibrate`) lists compute ceilings by datatype and memory
//! bandwidths, per core and for all cores, each number with its source.
//! A variant's place on the roofline comes from its [`Cost`]:
//!
//! - **ops** = 2 × MACs: one multiply and one add per multiply-accumulate,
//!   the usual GFLOP/s convention for GEMM. Dequantization scale multiplies
//!   and per-group adds are overhead, not counted as useful work (so a
//!   compute-bound estimate is optimistic for heavily scaled formats).
//! - **arithmetic intensity** (AI) = ops / DRAM bytes of the cost (its
//!   `dram_bytes`: for the registered variants, weights at their storage
//!   width, activations and outputs, each moved once: compulsory traffic).
//! - **attainable** = min(peak of the datatype's ceiling, AI × DRAM
//!   bandwidth); the **ridge point** is peak / bandwidth: variants left of it
//!   are memory-bound, right of it compute-bound.
//! - **datatype → ceiling** ([`compute_kind`]), from the operations the cost
//!   counts once per MAC: an f64 multiply → [`ComputeKind::F64Fma`]; an f32
//!   multiply → [`ComputeKind::F32Fma`]; a narrower float multiply (bf16,
//!   fp16, FP8, FP6, FP4) → [`ComputeKind::Bf16Dot`] (the CPU widens narrow
//!   floats to bf16 and uses its dot-product instruction; conversion cost not
//!   counted); no float multiply but an f32-or-wider float add per MAC →
//!   `F32Fma`; only narrower float adds → `Bf16Dot`; only integer operations
//!   (int multiplies, sign-select adds of ternary/binary weights, XNOR and
//!   popcount) → [`ComputeKind::Int8Vnni`].
//! - A machine without a ceiling for a datatype falls back, with a note:
//!   f64 FMA → half the f32 FMA rate (an f64 lane is twice as wide); bf16 dot
//!   and int8 VNNI → the f32 FMA rate (inputs widened to f32).
//!
//! This file holds the model; `machine` reads and writes machine files, and
//! [`calibrate`] holds the micro-kernels that measure a machine.

pub mod calibrate;
mod machine;
pub mod peaks;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use self::machine::builtin_names;
use super::cost::{Cost, OpKind};

/// A compute ceiling's datatype (the instruction that sets it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ComputeKind {
    /// f64 fused multiply-add.
    F64Fma,
    /// f32 fused multiply-add (`vfmadd231ps`).
    F32Fma,
    /// bf16 pair dot product into f32 (`vdpbf16ps`).
    Bf16Dot,
    /// int8 × uint8 quad dot product into int32 (`vpdpbusd`).
    Int8Vnni,
}

impl ComputeKind {
    /// Every kind, in table order.
    pub const ALL: [ComputeKind; 4] = [
        ComputeKind::F64Fma,
        ComputeKind::F32Fma,
        ComputeKind::Bf16Dot,
        ComputeKind::Int8Vnni,
    ];

    /// The key in a machine file's `[compute]` table (`f32_fma`, …).
    pub fn key(self) -> &'static str {
        match self {
            ComputeKind::F64Fma => "f64_fma",
            ComputeKind::F32Fma => "f32_fma",
            ComputeKind::Bf16Dot => "bf16_dot",
            ComputeKind::Int8Vnni => "int8_vnni",
        }
    }

    /// Human-readable name with its unit (`f32 FMA, GFLOP/s`).
    pub fn label(self) -> &'static str {
        match self {
            ComputeKind::F64Fma => "f64 FMA",
            ComputeKind::F32Fma => "f32 FMA",
            ComputeKind::Bf16Dot => "bf16 dot",
            ComputeKind::Int8Vnni => "int8 VNNI",
        }
    }

    /// `GFLOP/s` for float ceilings, `GOP/s` for integer ones.
    pub fn unit(self) -> &'static str {
        match self {
            ComputeKind::Int8Vnni => "GOP/s",
            _ => "GFLOP/s",
        }
    }
}

/// A memory level with a bandwidth ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MemLevel {
    /// Main memory: the roofline's bandwidth.
    Dram,
    /// Last-level cache (optional, drawn for reference).
    L3,
    /// Per-core L2 (optional, drawn for reference).
    L2,
}

impl MemLevel {
    /// Every level, in table order.
    pub const ALL: [MemLevel; 3] = [MemLevel::Dram, MemLevel::L3, MemLevel::L2];

    /// The key in a machine file's `[bandwidth]` table.
    pub fn key(self) -> &'static str {
        match self {
            MemLevel::Dram => "dram",
            MemLevel::L3 => "l3",
            MemLevel::L2 => "l2",
        }
    }

    /// Upper-case name (`DRAM`, `L3`, `L2`).
    pub fn label(self) -> &'static str {
        match self {
            MemLevel::Dram => "DRAM",
            MemLevel::L3 => "L3",
            MemLevel::L2 => "L2",
        }
    }
}

/// Whether ceilings are taken for one core or for the whole machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Scope {
    /// One core (one thread).
    PerCore,
    /// Every core together.
    #[default]
    AllCores,
}

impl Scope {
    /// Parses `per-core` or `all-cores`.
    pub fn parse(s: &str) -> Result<Scope, String> {
        match s {
            "per-core" => Ok(Scope::PerCore),
            "all-cores" => Ok(Scope::AllCores),
            _ => Err(format!(
                "unknown scope '{s}' (expected per-core or all-cores)"
            )),
        }
    }

    /// `per-core` or `all-cores`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::PerCore => "per-core",
            Scope::AllCores => "all-cores",
        }
    }
}

/// One ceiling: a rate for one core and for all cores, and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ceiling {
    /// One core: G ops/s for compute, GB/s for bandwidth.
    pub per_core: f64,
    /// All cores together, same unit.
    pub all_cores: f64,
    /// Source: "measured, …" or `bitsim calibrate on CPU at DATE`.
    pub source: String,
}

impl Ceiling {
    /// The rate for `scope`.
    pub fn at(&self, scope: Scope) -> f64 {
        match scope {
            Scope::PerCore => self.per_core,
            Scope::AllCores => self.all_cores,
        }
    }
}

/// A machine model: compute and bandwidth ceilings with their sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Short name (e.g. `machine-zen5`).
    pub name: String,
    /// What machine this is.
    pub description: String,
    /// Cores the `all_cores` figures use.
    pub cores: u32,
    /// Compute ceilings by datatype (`f32_fma` is always present).
    pub compute: BTreeMap<ComputeKind, Ceiling>,
    /// Bandwidth ceilings by level (`dram` is always present).
    pub bandwidth: BTreeMap<MemLevel, Ceiling>,
}

/// The peak a datatype gets on a machine: its own ceiling or a fallback.
#[derive(Debug, Clone, PartialEq)]
pub struct Peak {
    /// G ops/s.
    pub gops: f64,
    /// The ceiling the number comes from.
    pub from: ComputeKind,
    /// Why a fallback was used, when one was.
    pub note: Option<String>,
}

/// Whether a point is under the slanted (memory) or flat (compute) roof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bound {
    /// AI × bandwidth < peak.
    Memory,
    /// AI × bandwidth ≥ peak.
    Compute,
}

impl Bound {
    /// `memory` or `compute`.
    pub fn name(self) -> &'static str {
        match self {
            Bound::Memory => "memory",
            Bound::Compute => "compute",
        }
    }
}

/// One cost placed on a machine's roofline.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Useful operations, 2 × MACs.
    pub ops: f64,
    /// DRAM bytes.
    pub dram_bytes: f64,
    /// ops / DRAM bytes (infinite without DRAM traffic).
    pub ai: f64,
    /// The datatype's ceiling by [`compute_kind`].
    pub kind: ComputeKind,
    /// Its peak on this machine (possibly a fallback).
    pub peak: Peak,
    /// DRAM bandwidth, GB/s.
    pub bandwidth_gbps: f64,
    /// min(peak, AI × bandwidth), G ops/s.
    pub attainable_gops: f64,
    /// Which roof limits it.
    pub bound: Bound,
}

/// min(peak, AI × bandwidth): G ops/s from G ops/s, ops/byte and GB/s.
pub fn attainable(peak_gops: f64, ai: f64, bandwidth_gbps: f64) -> f64 {
    peak_gops.min(ai * bandwidth_gbps)
}

/// The AI (ops/byte) where the memory roof meets the compute roof.
pub fn ridge_point(peak_gops: f64, bandwidth_gbps: f64) -> f64 {
    peak_gops / bandwidth_gbps
}

/// Useful operations of a cost: 2 × MACs.
pub fn ops(cost: &Cost) -> f64 {
    2.0 * cost.macs
}

/// Arithmetic intensity of a cost: 2 × MACs per DRAM byte (infinite with no
/// DRAM traffic, 0 with no MACs).
pub fn arithmetic_intensity(cost: &Cost) -> f64 {
    let ops = ops(cost);
    if ops == 0.0 {
        0.0
    } else if cost.dram_bytes > 0.0 {
        ops / cost.dram_bytes
    } else {
        f64::INFINITY
    }
}

/// The compute ceiling a cost's datatype runs on (rule in the module docs).
pub fn compute_kind(cost: &Cost) -> ComputeKind {
    // Per-MAC operations; a cost with none counts every operation.
    let per_mac: Vec<OpKind> = cost
        .ops
        .iter()
        .filter(|(_, n)| cost.macs > 0.0 && *n >= cost.macs)
        .map(|(k, _)| *k)
        .collect();
    let ops: Vec<OpKind> = if per_mac.is_empty() {
        cost.ops.iter().map(|(k, _)| *k).collect()
    } else {
        per_mac
    };
    let f64_wide = |e: u32, m: u32| e >= 11 || m >= 52;
    let f32_wide = |m: u32| m >= 23;
    let muls: Vec<(u32, u32)> = ops
        .iter()
        .filter_map(|k| match *k {
            OpKind::FpMul { ebits, mbits } => Some((ebits, mbits)),
            _ => None,
        })
        .collect();
    let adds: Vec<(u32, u32)> = ops
        .iter()
        .filter_map(|k| match *k {
            OpKind::FpAdd { ebits, mbits } => Some((ebits, mbits)),
            _ => None,
        })
        .collect();
    let widest = |v: &[(u32, u32)]| {
        if v.iter().any(|&(e, m)| f64_wide(e, m)) {
            Some(ComputeKind::F64Fma)
        } else if v.iter().any(|&(_, m)| f32_wide(m)) {
            Some(ComputeKind::F32Fma)
        } else if v.is_empty() {
            None
        } else {
            Some(ComputeKind::Bf16Dot)
        }
    };
    widest(&muls)
        .or_else(|| widest(&adds))
        .unwrap_or(ComputeKind::Int8Vnni)
}

impl Machine {
    /// Peak of `kind` for `scope`, or its fallback (see the module docs).
    pub fn peak(&self, kind: ComputeKind, scope: Scope) -> Peak {
        if let Some(c) = self.compute.get(&kind) {
            return Peak {
                gops: c.at(scope),
                from: kind,
                note: None,
            };
        }
        let f32 = self.compute[&ComputeKind::F32Fma].at(scope);
        let (gops, why) = match kind {
            ComputeKind::F64Fma => (
                f32 / 2.0,
                "half the f32 FMA rate (an f64 lane is twice as wide)",
            ),
            _ => (f32, "the f32 FMA rate (inputs widened to f32)"),
        };
        Peak {
            gops,
            from: ComputeKind::F32Fma,
            note: Some(format!(
                "{}: no `[compute.{}]` in {}: {why}",
                kind.label(),
                kind.key(),
                self.name
            )),
        }
    }

    /// Bandwidth of `level` for `scope`, GB/s, if the machine lists it.
    pub fn bandwidth_gbps(&self, level: MemLevel, scope: Scope) -> Option<f64> {
        self.bandwidth.get(&level).map(|c| c.at(scope))
    }

    /// DRAM bandwidth for `scope`, GB/s.
    pub fn dram_gbps(&self, scope: Scope) -> f64 {
        self.bandwidth[&MemLevel::Dram].at(scope)
    }

    /// Places a cost on the roofline for `scope`.
    pub fn place(&self, cost: &Cost, scope: Scope) -> Placement {
        let kind = compute_kind(cost);
        let peak = self.peak(kind, scope);
        let bw = self.dram_gbps(scope);
        let ai = arithmetic_intensity(cost);
        let attainable_gops = attainable(peak.gops, ai, bw);
        let bound = if ai * bw < peak.gops {
            Bound::Memory
        } else {
            Bound::Compute
        };
        Placement {
            ops: ops(cost),
            dram_bytes: cost.dram_bytes,
            ai,
            kind,
            peak,
            bandwidth_gbps: bw,
            attainable_gops,
            bound,
        }
    }
}

//! Roofline study: arithmetic intensity of every variant against the machine's compute and bandwidth ceilings.
//!
//! Every variant the suite runs is placed on the roofline of a machine file
//! ([`crate::hw::roofline`]) for each shape: arithmetic intensity (2 × MACs
//! per DRAM byte of its cost), the ceiling its datatype runs on, the
//! attainable rate min(peak, AI × DRAM bandwidth) and whether memory or
//! compute bounds it. Closed forms only: it runs in milliseconds.

use super::StudyContext;
use crate::hw::roofline::{self, Machine, MemLevel, Scope};
use crate::tensor::Shape;
use crate::variants;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.roofline]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RooflineParams {
    /// Machine file: a built-in name (`machine-zen5`) or a path relative to
    /// the suite file (e.g. one written by `bitsim calibrate --out`).
    pub machine: String,
    /// Shapes `[M, K, N]`; default a decode GEMV (1×4096×4096) and a
    /// prefill GEMM (512×4096×4096).
    pub shapes: Vec<[usize; 3]>,
    /// `all-cores` (default) or `per-core` ceilings.
    pub scope: String,
}

impl Default for RooflineParams {
    fn default() -> Self {
        RooflineParams {
            machine: "machine-zen5".into(),
            shapes: vec![[1, 4096, 4096], [512, 4096, 4096]],
            scope: Scope::AllCores.name().into(),
        }
    }
}

/// One ceiling of the machine as the study used it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CeilingRow {
    /// `f32 FMA`, `bf16 dot`, `int8 VNNI`, `f64 FMA`, or `DRAM`, `L3`, `L2` for bandwidths.
    pub label: String,
    /// Rate at the study's scope (G ops/s or GB/s).
    pub value: f64,
    /// `GFLOP/s`, `GOP/s` or `GB/s`.
    pub unit: String,
    /// Where the number comes from.
    pub source: String,
}

/// One variant at one shape on the roofline.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RooflinePoint {
    /// Variant name.
    pub variant: String,
    /// Shape `[M, K, N]`.
    pub shape: [usize; 3],
    /// The ceiling its datatype runs on (label of a compute [`CeilingRow`]).
    pub ceiling: String,
    /// Useful operations, 2 × MACs.
    pub ops: f64,
    /// DRAM bytes of its cost.
    pub dram_bytes: f64,
    /// Arithmetic intensity, ops per DRAM byte.
    pub ai: f64,
    /// Peak of its ceiling, G ops/s.
    pub peak_gops: f64,
    /// AI where its compute roof meets the DRAM roof.
    pub ridge_ai: f64,
    /// min(peak, AI × DRAM bandwidth), G ops/s.
    pub attainable_gops: f64,
    /// `memory` or `compute`.
    pub bound: String,
}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RooflineStudy {
    /// Machine name.
    pub machine: String,
    /// Machine description.
    pub machine_description: String,
    /// `all-cores` or `per-core`.
    pub scope: String,
    /// Cores behind the all-cores figures.
    pub cores: u32,
    /// Compute ceilings used by some variant (fallbacks resolved), in table order.
    pub compute: Vec<CeilingRow>,
    /// Bandwidths the machine lists (DRAM first); only DRAM bounds the points.
    pub bandwidth: Vec<CeilingRow>,
    /// Points, by shape then in the suite's variant order.
    pub points: Vec<RooflinePoint>,
    /// Notes: ceilings taken from a fallback, variants left out.
    pub notes: Vec<String>,
}

/// Checks the parameters; returns the scope and the machine.
fn check(params: &RooflineParams, ctx: &StudyContext) -> Result<(Scope, Machine), String> {
    let scope = Scope::parse(&params.scope).map_err(|e| format!("scope: {e}"))?;
    let machine = Machine::load_relative(&params.machine, Some(ctx.base))
        .map_err(|e| format!("machine: {e}"))?;
    if params.shapes.is_empty() {
        return Err("shapes: empty (give at least one [M, K, N])".into());
    }
    for s in &params.shapes {
        if s.contains(&0) {
            return Err(format!("shapes: {s:?}: every dimension must be at least 1"));
        }
    }
    Ok((scope, machine))
}

/// Runs the study.
pub fn run(params: &RooflineParams, ctx: &StudyContext) -> Result<RooflineStudy, String> {
    let (scope, machine) = check(params, ctx)?;
    let registry = variants::registry();
    let mut found = Vec::new();
    for name in ctx.variants {
        let v = registry
            .iter()
            .find(|v| v.name() == name)
            .ok_or_else(|| format!("unknown variant '{name}'"))?;
        found.push(v);
    }

    let bw = machine.dram_gbps(scope);
    let mut out = RooflineStudy {
        machine: machine.name.clone(),
        machine_description: machine.description.clone(),
        scope: scope.name().into(),
        cores: machine.cores,
        ..Default::default()
    };
    let mut kinds = Vec::new();
    for &[m, k, n] in &params.shapes {
        let shape = Shape { m, k, n };
        for v in &found {
            let cost = v.cost(shape);
            let p = machine.place(&cost, scope);
            if !(p.ai.is_finite() && p.ai > 0.0) {
                out.notes.push(format!(
                    "{} at {shape}: left out (its cost has {} MACs and {} DRAM bytes)",
                    v.name(),
                    cost.macs,
                    cost.dram_bytes
                ));
                continue;
            }
            if !kinds.contains(&p.kind) {
                kinds.push(p.kind);
            }
            out.points.push(RooflinePoint {
                variant: v.name().to_string(),
                shape: [m, k, n],
                ceiling: p.kind.label().into(),
                ops: p.ops,
                dram_bytes: p.dram_bytes,
                ai: p.ai,
                peak_gops: p.peak.gops,
                ridge_ai: roofline::ridge_point(p.peak.gops, bw),
                attainable_gops: p.attainable_gops,
                bound: p.bound.name().into(),
            });
        }
    }
    kinds.sort();
    for kind in kinds {
        let peak = machine.peak(kind, scope);
        let source = match &peak.note {
            Some(n) => format!("{n}; {}", machine.compute[&peak.from].source),
            None => machine.compute[&kind].source.clone(),
        };
        if let Some(n) = peak.note {
            out.notes.push(n);
        }
        out.compute.push(CeilingRow {
            label: kind.label().into(),
            value: peak.gops,
            unit: kind.unit().into(),
            source,
        });
    }
    for level in MemLevel::ALL {
        if let Some(c) = machine.bandwidth.get(&level) {
            out.bandwidth.push(CeilingRow {
                label: level.label().into(),
                value: c.at(scope),
                unit: "GB/s".into(),
                source: c.source.clone(),
            });
        }
    }
    Ok(out)
}

/// The study of roofline placement of every variant (registered in `with_studies`).
pub struct Roofline;

impl super::Study for Roofline {
    type Params = RooflineParams;
    type Output = RooflineStudy;
    fn validate(params: &RooflineParams, ctx: &StudyContext) -> Result<(), String> {
        check(params, ctx).map(drop)
    }
    fn run(params: &RooflineParams, ctx: &StudyContext) -> Result<RooflineStudy, String> {
        run(params, ctx)
    }
}

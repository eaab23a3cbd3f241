//! Studies: experiments on hardware units and memory hierarchies that go
//! beyond the variant × workload grid (L-Mul accuracy and energy,
//! accumulator behaviour, BitMoD data types and accelerator cycles, I/O
//! traffic versus cache size, the roofline). A suite enables each one with a
//! `[studies.NAME]` table whose keys are that study's parameters (every key
//! optional); the results go into `results.json` under `studies`, and the
//! report gives each its own section.
//!
//! Studies are deterministic (seeded) and take seconds: they run after the
//! suite's cells, every time (also on `--resume`).

pub mod accum;
pub mod bitmod;
pub mod io;
pub mod lmul;
pub mod roofline;

use crate::hw::energy::EnergyTable;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which studies a suite runs, with their parameters: the `[studies]` table
/// of a suite spec. A study whose table is absent does not run.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudiesSpec {
    /// `[studies.lmul]`: L-Mul accuracy and energy.
    #[serde(default)]
    pub lmul: Option<lmul::LmulParams>,
    /// `[studies.accum]`: accumulator formats and orders.
    #[serde(default)]
    pub accum: Option<accum::AccumParams>,
    /// `[studies.bitmod]`: BitMoD data types and accelerator cycles.
    #[serde(default)]
    pub bitmod: Option<bitmod::BitmodParams>,
    /// `[studies.io]`: memory traffic versus cache size and format.
    #[serde(default)]
    pub io: Option<io::IoParams>,
    /// `[studies.roofline]`: every variant against the machine's ceilings.
    #[serde(default)]
    pub roofline: Option<roofline::RooflineParams>,
}

/// The results of the studies that ran (absent ones did not).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Studies {
    /// L-Mul accuracy and energy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lmul: Option<lmul::LmulStudy>,
    /// Accumulator formats and orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accum: Option<accum::AccumStudy>,
    /// BitMoD data types and accelerator cycles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitmod: Option<bitmod::BitmodStudy>,
    /// Memory traffic versus cache size and format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<io::IoStudy>,
    /// Roofline placement of every variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roofline: Option<roofline::RooflineStudy>,
}

impl Studies {
    /// Whether no study ran.
    pub fn is_empty(&self) -> bool {
        *self == Studies::default()
    }
}

/// What every study may use from the suite.
pub struct StudyContext<'a> {
    /// The suite's energy table.
    pub energy: &'a EnergyTable,
    /// The folder relative paths in the spec are resolved against.
    pub base: &'a Path,
    /// The suite's first seed.
    pub seed: u64,
    /// Names of the variants the suite runs (for studies that place variants).
    pub variants: &'a [String],
}

/// Runs every enabled study, in the order of [`Studies`]' fields. Errors are
/// one line naming the study (`studies.bitmod: …`).
pub fn run(spec: &StudiesSpec, ctx: &StudyContext) -> Result<Studies, String> {
    fn go<P, S>(
        name: &str,
        p: &Option<P>,
        f: impl FnOnce(&P) -> Result<S, String>,
    ) -> Result<Option<S>, String> {
        p.as_ref()
            .map(f)
            .transpose()
            .map_err(|e| format!("studies.{name}: {e}"))
    }
    Ok(Studies {
        lmul: go("lmul", &spec.lmul, |p| lmul::run(p, ctx))?,
        accum: go("accum", &spec.accum, |p| accum::run(p, ctx))?,
        bitmod: go("bitmod", &spec.bitmod, |p| bitmod::run(p, ctx))?,
        io: go("io", &spec.io, |p| io::run(p, ctx))?,
        roofline: go("roofline", &spec.roofline, |p| roofline::run(p, ctx))?,
    })
}

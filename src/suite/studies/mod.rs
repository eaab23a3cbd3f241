//! Studies: experiments on hardware units and memory hierarchies that go
//! beyond the variant × workload grid (L-Mul accuracy and energy,
//! accumulator behaviour, BitMoD data types and accelerator cycles, I/O
//! traffic versus cache size, the roofline, a real model through the
//! variants). A suite enables each one with a
//! `[studies.NAME]` table whose keys are that study's parameters (every key
//! optional); the results go into `results.json` under `studies`, and the
//! report gives each its own section.
//!
//! Studies are deterministic (seeded) and take seconds: their values are
//! checked ([`Study::validate`]) before the suite's first cell, and they run
//! after the cells, every time (also on `--resume`).
//!
//! Adding a study `NAME`: a file `NAME.rs` here (its parameters, result,
//! validation and run, and a type implementing [`Study`]), its `pub mod` line and one line in
//! `with_studies`; then its report section: `report/sections/NAME.rs` (a
//! `render` function), its `pub mod` line there, and its template in
//! `reports/templates/sections/`. The spec grammar, `results.json` and the
//! report's page follow from the list.

pub mod accum;
pub mod attention;
pub mod bitmod;
pub mod coupling;
pub mod io;
pub mod lmul;
pub mod model;
pub mod paretoq;
pub mod roofline;
pub mod scaling1bit;
pub mod twolayer;

use crate::hw::energy::EnergyTable;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::path::Path;

/// A study: typed parameters (its `[studies.NAME]` table, every key
/// optional, unknown keys rejected by their name), a run, and a result
/// stored in `results.json` under `studies.NAME`. The report renders the
/// result (see `report::sections`).
pub trait Study {
    /// The `[studies.NAME]` table.
    type Params: DeserializeOwned + Debug + Clone + PartialEq;
    /// The result, as stored in `results.json`.
    type Output: Serialize + DeserializeOwned + Debug + Clone + PartialEq;
    /// Checks every parameter (and what it names: files, variants, formats)
    /// without running anything. Called for every enabled study before the
    /// suite's first cell, so a bad value costs no run. The error is one
    /// line `KEY: reason` (KEY a key of the study's table where one is at
    /// fault), without the study's name.
    fn validate(params: &Self::Params, ctx: &StudyContext) -> Result<(), String>;
    /// Runs the study (its parameters have passed [`Study::validate`]); the
    /// error is one line, without the study's name (the caller prefixes
    /// `studies.NAME: `).
    fn run(params: &Self::Params, ctx: &StudyContext) -> Result<Self::Output, String>;
}

/// Calls `$then! { NAME::Type, "description"; … }` with the registry
/// of studies, in run and page order: the one list a new study is added to.
/// (Layers above use it to follow the list, e.g. the report's sections.)
macro_rules! with_studies {
    ($then:ident) => {
        $then! {
            lmul::Lmul, "L-Mul accuracy and energy";
            accum::Accum, "Accumulator formats and orders";
            bitmod::Bitmod, "BitMoD data types and accelerator cycles";
            io::Io, "Memory traffic versus cache size and format";
            roofline::Roofline, "Every variant against the machine's ceilings";
            attention::Attention, "Attention variants against the f64 reference";

            coupling::Coupling, "Communication-free coupling: which format drafts best";
            scaling1bit::Scaling1bit, "1-bit scaling law of two-layer networks";
            paretoq::Paretoq, "Weight bit widths at equal memory";
            model::RealModel, "A real model (all-MiniLM-L6-v2) through the variants";
        }
    };
}
pub(crate) use with_studies;

/// The spec table, the results and the run of the registered studies.
macro_rules! define_studies {
    ($($name:ident::$study:ident, $doc:literal;)*) => {
        /// Which studies a suite runs, with their parameters: the `[studies]` table
        /// of a suite spec. A study whose table is absent does not run.
        #[derive(Debug, Clone, PartialEq, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct StudiesSpec {
            $(
                #[doc = concat!("`[studies.", stringify!($name), "]`: ", $doc, ".")]
                #[serde(default)]
                pub $name: Option<<$name::$study as Study>::Params>,
            )*
        }

        /// The results of the studies that ran (absent ones did not).
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        pub struct Studies {
            $(
                #[doc = concat!($doc, ".")]
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $name: Option<<$name::$study as Study>::Output>,
            )*
        }

        /// Validates every enabled study's parameters ([`Study::validate`]), in
        /// registry order: the first error as `(NAME, "KEY: reason")`.
        pub fn validate(spec: &StudiesSpec, ctx: &StudyContext) -> Result<(), (&'static str, String)> {
            $(
                if let Some(p) = &spec.$name {
                    <$name::$study as Study>::validate(p, ctx)
                        .map_err(|e| (stringify!($name), e))?;
                }
            )*
            Ok(())
        }

        /// Runs every enabled study, in registry order. Errors are one line
        /// naming the study (`studies.bitmod: …`).
        pub fn run(spec: &StudiesSpec, ctx: &StudyContext) -> Result<Studies, String> {
            run_watched(spec, ctx, &mut |_| {})
        }

        /// How many studies `spec` enables.
        pub fn enabled(spec: &StudiesSpec) -> usize {
            0 $(+ usize::from(spec.$name.is_some()))*
        }

        /// [`run`], calling `starting(NAME)` before each study runs (for a
        /// progress display: a study can take minutes).
        pub fn run_watched(
            spec: &StudiesSpec,
            ctx: &StudyContext,
            starting: &mut dyn FnMut(&'static str),
        ) -> Result<Studies, String> {
            Ok(Studies {
                $(
                    $name: spec
                        .$name
                        .as_ref()
                        .map(|p| {
                            starting(stringify!($name));
                            <$name::$study as Study>::run(p, ctx)
                        })
                        .transpose()
                        .map_err(|e| format!("studies.{}: {e}", stringify!($name)))?,
                )*
            })
        }
    };
}
with_studies!(define_studies);

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

//! Suites: spec files ([`spec`]), the runner ([`runner`]), result records
//! ([`record`]) and the results files ([`files`]).
//!
//! A suite names variants, workloads, shapes and seeds; the runner measures
//! every cell (variant × workload × shape × seed) and writes tidy rows that
//! the report and `bitsim compare` read.

pub mod files;
pub mod meta;
pub mod record;
pub mod runner;
pub mod spec;
pub mod studies;
pub mod weights;

pub use runner::{run_suite, RunOptions, RunSummary, Toolkit, REFERENCE_VARIANT};
pub use spec::{SpecError, Suite};

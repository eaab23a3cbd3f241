//! Suites: spec files ([`spec`]), the pipeline that runs one ([`run`]), and
//! its parts: planning ([`plan`]), measuring ([`measure`]), the cells'
//! runner ([`runner`]), writing as cells complete ([`sink`]), result records
//! ([`record`]), the results files ([`files`]) and the studies ([`studies`]).
//!
//! A suite names variants, workloads, shapes and seeds; the runner measures
//! every cell (variant × workload × shape × seed) and writes tidy rows that
//! the report and `bitsim compare` read.

pub mod attention_bench;
pub mod attention_cell;
pub mod error;
pub mod explore;
pub mod files;
pub mod kernel_bench;
pub mod kernel_gate;
pub mod measure;
pub mod meta;
pub mod order;
pub mod pipeline;
pub mod plan;
pub mod record;
pub mod resume;
pub mod runner;
pub mod shard;
pub mod sink;
pub mod spec;
pub mod studies;

pub use error::RunError;
pub use measure::{Toolkit, REFERENCE_VARIANT};
pub use pipeline::{energy_table, run};
pub use runner::{run_suite, RunOptions, RunSummary};
pub use shard::{merge, Shard};
pub use spec::{SpecError, Suite};

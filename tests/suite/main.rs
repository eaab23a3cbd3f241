//! Suites, the runner, workloads, metrics, the report, and the layer rule of src/lib.rs.
//!
//! One test binary per layer (linking many small binaries dominates build time);
//! each file below was its own binary before.

#[path = "../seeded/mod.rs"]
mod seeded;

mod explore;

mod approx_report;
mod attention_suite;
mod coupling;
mod embedding;
mod eval_set;
mod layers;
mod metrics;
mod native;
mod report;
mod shard;
mod suite;
mod synthetic;
mod twolayer;
mod workload;

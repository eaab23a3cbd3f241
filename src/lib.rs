//! bitsim: a hardware-model simulator and benchmarking harness for low-bit
//! arithmetic.
//!
//! # Layers
//!
//! Modules form layers, lowest first. A module may use modules of lower
//! layers only: never one above it, never a sibling of its own layer
//! (`tests/layers.rs` reads every `crate::` path and enforces this, and that
//! no two modules in one folder import each other in a circle).
//!
//! | rank | layer | modules |
//! |---|---|---|
//! | 0 | ground: plain shared data, CPU features, files, seeds | [`tensor`], [`atomic_file`], [`rng`] |
//! | 1 | bit-exact number formats | [`formats`] |
//! | 2 | arithmetic units | [`arith`] |
//! | 3 | cost models; workloads; accuracy metrics | [`hw`], [`workload`], [`metrics`] |
//! | 4 | matmul variants (emulation, native kernel, cost) | [`variants`] |
//! | 5 | suites, the pipeline, studies, result records | [`suite`] |
//! | 6 | the HTML report and comparisons | [`report`] |
//! | 7 | the command line | [`cli`] |
//!
//! Ground modules may use each other. The native-kernel, attention and model
//! layers will sit between `hw`/`workload`/`metrics` and `suite`.

pub mod arith;
pub mod atomic_file;
pub mod cli;
pub mod formats;
pub mod hw;
pub mod metrics;
pub mod report;
pub mod rng;
pub mod suite;
pub mod tensor;
pub mod variants;
pub mod workload;

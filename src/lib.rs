//! bitsim: a hardware-model simulator and benchmarking harness for low-bit
//! arithmetic.
//!
//! # Layers
//!
//! Modules form layers, lowest first. A module may use modules of lower
//! layers only: never one above it, never a sibling of its own layer
//! (`tests/suite/layers.rs` reads every `crate::` path and enforces this,
//! and that no two modules in one folder import each other in a circle).
//!
//! | rank | layer | modules |
//! |---|---|---|
//! | 0 | ground: shared plain data, CPU features and the one SIMD dispatch, data files and sizes, seeded randomness, atomic output files, f32 binades | [`tensor`], [`isa`], [`datafile`], [`size`], [`rng`], [`atomic_file`], [`binade`] |
//! | 1 | bit-exact number formats | [`formats`] |
//! | 2 | arithmetic units | [`arith`] |
//! | 3 | cost models; workloads; accuracy metrics | [`hw`], [`workload`], [`metrics`] |
//! | 4 | native SIMD kernels (packing, micro-kernels, same bits as the emulation) | [`kernels`] |
//! | 5 | matmul variants (emulation, optional native kernel, cost) | [`variants`] |
//! | 6 | attention variants | [`attention`] |
//! | 7 | a real model (all-MiniLM-L6-v2) on chosen matmul and attention variants | [`model`] |
//! | 8 | suites, the pipeline, studies, result records | [`suite`] |
//! | 9 | the HTML report and comparisons | [`report`] |
//! | 10 | the command line | [`cli`] |
//!
//! Ground modules may use each other.

#![warn(missing_docs)]

pub mod arith;
pub mod atomic_file;
pub mod attention;
pub mod binade;
pub mod cli;
pub mod datafile;
pub mod formats;
pub mod hw;
pub mod isa;
pub mod kernels;
pub mod metrics;
pub mod model;
pub mod report;
pub mod rng;
pub mod size;
pub mod suite;
pub mod tensor;
pub mod variants;
pub mod workload;

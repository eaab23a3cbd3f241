//! bitsim: a hardware-model simulator and benchmarking harness for low-bit
//! arithmetic.
//!
//! Layers follow the project's design: [`formats`] (bit-exact number formats)
//! at the bottom, the command line in [`cli`] on top.

pub mod arith;
pub mod atomic_file;
pub mod cli;
pub mod formats;
pub mod hw;
pub mod isa;
pub mod metrics;
pub mod report;
pub mod suite;
pub mod variants;
pub mod workload;

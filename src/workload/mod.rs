//! Workloads: their grammar in a suite spec ([`spec`]), matrices from seeded
//! generators ([`gen`]) or files ([`npy`], [`safetensors`], [`weights`]),
//! and a suite's cases with their operands ([`cases`]).

pub mod attention;
pub mod cases;
pub mod gen;
pub mod npy;
pub mod safetensors;
pub mod spec;
pub mod weights;

pub use crate::tensor::Matrix;

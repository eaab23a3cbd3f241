//! Workloads: their grammar in a suite spec ([`spec`]), matrices from seeded
//! generators ([`gen`]) or files ([`npy`], [`safetensors`], [`weights`]),
//! a suite's cases with their operands ([`cases`]), and the sentence
//! evaluation set of the real-model study ([`eval_set`]).

pub mod attention;
pub mod attention_spec;
pub mod cases;
pub mod eval_set;
pub mod gen;
pub mod npy;
pub mod npy_map;
pub mod safetensors;
pub mod span;
pub mod spec;
pub mod weights;

pub use crate::tensor::Matrix;

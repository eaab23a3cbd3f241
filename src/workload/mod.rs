//! Workloads: matrices from seeded generators ([`gen`]) or files ([`npy`],
//! [`safetensors`]).

pub mod gen;
pub mod npy;
pub mod safetensors;

pub use crate::tensor::Matrix;

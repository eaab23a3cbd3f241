//! Workloads: matrices from seeded generators ([`gen`]) or files ([`npy`],
//! [`safetensors`]).

pub mod gen;
pub mod matrix;
pub mod npy;
pub mod safetensors;

pub use matrix::Matrix;

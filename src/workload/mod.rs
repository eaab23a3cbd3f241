//! Workloads: tensors read from files (and, later, seeded generators).
//!
//! [`npy`] loads and saves NumPy `.npy` arrays.

pub mod npy;

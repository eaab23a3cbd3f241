//! Cost models: energy tables, cache simulator, I/O closed forms, trace generators, roofline, accelerators, data files.
//!
//! One test binary per layer (linking many small binaries dominates build time);
//! each file below was its own binary before.

#[path = "../cli_support/mod.rs"]
mod cli_support;
#[path = "../seeded/mod.rs"]
mod seeded;

mod accel;
mod cache;
mod cache_files;
mod cache_fused;
mod cache_layouts;
mod datafile;
mod energy;
mod inclusion;
mod iomodel;
mod roofline;
mod tracegen;

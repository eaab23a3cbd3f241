//! Matmul variants: emulation against independent models, accumulator and L-Mul families.
//!
//! One test binary per layer (linking many small binaries dominates build time);
//! each file below was its own binary before.

#[path = "../seeded/mod.rs"]
mod seeded;

mod accum;
mod bitnet;
mod common;
mod ggml;
mod lmul;
mod quant;
mod ternary;

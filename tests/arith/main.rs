//! Arithmetic units: float ops, accumulators, L-Mul, bit-serial PEs, and their oracles.
//!
//! One test binary per layer (linking many small binaries dominates build time);
//! each file below was its own binary before.

#[path = "../seeded/mod.rs"]
mod seeded;
#[path = "../softfloat_c/mod.rs"]
mod softfloat_c;

mod accum;
mod bitserial;
mod dpbf16;
mod float;
mod float_simd;
mod float_slices;
mod lmul;
mod oracle_apfloat;
mod oracle_softfloat;

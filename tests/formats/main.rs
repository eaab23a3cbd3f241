//! Number formats: parsing, every code, the fast path against its reference, oracles (apfloat, half, SoftFloat), MX/NVFP4, packing, the ISA cap.
//!
//! One test binary per layer (linking many small binaries dominates build time);
//! each file below was its own binary before.

#[path = "../cli_support/mod.rs"]
mod cli_support;
#[path = "../seeded/mod.rs"]
mod seeded;
#[path = "../softfloat_c/mod.rs"]
mod softfloat_c;

mod exhaustive_codes;
mod exhaustive_f32;
mod fast_path;
mod int_formats;
mod isa;
mod mx;
mod oracle_apfloat;
mod oracle_half;
mod oracle_softfloat;
mod pack;
mod parse;
mod scaled;
mod scaled_fast;
mod spec_tables;
mod stochastic;
mod ternary;

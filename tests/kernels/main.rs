//! Native kernels: every kernel returns exactly its variant's emulation, at
//! every ISA level this CPU has, on seeded operands of several distributions,
//! ragged shapes, special values and the traps that broke shipping kernels;
//! the in-kernel activation quantizers equal the variants' quantizers.
//!
//! Tests that cap the ISA level hold [`LEVEL_LOCK`], so a level set for one
//! comparison is the level it runs at.

#[path = "../seeded/mod.rs"]
mod seeded;

mod bitmod;
mod block_tiles;
mod dpbf16;
mod equal_bits;
mod f32_out;
mod fp8_acc;
mod ggml;
mod narrow_topk;
mod qjl;
mod quantizers;
mod scaled_float;
mod seq_registers;
mod ternary;
mod traps;

use bitsim::isa::{self, IsaLevel};
use bitsim::tensor::Matrix;
use bitsim::variants::MatmulVariant;
use std::sync::Mutex;

/// Held while a test caps the ISA level.
pub static LEVEL_LOCK: Mutex<()> = Mutex::new(());

/// Equal bits, output by output (so −0 ≠ +0), except that any NaN equals
/// any NaN: Rust and LLVM leave the sign and payload of a NaN produced by
/// arithmetic unspecified (compilers may swap the operands of an add), so
/// no two compiled loops are promised the same NaN bits.
pub fn assert_bits_eq(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.is_nan() && w.is_nan() {
            continue;
        }
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{what}: output {i}: got {g:e}, want {w:e}"
        );
    }
}

/// Runs `v`'s native kernel and its emulation on one case at every ISA level
/// this CPU has (the caller holds [`LEVEL_LOCK`]), asserting equal bits;
/// returns the emulation's output for checks of its own.
pub fn check(v: &dyn MatmulVariant, a: &Matrix, w: &Matrix, what: &str) -> Vec<f64> {
    let want = v.emulate(a, w, 0);
    let mut native = v.native().expect("has a native kernel");
    native.pack_weights(w);
    let mut levels = 0;
    for level in IsaLevel::available() {
        isa::set_cap(level);
        let got = native.matmul(a);
        assert_bits_eq(&format!("{} {what} at {level}", v.name()), &got, &want);
        levels += 1;
    }
    isa::set_cap(IsaLevel::Avx512);
    assert!(levels >= 1, "no ISA level ran");
    want
}

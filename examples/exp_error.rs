//! Measures the worst error of the softmax exponentials
//! (`arith::exp::exp_f32` and `exp2_f32`) against f64 `exp`/`exp2` over every
//! f32 in their ranges, in ulps of the correctly rounded result. Run:
//! `cargo run --release --example exp_error`.

use bitsim::arith::exp::{ulp_error, ulp_error2, EXP2_MAX, EXP2_MIN, EXP_MAX, EXP_MIN};
use rayon::prelude::*;

fn worst(lo: f32, hi: f32, err: fn(f32) -> f64) -> (f64, f32) {
    (0u32..1 << 16)
        .into_par_iter()
        .flat_map_iter(|hi| (0u32..1 << 16).map(move |lo| f32::from_bits(hi << 16 | lo)))
        .filter(|x| *x >= lo && *x < hi)
        .map(|x| (err(x), x))
        .reduce(|| (0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
}

fn main() {
    let (u, x) = worst(EXP_MIN, EXP_MAX, ulp_error);
    println!("exp_f32  over every f32 in [{EXP_MIN}, {EXP_MAX}): worst {u:.3} ulp at x = {x:e}");
    let (u, x) = worst(EXP2_MIN, EXP2_MAX, ulp_error2);
    println!("exp2_f32 over every f32 in [{EXP2_MIN}, {EXP2_MAX}): worst {u:.3} ulp at x = {x:e}");
}

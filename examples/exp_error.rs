//! Measures the worst error of the softmax exponential (`arith::exp::exp_f32`)
//! against f64 `exp` over every f32 in its normal-result range, in ulps of the
//! correctly rounded result and relatively. Run:
//! `cargo run --release --example exp_error`.

use bitsim::arith::exp::{exp_f32, ulp_error, EXP_MAX, EXP_MIN};
use rayon::prelude::*;

fn main() {
    // Every f32 bit pattern, keeping those in [EXP_MIN, EXP_MAX).
    let (worst_ulp, at_ulp, worst_rel, at_rel) = (0u64..1 << 32)
        .into_par_iter()
        .with_min_len(1 << 16)
        .map(|b| f32::from_bits(b as u32))
        .filter(|x| *x >= EXP_MIN && *x < EXP_MAX)
        .map(|x| {
            let exact = (x as f64).exp();
            let rel = if exact >= f32::MIN_POSITIVE as f64 {
                ((exp_f32(x) as f64) - exact).abs() / exact
            } else {
                0.0
            };
            (ulp_error(x), x, rel, x)
        })
        .reduce(
            || (0.0, 0.0, 0.0, 0.0),
            |a, b| {
                let (u, ux) = if b.0 > a.0 { (b.0, b.1) } else { (a.0, a.1) };
                let (r, rx) = if b.2 > a.2 { (b.2, b.3) } else { (a.2, a.3) };
                (u, ux, r, rx)
            },
        );
    println!("exp_f32 over every f32 in [{EXP_MIN}, {EXP_MAX}):");
    println!("  worst error {worst_ulp:.3} ulp at x = {at_ulp:e}");
    println!("  worst relative error {worst_rel:.3e} at x = {at_rel:e}");
}

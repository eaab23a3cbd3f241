//! Prints the text form of a run-to-run comparison (`bitsim compare`) of two
//! synthetic runs: a slower variant, a removed seed, a worse metric and a
//! changed energy table.
//!
//! ```text
//! cargo run --example compare_text
//! ```

#[path = "../tests/suite/synthetic.rs"]
mod synthetic;

use bitsim::report::compare::compare;
use synthetic::{synthetic, with_throughput};

fn main() {
    let old = synthetic();
    let mut new = with_throughput(&old, "matmul/w8a8-int8", 0.8, 0.0);
    new.rows
        .retain(|m| m.variant != "matmul/w2a8-ternary" || m.seed != 2);
    new.rows[3].value *= 0.9;
    new.meta.energy_table = "horowitz-7nm".into();
    print!("{}", compare(&old, &new, 5.0).render_text());
}

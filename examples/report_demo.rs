//! Writes the synthetic report three ways (plain; against a baseline that
//! differs; sixteen crowded variants on a log axis) into a folder, to look
//! at them in a browser:
//!
//! ```text
//! cargo run --release --example report_demo -- reports/out/demo
//! ```

#[path = "../tests/suite/synthetic.rs"]
mod synthetic;

use bitsim::report::write_report;
use bitsim::suite::record::{metric, Results};
use synthetic::{row, synthetic, with_throughput};

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: report_demo OUT_DIR");
        std::process::exit(2);
    };
    let old = synthetic();
    let mut new = with_throughput(&old, "matmul/w2a8-ternary", 0.8, 0.0);
    for r in new
        .rows
        .iter_mut()
        .filter(|r| r.variant == "matmul/w8a8-e4m3" && r.metric == metric::SQNR_DB)
    {
        r.value -= 3.0;
    }
    let dir = std::path::Path::new(&dir);
    write_report(&old, None, &dir.join("plain")).unwrap_or_else(|e| fail(&e));
    write_report(&new, Some(&old), &dir.join("baseline")).unwrap_or_else(|e| fail(&e));
    // Sixteen variants, close together, energies over three decades (log axis).
    let mut crowded = Results {
        meta: old.meta.clone(),
        rows: Vec::new(),
        ..Default::default()
    };
    for i in 0..16u32 {
        let v = format!("matmul/variant-{i:02}-w{}a8", 1 + i % 8);
        let x = f64::from(i);
        let energy = 0.05 * 10f64.powf(x / 5.0) * (1.0 + 0.1 * (x * 1.7).sin());
        let err = 0.3 * 10f64.powf(-x / 6.0) * (1.0 + 0.5 * (x * 2.3).cos());
        for (m, val) in [
            (metric::ENERGY_PJ_PER_MAC, energy),
            (metric::REL_FRO_ERROR, err),
        ] {
            crowded
                .rows
                .push(row(&v, "gaussian", "16x64x32", 1, m, val, 0));
        }
    }
    write_report(&crowded, None, &dir.join("crowded")).unwrap_or_else(|e| fail(&e));
}

fn fail(e: &str) -> ! {
    eprintln!("report_demo: {e}");
    std::process::exit(1);
}

//! SALE's reproduction (REPRODUCTIONS.md): block sparsity, output error and
//! attention-mass recall against τ, and the selection's cost beside full
//! attention's as `cost()` counts them (operations, and energy through the
//! default energy table). Every error is against the f64 reference of the
//! same input. Run:
//! `cargo run --release --example sale_repro [WORKLOAD H N D SEED]`
//! (WORKLOAD `realistic` or `gaussian`; default realistic 2 4096 64 0,
//! causal prefill).

use bitsim::attention::sale::{Sale, DENSE_BELOW};
use bitsim::attention::{self, AttentionVariant, AttnShape, Phase};
use bitsim::hw::energy::EnergyTable;
use bitsim::metrics::accuracy;
use bitsim::metrics::attention::{mass_recall, spectral_rel_error};
use bitsim::workload::attention::{gaussian, realistic};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workload = args.first().cloned().unwrap_or_else(|| "realistic".into());
    let num: Vec<u64> = args.iter().skip(1).filter_map(|s| s.parse().ok()).collect();
    let (h, n, d, seed) = match num[..] {
        [h, n, d, s] => (h as usize, n as usize, d as usize, s),
        _ => (2, 4096, 64, 0),
    };
    let shape = AttnShape::of(h, n, d, true, Phase::Prefill);
    let x = match workload.as_str() {
        "gaussian" => gaussian(shape, seed),
        _ => realistic(shape, seed),
    };
    let reference = attention::find("attention/f64").unwrap();
    let r = reference.emulate(&x);
    let r_scores = reference.scores(&x);
    let sage = attention::find("attention/sage-int8").unwrap();
    let table = EnergyTable::load("energy-45nm").expect("built-in table");
    let dense_cost = sage.cost(shape);
    let dense_pj = table.energy(&dense_cost).compute_pj;
    let e_dense = accuracy(&r, &sage.emulate(&x)).rel_fro_error;
    println!("workload {workload}, {shape}, seed {seed}");
    println!("sage-int8 (dense): rel. error {e_dense:.4e}, compute {dense_pj:.4e} pJ");
    println!("tau       | block sparsity | rel. Frobenius error | spectral rel. error | mass recall (mean / min) | compute pJ / dense");
    let taus = [
        0.0f32, 1e-4, 5e-4, 1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2, 6.4e-2,
    ];
    for tau in taus {
        let s = Sale {
            name: "sale",
            description: "",
            tau,
            calibrate: false,
            dense_below: DENSE_BELOW,
        };
        let sel = s.selection(&x);
        let o = s.run_with(&x, &sel);
        let cov = s.coverage(&x).unwrap();
        let rec = mass_recall(&r_scores, &cov, n);
        let pj = table.energy(&s.cost_on(&x)).compute_pj;
        println!(
            "{tau:<9} | {:>14.4} | {:>20.4e} | {:>19.4e} | {:>10.6} / {:>10.6} | {:.4}",
            sel.sparsity(),
            accuracy(&r, &o).rel_fro_error,
            spectral_rel_error(&r, &o, h, d, seed),
            rec.mean,
            rec.min,
            pj / dense_pj
        );
    }
    // The selection's own cost beside full attention's, by N (τ-free:
    // the estimate covers every pair outside the exact region).
    println!("\nselection overhead as counted by cost() (compute energy, default table):");
    println!("N      | selection pJ / sage-int8 dense pJ | selection pJ / flash-f32 pJ | INT4 MACs / dense MACs");
    let flash = attention::find("attention/flash-f32").unwrap();
    let s = Sale {
        name: "sale",
        description: "",
        tau: 0.004,
        calibrate: false,
        dense_below: DENSE_BELOW,
    };
    for n in [2048usize, 4096, 8192, 16384, 32768, 65536, 131072] {
        let sh = AttnShape::of(1, n, d, true, Phase::Prefill);
        let sel = s.selection_cost(sh);
        let sel_pj = table.energy(&sel).compute_pj;
        let dense = table.energy(&sage.cost(sh)).compute_pj;
        let fl = table.energy(&flash.cost(sh)).compute_pj;
        let (est, _) = bitsim::attention::sale::pair_split(sh);
        println!(
            "{n:<6} | {:>33.4} | {:>27.4} | {:.4}",
            sel_pj / dense,
            sel_pj / fl,
            est / sh.pairs()
        );
    }
}

//! EcoFormer's reproduction (REPRODUCTIONS.md): the paper's energy
//! arithmetic through the 45 nm energy table, the energy of its attention
//! against softmax attention at PVTv2-B0's shapes (operations counted the
//! paper's way: [`EcoFormer::paper_counts`], [`msa_paper_counts`]), and its
//! accuracy on the realistic workload against the f64 reference, beside
//! uniform attention (the mean of the visible values) as a floor. Run:
//! `cargo run --release --example ecoformer_repro [H N D SEED]`
//! (default 2 1024 64 0, non-causal prefill).

use bitsim::attention::ecoformer::{msa_paper_counts, EcoFormer, ANCHORS, BITS};
use bitsim::attention::{self, AttentionVariant, AttnShape, Phase};
use bitsim::hw::cost::OpKind;
use bitsim::hw::energy::EnergyTable;
use bitsim::metrics::accuracy;
use bitsim::metrics::attention::spectral_rel_error;
use bitsim::workload::attention::realistic;

fn main() {
    let a: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let (h, n, d, seed) = match a[..] {
        [h, n, d, s] => (h as usize, n as usize, d as usize, s),
        _ => (2, 1024, 64, 0),
    };
    let t = EnergyTable::load("energy-45nm").expect("built-in table");
    let (mul, add) = (t.pj(OpKind::F32_MUL).0, t.pj(OpKind::F32_ADD).0);
    println!(
        "energy table {}: f32 mul {mul} pJ, f32 add {add} pJ",
        t.name
    );
    let e = 0.54e9 * mul + 0.56e9 * add;
    println!("PVTv2-B0 (paper: 0.54 G mul + 0.56 G add = 2.50e9 pJ): {e:.4e} pJ");

    // PVTv2-B0 at 224×224: tokens, channels, heads, spatial reduction, depth.
    let stages = [
        (3136usize, 32usize, 1usize, 8usize, 2usize),
        (784, 64, 2, 4, 2),
        (196, 160, 5, 2, 2),
        (49, 256, 8, 1, 2),
    ];
    let eco = EcoFormer {
        name: "ecoformer",
        description: "",
        anchors: ANCHORS,
        bits: BITS,
        seed: 13,
    };
    let pj = |(m, a): (f64, f64)| m * mul + a * add;
    println!("\nattention core per stage (all layers), paper's counting, pJ:");
    println!("stage | N    | C   | heads | keys (SRA) | MSA with SR | MSA full N | EcoFormer | Eco/MSA-SR | Eco/MSA-full");
    let (mut t_sr, mut t_full, mut t_eco) = (0.0, 0.0, 0.0);
    for (s, &(nt, c, heads, sr, depth)) in stages.iter().enumerate() {
        let ch = c / heads;
        let nk = nt / (sr * sr);
        let dep = depth as f64;
        let sra = dep * pj(msa_paper_counts(heads, nt, nk, ch));
        let full = dep * pj(msa_paper_counts(heads, nt, nt, ch));
        let ec = dep * pj(eco.paper_counts(heads, nt, nt, ch));
        t_sr += sra;
        t_full += full;
        t_eco += ec;
        println!(
            "{} | {nt:<4} | {c:<3} | {heads:<5} | {nk:<10} | {sra:.4e} | {full:.4e} | {ec:.4e} | {:.3} | {:.3}",
            s + 1,
            ec / sra,
            ec / full
        );
    }
    println!(
        "total | | | | | {t_sr:.4e} | {t_full:.4e} | {t_eco:.4e} | {:+.1} % | {:+.1} %",
        100.0 * (t_eco / t_sr - 1.0),
        100.0 * (t_eco / t_full - 1.0)
    );

    let shape = AttnShape::of(h, n, d, false, Phase::Prefill);
    let x = realistic(shape, seed);
    let r = attention::find("attention/f64").unwrap().emulate(&x);
    let o = eco.emulate(&x);
    let acc = accuracy(&r, &o);
    // Floor: uniform attention, the mean of the values per head.
    let mut uni = Vec::with_capacity(r.len());
    for hh in 0..h {
        let v = x.v_head(hh);
        let mean: Vec<f64> = (0..d)
            .map(|c| (0..n).map(|j| v[j * d + c] as f64).sum::<f64>() / n as f64)
            .collect();
        for _ in 0..n {
            uni.extend_from_slice(&mean);
        }
    }
    let ua = accuracy(&r, &uni);
    println!("\naccuracy on the realistic workload, {shape}, seed {seed} (against attention/f64):");
    println!("method            | rel. Frobenius error | cosine  | spectral rel. error");
    println!(
        "ecoformer         | {:>20.4e} | {:.5} | {:.4e}",
        acc.rel_fro_error,
        acc.cosine,
        spectral_rel_error(&r, &o, h, d, seed)
    );
    println!(
        "uniform (mean v)  | {:>20.4e} | {:.5} | {:.4e}",
        ua.rel_fro_error,
        ua.cosine,
        spectral_rel_error(&r, &uni, h, d, seed)
    );
    for name in ["attention/sage-int8", "attention/hyper"] {
        let v = attention::find(name).unwrap();
        let ov = v.emulate(&x);
        let av = accuracy(&r, &ov);
        println!(
            "{:<17} | {:>20.4e} | {:.5} | {:.4e}",
            name.trim_start_matches("attention/"),
            av.rel_fro_error,
            av.cosine,
            spectral_rel_error(&r, &ov, h, d, seed)
        );
    }
}

//! Accelerator cycle models against hand-computed cases of the BitMoD
//! simulator's formulas, Stripes/Loom closed forms, scenario-file errors,
//! and the BitMoD study with its report section.

use crate::cli_support;

use bitsim::hw::accel::bitmod::{compute_cycles, simulate, simulate_layer, Layer, Phase};
use bitsim::hw::accel::config::{builtin_bitmod, load_str};
use bitsim::hw::accel::stripes::{self, loom_cycles, stripes_cycles, NetKind};
use bitsim::hw::accel::SimFile;
use bitsim::hw::energy::EnergyTable;
use bitsim::report::sections::bitmod::render;
use bitsim::suite::studies::bitmod::{run, BitmodParams};
use bitsim::suite::studies::StudyContext;

fn design(name: &str) -> bitsim::hw::accel::Design {
    builtin_bitmod()
        .designs
        .into_iter()
        .find(|d| d.name == name)
        .unwrap()
}

fn layer(k: u64, n: u64) -> Layer {
    Layer {
        name: "l".into(),
        k,
        n,
        repeat: 1,
    }
}

#[test]
fn bitmod_prefill_layer_by_hand() {
    let f = builtin_bitmod();
    let d = design("bitmod");
    // q_proj, 256 tokens: ceil(4096/4)=1024 · ceil(4096/32)=128 · ceil(256/32)=8 · ceil(floor(4.0625)/2)=2
    assert_eq!(
        compute_cycles(&d, Phase::Prefill, 4096, 4096, 256).unwrap(),
        2_097_152
    );
    let r = simulate_layer(&d, &f.memory, Phase::Prefill, &layer(4096, 4096), 256).unwrap();
    // W = ceil(4096·4.0625/8)·4096 = 2080·4096 = 8_519_680 B; A = O = 8192·256 = 2_097_152 B.
    // Both exceed 512 KiB: refetch W ceil(A/512Ki)=4 times (4W + A = 36_175_872)
    // rather than A ceil(W/512Ki)=17 times (17A + W = 44_171_264).
    let moved = 4.0 * 8_519_680.0 + 2_097_152.0 + 2_097_152.0;
    assert_eq!(r.dram_bytes, moved);
    assert_eq!(r.dram_cycles, 1_196_032); // moved · 8 / 256
    assert_eq!(r.cycles, 2_097_152, "compute-bound: max(compute, DRAM)");
    assert_eq!(r.compute_pj, 0.56 * 1.5 * 1024.0 * 2_097_152.0);
    assert_eq!(r.dram_pj, moved * 8.0 / 64.0 * 1200.0);
    // 4096·4096·256 MACs at 32·32·4/2 MACs per cycle over 2_097_152 cycles: full use
    assert_eq!(r.utilisation, 1.0);
}

#[test]
fn bitmod_decode_layer_is_dram_bound() {
    let f = builtin_bitmod();
    let d = design("bitmod");
    // 64×16 array, 1 token, 3.0625-bit weights: 1024 · 64 · 1 · ceil(3/2)=2
    let r = simulate_layer(&d, &f.memory, Phase::Decode, &layer(4096, 4096), 1).unwrap();
    assert_eq!(r.compute_cycles, 131_072);
    // W = ceil(4096·3.0625/8)·4096 = 1568·4096; A = O = 8192 B; no refetch.
    assert_eq!(r.dram_bytes, 1568.0 * 4096.0 + 16384.0);
    assert_eq!(r.dram_cycles, 201_216);
    assert_eq!(r.cycles, 201_216, "DRAM-bound: max(compute, DRAM)");
}

#[test]
fn bit_parallel_designs_have_unit_latency() {
    let fp16 = design("fp16");
    assert_eq!(fp16.latency(Phase::Prefill), 1);
    // 4096 · ceil(4096/32)=128 · ceil(256/24)=11
    assert_eq!(
        compute_cycles(&fp16, Phase::Prefill, 4096, 4096, 256).unwrap(),
        5_767_168
    );
    // decode 64×12: 4096 · 64 · 1
    assert_eq!(
        compute_cycles(&fp16, Phase::Decode, 4096, 4096, 1),
        Some(262_144)
    );
    let olive = design("olive");
    // 36×32: 11008 · ceil(4096/36)=114 · ceil(256/32)=8
    assert_eq!(
        compute_cycles(&olive, Phase::Prefill, 11008, 4096, 256).unwrap(),
        11008 * 114 * 8
    );
    // latency of bit-serial designs: ceil(floor(w_bits)/2)
    let mut d = design("bitmod");
    for (w, lat) in [(4.0625, 2), (3.0625, 2), (6.0625, 3), (8.0, 4), (2.5, 1)] {
        d.w_bits_prefill = w;
        assert_eq!(d.latency(Phase::Prefill), lat, "w_bits {w}");
    }
}

#[test]
fn totals_add_up_and_repeat_multiplies() {
    let f = builtin_bitmod();
    let m = &f.models[0];
    for d in &f.designs {
        for p in Phase::ALL {
            let (rows, t) = simulate(d, &f.memory, m, p).unwrap();
            assert_eq!(t.cycles, rows.iter().map(|r| r.cycles).sum::<u64>());
            for (r, l) in rows.iter().zip(&m.layers) {
                let one = simulate_layer(
                    d,
                    &f.memory,
                    p,
                    &Layer {
                        repeat: 1,
                        ..l.clone()
                    },
                    m.tokens(p),
                )
                .unwrap();
                assert_eq!(r.cycles, one.cycles * l.repeat);
                assert_eq!(r.cycles, r.compute_cycles.max(r.dram_cycles));
            }
        }
    }
}

#[test]
fn stripes_and_loom_closed_forms() {
    assert_eq!(stripes_cycles(1600.0, NetKind::Conv, 8), 800.0);
    assert_eq!(stripes_cycles(1600.0, NetKind::Fc, 8), 1600.0);
    assert_eq!(loom_cycles(2560.0, NetKind::Conv, 8, 4), 320.0);
    assert_eq!(loom_cycles(1600.0, NetKind::Fc, 8, 4), 400.0);
    let SimFile::Stripes(f) =
        load_str("stripes.toml", include_str!("../../sims/stripes.toml")).unwrap()
    else {
        panic!("stripes file")
    };
    let r = stripes::simulate(&f.models[0], f.parallel_macs_per_cycle);
    // conv1: 55·55·11·11·3·96 = 105_415_200 MACs / 4096 → 25_737 cycles; P_a 9, P_w 11
    assert_eq!(r[0].parallel, 25_737.0);
    assert_eq!(r[0].stripes, 25_737.0 * 9.0 / 16.0);
    assert_eq!(r[0].loom, 25_737.0 * 99.0 / 256.0);
    // fc6: 9216·4096 / 4096 = 9216; Stripes gains nothing, Loom P_w/16
    assert_eq!(
        (r[5].parallel, r[5].stripes, r[5].loom),
        (9216.0, 9216.0, 9216.0 * 10.0 / 16.0)
    );
}

fn err(text: &str) -> String {
    load_str("x.toml", text).unwrap_err()
}

#[test]
fn scenario_errors_name_file_line_and_key() {
    let good = include_str!("../../sims/bitmod.toml");
    // an unknown key in a design
    let bad = good.replacen("dp = 4\n", "dp = 4\ndq = 1\n", 1);
    let line = bad.lines().position(|l| l.starts_with("dq")).unwrap() + 1;
    let e = err(&bad);
    assert!(
        e.starts_with(&format!("x.toml line {line}:")) && e.contains("dq"),
        "{e}"
    );
    // an invalid value
    let bad = good.replacen("dp = 4\n", "dp = 0\n", 1);
    let line = bad.lines().position(|l| l == "dp = 0").unwrap() + 1;
    let e = err(&bad);
    assert!(
        e.starts_with(&format!("x.toml line {line}: designs.dp:")) && e.contains("positive"),
        "{e}"
    );
    // a missing key names it
    let e = err(&good.replacen("pe_pj = 0.56\n", "", 1));
    assert!(e.contains("pe_pj"), "{e}");
    // baseline must exist
    let e = err(&good.replacen("baseline = \"fp16\"", "baseline = \"tpu\"", 1));
    assert!(e.contains("baseline") && e.contains("tpu"), "{e}");
    assert!(err("name = \"x\"").contains("kind"));
    assert!(err("kind = \"gpu\"").contains("unknown kind"));
    assert!(err("kind = [").starts_with("x.toml line 1:"));
    let s = include_str!("../../sims/stripes.toml").replacen("kind = \"fc\"", "kind = \"lstm\"", 1);
    assert!(err(&s).contains("models.layers.kind"));
}

#[test]
fn study_runs_and_renders() {
    let energy = EnergyTable::load("energy-45nm").unwrap();
    let ctx = StudyContext {
        energy: &energy,
        base: std::path::Path::new("."),
        seed: 1,
        variants: &[],
    };
    let p = BitmodParams {
        rows: 64,
        cols: 512,
        ..Default::default()
    };
    let s = run(&p, &ctx).unwrap();
    assert_eq!(s.mse.len(), 6);
    let get = |q: &str| s.mse.iter().find(|r| r.quantizer == q).unwrap().mse;
    // BitMoD's per-group choice beats the plain 4-bit formats on heavy-tailed weights
    assert!(get("bitmod-w4") < get("int4 g128"), "{:?}", s.mse);
    assert!(get("bitmod-w4") < get("fp4 e2m1 g128"), "{:?}", s.mse);
    assert!(get("bitmod-w3") < get("int3 g128"), "{:?}", s.mse);
    assert_eq!(
        s.histogram
            .iter()
            .map(|h| h.groups.iter().sum::<usize>())
            .collect::<Vec<_>>(),
        vec![256, 256]
    );
    let bm = s
        .accel
        .iter()
        .find(|r| r.design == "bitmod" && r.phase == "decode")
        .unwrap();
    assert!(bm.speedup_vs_int8 > 1.0 && bm.energy_vs_int8 < 1.0);
    let again = run(&p, &ctx).unwrap();
    assert_eq!(s, again, "deterministic");
    let sections = render(&s).unwrap();
    assert_eq!(
        sections.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        ["bitmod-types", "bitmod-accel"]
    );
    for sec in &sections {
        assert!(sec
            .html
            .starts_with("<p class=\"how\"><strong>How to read this:</strong>"));
        let mut r = quick_xml::Reader::from_str(&sec.html);
        let mut depth = 0i64;
        loop {
            match r.read_event().expect("well-formed section") {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Start(_) => depth += 1,
                quick_xml::events::Event::End(_) => depth -= 1,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
    }
    let bad = BitmodParams {
        model: Some("gpt-9".into()),
        ..p
    };
    assert!(run(&bad, &ctx).unwrap_err().contains("gpt-9"));
    let huge = BitmodParams {
        rows: 1 << 20,
        cols: 1 << 20,
        ..BitmodParams::default()
    };
    assert!(run(&huge, &ctx).unwrap_err().contains("rows × cols"));
}

#[test]
fn study_reads_real_weights() {
    let energy = EnergyTable::load("energy-45nm").unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 3 × 256 weights with one negative outlier
    let mut v: Vec<f32> = (0..768)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) * 1e-3)
        .collect();
    v[5] = -0.5;
    let bytes = cli_support::npy_bytes("<f4", false, "(3, 256)", &cli_support::f32_le(&v));
    cli_support::put(dir.path(), "w.npy", &bytes);
    let ctx = StudyContext {
        energy: &energy,
        base: dir.path(),
        seed: 1,
        variants: &[],
    };
    let p = BitmodParams {
        rows: 16,
        cols: 256,
        weights: Some("w.npy".into()),
        max_rows: 2,
        ..Default::default()
    };
    let s = run(&p, &ctx).unwrap();
    let real: Vec<_> = s.mse.iter().filter(|r| r.source == "w").collect();
    assert_eq!(real.len(), 6);
    let h = s
        .histogram
        .iter()
        .find(|h| h.source == "w" && h.bits == 4)
        .unwrap();
    // max_rows 2: 2 rows × 2 groups
    assert_eq!(h.groups.iter().sum::<usize>(), 4);
    let e = run(
        &BitmodParams {
            weights: Some("missing.npy".into()),
            ..p
        },
        &ctx,
    )
    .unwrap_err();
    assert!(
        e.starts_with("weights:") && e.contains("missing.npy"),
        "{e}"
    );
}

#[test]
fn cycles_past_u64_are_overflow_errors_not_wrapped() {
    let f = builtin_bitmod();
    let d = design("bitmod");
    // ceil(2^62/4) · 128 · 8 · 2 = 2^71 compute cycles
    assert_eq!(compute_cycles(&d, Phase::Prefill, 1 << 62, 4096, 256), None);
    let e = simulate_layer(&d, &f.memory, Phase::Prefill, &layer(1 << 62, 4096), 256).unwrap_err();
    assert_eq!((e.layer.as_str(), e.what), ("l", "compute cycles"));
    // one copy (2^21 cycles) fits; 2^44 copies do not
    let big = Layer {
        repeat: 1 << 44,
        ..layer(4096, 4096)
    };
    let e = simulate_layer(&d, &f.memory, Phase::Prefill, &big, 256).unwrap_err();
    assert_eq!(e.what, "compute cycles × repeat");
    // largest repeat that fits: the layer's cycles exactly, no wrap
    let one = simulate_layer(&d, &f.memory, Phase::Prefill, &layer(4096, 4096), 256).unwrap();
    let fits = Layer {
        repeat: u64::MAX / one.cycles,
        ..layer(4096, 4096)
    };
    let r = simulate_layer(&d, &f.memory, Phase::Prefill, &fits, 256).unwrap();
    assert_eq!(r.cycles, one.cycles * (u64::MAX / one.cycles));
    assert!(r.utilisation <= 1.0, "{}", r.utilisation);
    // two such layers overflow the model's total
    let mut m = f.models[0].clone();
    m.layers = vec![fits.clone(), fits];
    let e = simulate(&d, &f.memory, &m, Phase::Prefill).unwrap_err();
    assert!(e.what.contains("total"), "{e}");
    assert!(e.to_string().contains("overflows u64"), "{e}");
}

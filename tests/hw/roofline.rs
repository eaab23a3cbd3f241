//! Roofline model: attainable rate and ridge point by hand, arithmetic
//! intensity of hand-counted variants, the datatype → ceiling rule, machine
//! files (built-in, fallbacks, round trip, errors), the roofline study and
//! its report section.

use bitsim::hw::cost::{Cost, OpKind};
use bitsim::hw::roofline::{
    arithmetic_intensity, attainable, builtin_names, compute_kind, ridge_point, Bound, ComputeKind,
    Machine, MemLevel, Scope,
};
use bitsim::report::sections::roofline::{measured_gops, render};
use bitsim::suite::record::{metric, Measurement};
use bitsim::suite::studies::roofline::{run, RooflineParams};
use bitsim::suite::studies::StudyContext;
use bitsim::variants::{self, Shape};
use std::path::Path;

fn zen5() -> Machine {
    Machine::load("machine-zen5").unwrap()
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-12 * want.abs()
}

// ---- the formulas ----------------------------------------------------------

#[test]
fn attainable_is_the_lower_roof_by_hand() {
    // Peak 530 GFLOP/s, 77 GB/s: ridge at 530/77 ops/byte.
    assert_eq!(attainable(530.0, 0.5, 77.0), 38.5);
    assert_eq!(attainable(530.0, 100.0, 77.0), 530.0);
    assert_eq!(attainable(530.0, 530.0 / 77.0, 77.0), 530.0);
    assert_eq!(ridge_point(530.0, 77.0), 530.0 / 77.0);
    assert_eq!(ridge_point(2150.0, 77.0), 2150.0 / 77.0);
    // Exactly at the ridge both roofs agree.
    let r = ridge_point(980.0, 40.0);
    assert_eq!(r, 24.5);
    assert_eq!(attainable(980.0, r, 40.0), 980.0);
    assert_eq!(attainable(980.0, r / 2.0, 40.0), 490.0);
}

#[test]
fn arithmetic_intensity_of_hand_counted_variants() {
    let v = |n: &str| variants::find(n).unwrap();
    let decode = Shape {
        m: 1,
        k: 4096,
        n: 4096,
    };
    // f32: 2·4096² ops over W (4096²·4 B) + A (4096·4 B) + out (4096·4 B).
    let ops = 2.0 * 4096.0 * 4096.0;
    let f32_bytes = 4096.0 * 4096.0 * 4.0 + 4096.0 * 4.0 + 4096.0 * 4.0;
    assert!(close(
        arithmetic_intensity(&v("matmul/f32").cost(decode)),
        ops / f32_bytes
    ));
    // w8a8: int8 W plus one f32 scale per row (4096² + 4·4096 B), int8 A plus
    // one f32 scale (4096 + 4 B), f32 out (4·4096 B).
    let w8_bytes = 4096.0 * 4096.0 + 4.0 * 4096.0 + 4096.0 + 4.0 + 4.0 * 4096.0;
    assert!(close(
        arithmetic_intensity(&v("matmul/w8a8-int").cost(decode)),
        ops / w8_bytes
    ));
    // bf16 prefill 512×4096×4096: W 2·4096², A 2·512·4096, out 4·512·4096.
    let prefill = Shape {
        m: 512,
        k: 4096,
        n: 4096,
    };
    let bytes = 2.0 * 4096.0 * 4096.0 + 2.0 * 512.0 * 4096.0 + 4.0 * 512.0 * 4096.0;
    let ai = arithmetic_intensity(&v("matmul/bf16").cost(prefill));
    assert!(close(ai, 2.0 * 512.0 * 4096.0 * 4096.0 / bytes), "{ai}");
    // Degenerate costs.
    assert_eq!(arithmetic_intensity(&Cost::default()), 0.0);
    let no_dram = Cost {
        macs: 10.0,
        ..Default::default()
    };
    assert_eq!(arithmetic_intensity(&no_dram), f64::INFINITY);
}

#[test]
fn every_registered_variant_maps_to_the_documented_ceiling() {
    use ComputeKind::*;
    let want = [
        ("matmul/f64", F64Fma),
        ("matmul/f32", F32Fma),
        ("matmul/bf16", Bf16Dot),
        ("matmul/fp16", Bf16Dot),
        ("matmul/w8a8-int", Int8Vnni),
        ("matmul/w4a8-int", Int8Vnni),
        ("matmul/w2a8-int", Int8Vnni),
        ("matmul/w1.58a8-ternary", Int8Vnni),
        ("matmul/w1a8-binary", Int8Vnni),
        ("matmul/w1a1-binary", Int8Vnni),
        ("matmul/fp8-e4m3", Bf16Dot),
        ("matmul/fp8-e5m2", Bf16Dot),
        ("matmul/fp6-e2m3", Bf16Dot),
        ("matmul/fp6-e3m2", Bf16Dot),
        ("matmul/fp4-e2m1", Bf16Dot),
        ("matmul/mxfp8", Bf16Dot),
        ("matmul/mxfp6", Bf16Dot),
        ("matmul/mxfp4", Bf16Dot),
        ("matmul/mxint8", Int8Vnni),
        ("matmul/nvfp4", Bf16Dot),
        ("matmul/w4a16", Bf16Dot),
        ("matmul/wfp4-abf16", Bf16Dot),
    ];
    for shape in [
        Shape {
            m: 1,
            k: 4096,
            n: 4096,
        },
        Shape {
            m: 64,
            k: 256,
            n: 32,
        },
    ] {
        for (name, kind) in want {
            let c = variants::find(name).unwrap().cost(shape);
            assert_eq!(compute_kind(&c), kind, "{name} at {shape}");
        }
    }
}

#[test]
fn datatype_rule_on_hand_built_costs() {
    let cost = |macs: f64, ops: &[(OpKind, f64)]| Cost {
        macs,
        ops: ops.to_vec(),
        sram_bytes: 0.0,
        dram_bytes: 1.0,
    };
    let i32add = OpKind::IntAdd { bits: 32 };
    let bf16 = OpKind::FpMul { ebits: 8, mbits: 7 };
    // Only per-MAC operations decide: an f32 scale multiply per output does not.
    let c = cost(
        1000.0,
        &[
            (bf16, 1000.0),
            (OpKind::F32_ADD, 1000.0),
            (OpKind::F32_MUL, 10.0),
        ],
    );
    assert_eq!(compute_kind(&c), ComputeKind::Bf16Dot);
    let c = cost(
        1000.0,
        &[
            (OpKind::IntMul { a: 8, b: 8 }, 1000.0),
            (i32add, 1000.0),
            (OpKind::F32_MUL, 10.0),
        ],
    );
    assert_eq!(compute_kind(&c), ComputeKind::Int8Vnni);
    // No multiply per MAC: the float add decides (an L-Mul-like datapath).
    let c = cost(
        1000.0,
        &[
            (OpKind::IntAdd { bits: 16 }, 1000.0),
            (OpKind::F32_ADD, 1000.0),
        ],
    );
    assert_eq!(compute_kind(&c), ComputeKind::F32Fma);
    let c = cost(
        1000.0,
        &[
            (OpKind::IntAdd { bits: 16 }, 1000.0),
            (
                OpKind::FpAdd {
                    ebits: 5,
                    mbits: 10,
                },
                1000.0,
            ),
        ],
    );
    assert_eq!(compute_kind(&c), ComputeKind::Bf16Dot);
    // The widest float multiply wins.
    let c = cost(10.0, &[(bf16, 10.0), (OpKind::F64_MUL, 10.0)]);
    assert_eq!(compute_kind(&c), ComputeKind::F64Fma);
    // Nothing counted per MAC: every operation counts.
    let c = cost(1000.0, &[(OpKind::F32_MUL, 5.0)]);
    assert_eq!(compute_kind(&c), ComputeKind::F32Fma);
    assert_eq!(compute_kind(&Cost::default()), ComputeKind::Int8Vnni);
}

// ---- machines --------------------------------------------------------------

#[test]
fn builtin_machine_holds_the_measured_numbers_with_sources() {
    assert_eq!(builtin_names(), vec!["machine-zen5"]);
    let m = zen5();
    let from_file = Machine::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sims/machine-zen5.toml"
    ))
    .unwrap();
    assert_eq!(from_file, m);
    assert_eq!(m.cores, 2);
    let c = &m.compute;
    assert_eq!(
        (
            c[&ComputeKind::F32Fma].per_core,
            c[&ComputeKind::F32Fma].all_cores
        ),
        (264.0, 530.0)
    );
    assert_eq!(
        (
            c[&ComputeKind::Bf16Dot].per_core,
            c[&ComputeKind::Bf16Dot].all_cores
        ),
        (490.0, 980.0)
    );
    assert_eq!(
        (
            c[&ComputeKind::Int8Vnni].per_core,
            c[&ComputeKind::Int8Vnni].all_cores
        ),
        (1080.0, 2150.0)
    );
    assert_eq!(m.dram_gbps(Scope::PerCore), 40.0);
    assert_eq!(m.dram_gbps(Scope::AllCores), 77.0);
    assert_eq!(m.bandwidth_gbps(MemLevel::L3, Scope::AllCores), None);
    for ceiling in c.values().chain(m.bandwidth.values()) {
        assert!(ceiling.source.contains("measured"), "{}", ceiling.source);
    }
}

#[test]
fn placement_on_the_builtin_machine_by_hand() {
    let m = zen5();
    let f32v = variants::find("matmul/f32").unwrap();
    let decode = f32v.cost(Shape {
        m: 1,
        k: 4096,
        n: 4096,
    });
    let ai = 2.0 * 4096.0 * 4096.0 / (4096.0 * 4096.0 * 4.0 + 8.0 * 4096.0);
    let p = m.place(&decode, Scope::AllCores);
    assert_eq!(p.kind, ComputeKind::F32Fma);
    assert!(close(p.attainable_gops, ai * 77.0));
    assert_eq!(p.bound, Bound::Memory);
    let p = m.place(&decode, Scope::PerCore);
    assert!(close(p.attainable_gops, ai * 40.0));
    // Prefill f32: AI ≈ 205 ops/byte, far right of the ridge 530/77: compute-bound.
    let prefill = f32v.cost(Shape {
        m: 512,
        k: 4096,
        n: 4096,
    });
    let p = m.place(&prefill, Scope::AllCores);
    assert_eq!((p.attainable_gops, p.bound), (530.0, Bound::Compute));
    let p = m.place(
        &variants::find("matmul/w8a8-int").unwrap().cost(Shape {
            m: 512,
            k: 4096,
            n: 4096,
        }),
        Scope::PerCore,
    );
    assert_eq!((p.attainable_gops, p.bound), (1080.0, Bound::Compute));
    assert_eq!(p.peak.note, None);
}

const MINIMAL: &str = r#"name = "tiny"
description = "f32 and DRAM only"
cores = 4
[compute.f32_fma]
per_core = 100.0
all_cores = 400.0
source = "made up for the test"
[bandwidth.dram]
per_core = 10.0
all_cores = 20.0
source = "made up for the test"
"#;

#[test]
fn missing_ceilings_fall_back_with_a_note() {
    let m = Machine::parse(MINIMAL, "tiny.toml").unwrap();
    let f64p = m.peak(ComputeKind::F64Fma, Scope::AllCores);
    assert_eq!((f64p.gops, f64p.from), (200.0, ComputeKind::F32Fma));
    assert!(f64p.note.unwrap().contains("half the f32 FMA rate"));
    for kind in [ComputeKind::Bf16Dot, ComputeKind::Int8Vnni] {
        let p = m.peak(kind, Scope::PerCore);
        assert_eq!((p.gops, p.from), (100.0, ComputeKind::F32Fma));
        assert!(p.note.unwrap().contains(kind.key()));
    }
    let p = m.peak(ComputeKind::F32Fma, Scope::AllCores);
    assert_eq!((p.gops, p.note), (400.0, None));
}

#[test]
fn machines_round_trip_through_toml() {
    let mut m = Machine::parse(MINIMAL, "tiny.toml").unwrap();
    m.compute.insert(
        ComputeKind::Int8Vnni,
        bitsim::hw::roofline::Ceiling {
            per_core: 0.1 + 0.2,
            all_cores: 1e-300,
            source: "quotes \" and \\ backslashes, ünïcode".into(),
        },
    );
    m.description = "two\nlines".into();
    assert_eq!(Machine::parse(&m.to_toml(), "again").unwrap(), m);
    let z = zen5();
    assert_eq!(Machine::parse(&z.to_toml(), "again").unwrap(), z);
}

/// Writes `text` to a temp file and loads it; returns (error, path).
fn load_err(text: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("machine.toml");
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap().to_string();
    let err = Machine::load(&p).expect_err("must be rejected");
    assert!(!err.contains('\n'), "one-line errors: {err}");
    assert!(err.starts_with(&p), "names the file: {err}");
    (err, p)
}

#[test]
fn bad_machine_files_are_named_with_line_and_key() {
    let (err, p) = load_err(&MINIMAL.replace("per_core = 10.0", "per_core = 10.0\nlatency = 3"));
    assert!(err.starts_with(&format!("{p} line 10: ")), "{err}");
    assert!(err.contains("unknown field `latency`"), "{err}");
    let (err, p) = load_err(&MINIMAL.replace("all_cores = 400.0", "all_cores = -400.0"));
    assert_eq!(
        err,
        format!(
            "{p} line 6: compute.f32_fma.all_cores = -400: must be a positive finite rate (GFLOP/s)"
        )
    );
    let (err, _) = load_err(&MINIMAL.replace("per_core = 10.0", "per_core = nan"));
    assert!(
        err.contains(" line 9:") && err.contains("bandwidth.dram.per_core = NaN"),
        "{err}"
    );
    let (err, _) = load_err(&MINIMAL.replace("[compute.f32_fma]", "[compute.fp8_mma]"));
    assert!(
        err.contains(" line 4:") && err.contains("unknown field `fp8_mma`"),
        "{err}"
    );
    let (err, _) = load_err(&MINIMAL.replace("[compute.f32_fma]", "[compute.bf16_dot]"));
    assert!(err.contains("missing `[compute.f32_fma]`"), "{err}");
    let (err, _) = load_err(&MINIMAL.replace("[bandwidth.dram]", "[bandwidth.l3]"));
    assert!(err.contains("missing `[bandwidth.dram]`"), "{err}");
    let (err, _) =
        load_err(&MINIMAL.replacen("source = \"made up for the test\"", "source = \"\"", 1));
    assert!(
        err.contains(" line 7:") && err.contains("compute.f32_fma.source: empty"),
        "{err}"
    );
    let (err, _) = load_err(&MINIMAL.replace("\ncores = 4\n", "\ncores = 0\n"));
    assert!(
        err.contains(" line 3:") && err.contains("cores = 0"),
        "{err}"
    );
    let (err, _) = load_err(&MINIMAL.replace("per_core = 100.0\n", ""));
    assert!(err.contains("missing field `per_core`"), "{err}");
    let (err, _) = load_err("name = \"x\"\ndescription = [");
    assert!(err.contains(" line 2:"), "{err}");
    let err = Machine::load("no/such/machine.toml").unwrap_err();
    assert!(
        err.contains("no/such/machine.toml") && err.contains("machine-zen5"),
        "{err}"
    );
}

// ---- the study and its section --------------------------------------------

fn ctx_run(
    params: &RooflineParams,
    names: &[&str],
    base: &Path,
) -> Result<bitsim::suite::studies::roofline::RooflineStudy, String> {
    let energy = bitsim::hw::energy::EnergyTable::load("energy-45nm").unwrap();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let ctx = StudyContext {
        energy: &energy,
        base,
        seed: 0,
        variants: &names,
    };
    run(params, &ctx)
}

#[test]
fn study_places_every_variant_for_every_shape() {
    let names: Vec<String> = variants::registry()
        .iter()
        .map(|v| v.name().to_string())
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let s = ctx_run(&RooflineParams::default(), &refs, Path::new(".")).unwrap();
    assert_eq!(s.machine, "machine-zen5");
    assert_eq!(s.scope, "all-cores");
    assert_eq!(
        s.points.len() + s.notes.iter().filter(|n| n.contains("left out")).count(),
        2 * names.len()
    );
    // The f32 decode point by hand: memory-bound at AI × 77 GB/s.
    let p = s
        .points
        .iter()
        .find(|p| p.variant == "matmul/f32" && p.shape == [1, 4096, 4096])
        .unwrap();
    let ai = 2.0 * 4096.0 * 4096.0 / (4096.0 * 4096.0 * 4.0 + 8.0 * 4096.0);
    assert!(close(p.ai, ai) && close(p.attainable_gops, 77.0 * ai));
    assert_eq!(
        (p.bound.as_str(), p.ceiling.as_str(), p.peak_gops),
        ("memory", "f32 FMA", 530.0)
    );
    assert!(close(p.ridge_ai, 530.0 / 77.0));
    let p = s
        .points
        .iter()
        .find(|p| p.variant == "matmul/w4a8-int" && p.shape == [512, 4096, 4096])
        .unwrap();
    assert_eq!((p.bound.as_str(), p.attainable_gops), ("compute", 2150.0));
    // f64 has no ceiling in the file: half the f32 rate, with a note.
    let f64row = s.compute.iter().find(|c| c.label == "f64 FMA").unwrap();
    assert_eq!(f64row.value, 265.0);
    assert!(s.notes.iter().any(|n| n.contains("f64_fma")));
    assert_eq!(s.bandwidth[0].label, "DRAM");
    // Every point obeys attainable = min(peak, AI × bandwidth).
    for p in &s.points {
        assert_eq!(
            p.attainable_gops,
            p.peak_gops.min(p.ai * 77.0),
            "{}",
            p.variant
        );
    }

    let sections = render(&s, &[]).unwrap();
    assert_eq!(sections.len(), 1);
    let html = &sections[0].html;
    assert_eq!(sections[0].id, "roofline");
    assert!(html.starts_with("<p class=\"how\"><strong>How to read this:</strong>"));
    assert!(html.contains("<figure id=\"roofline-1x4096x4096\">"));
    assert!(html.contains("<figure id=\"roofline-512x4096x4096\">"));
    assert_eq!(html.matches("<svg").count(), 2);
    assert_eq!(
        html.matches("<tr><td class=\"name\">matmul/").count(),
        s.points.len()
    );
    assert!(html.contains("measured on an AMD EPYC Zen 4/5"));
    assert!(!html.contains("http"), "self-contained");
    well_formed(html);
    let ring = "fill=\"none\" stroke=";
    assert!(!html.contains("native, measured") && !html.contains(ring));

    // The native kernel measured in the run (median of its repetitions)
    // sits beside the model's point of the same variant and shape only.
    let native = |shape: &str, value: f64, rep: u32| Measurement {
        suite: "s".into(),
        variant: "matmul/w4a8-int".into(),
        workload: "g".into(),
        shape: shape.into(),
        metric: metric::NATIVE_GOPS.into(),
        value,
        unit: "GOP/s".into(),
        seed: 0,
        rep,
        version: "0".into(),
        commit: None,
    };
    let rows = vec![
        native("512x4096x4096", 100.0, 0),
        native("512x4096x4096", 130.0, 1),
        native("512x4096x4096", 110.0, 2),
        native("64x4096x4096", 999.0, 0),
    ];
    assert_eq!(
        measured_gops(&rows, "matmul/w4a8-int", [512, 4096, 4096]),
        Some(110.0)
    );
    assert_eq!(
        measured_gops(&rows, "matmul/w4a8-int", [1, 4096, 4096]),
        None
    );
    let sections = render(&s, &rows).unwrap();
    let html = &sections[0].html;
    assert!(html.contains("native, measured (G ops/s)"));
    assert!(html.contains("<td class=\"num\">110.0</td>"), "{html}");
    assert!(!html.contains(">999<"));
    assert_eq!(html.matches(ring).count(), 1, "one measured ring");
    well_formed(html);
}

/// Parses the markup as XML (the report is XHTML-style).
fn well_formed(html: &str) {
    let doc = format!("<div>{html}</div>");
    let mut r = quick_xml::Reader::from_str(&doc);
    loop {
        match r.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}", r.buffer_position()),
        }
    }
}

#[test]
fn study_params_machine_file_scope_and_errors() {
    // Every key optional; typos are errors.
    let p: RooflineParams = toml::from_str("").unwrap();
    assert_eq!(p, RooflineParams::default());
    assert_eq!(p.shapes, vec![[1, 4096, 4096], [512, 4096, 4096]]);
    let err = toml::from_str::<RooflineParams>("shapez = []")
        .unwrap_err()
        .to_string();
    assert!(err.contains("shapez"), "{err}");

    // A machine file relative to the suite's folder, per-core scope.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), MINIMAL).unwrap();
    let params = RooflineParams {
        machine: "tiny.toml".into(),
        shapes: vec![[1, 64, 64]],
        scope: "per-core".into(),
    };
    let s = ctx_run(&params, &["matmul/f32", "matmul/w8a8-int"], dir.path()).unwrap();
    assert_eq!(
        (s.machine.as_str(), s.scope.as_str(), s.points.len()),
        ("tiny", "per-core", 2)
    );
    // f32 1×64×64: 8192 ops over 4·64·64 + 4·64 + 4·64 bytes; DRAM 10 GB/s per core.
    let ai = 8192.0 / (16384.0 + 512.0);
    assert!(close(s.points[0].attainable_gops, ai * 10.0));
    // int8 falls back to the f32 ceiling on this machine, with a note.
    assert_eq!(s.points[1].peak_gops, 100.0);
    assert!(s.notes.iter().any(|n| n.contains("int8_vnni")));
    assert!(!render(&s, &[]).unwrap().is_empty());

    let bad = |p: RooflineParams, names: &[&str]| ctx_run(&p, names, dir.path()).unwrap_err();
    let with = |f: &dyn Fn(&mut RooflineParams)| {
        let mut p = params.clone();
        f(&mut p);
        p
    };
    assert!(bad(with(&|p| p.scope = "socket".into()), &["matmul/f32"])
        .contains("unknown scope 'socket'"));
    assert!(bad(with(&|p| p.shapes = vec![]), &["matmul/f32"]).contains("shapes: empty"));
    assert!(bad(with(&|p| p.shapes = vec![[1, 0, 4]]), &["matmul/f32"]).contains("at least 1"));
    assert!(bad(with(&|p| p.machine = "nope.toml".into()), &["matmul/f32"]).contains("nope.toml"));
    assert!(bad(params.clone(), &["matmul/nope"]).contains("unknown variant 'matmul/nope'"));
    // A study without points renders nothing.
    assert!(render(&Default::default(), &[]).unwrap().is_empty());
}

#[test]
fn scope_names() {
    assert_eq!(Scope::parse("per-core"), Ok(Scope::PerCore));
    assert_eq!(Scope::parse("all-cores"), Ok(Scope::AllCores));
    assert!(Scope::parse("all").is_err());
    assert_eq!(Scope::AllCores.name(), "all-cores");
}

#[test]
fn roofline_chart_merges_coincident_points_and_handles_no_data() {
    use bitsim::report::charts::{roofline_chart, Roof, RoofPoint};
    let roofs = vec![
        Roof {
            label: "f32 FMA".into(),
            peak: 500.0,
            unit: "GFLOP/s".into(),
        },
        Roof {
            label: "int8 VNNI".into(),
            peak: 2000.0,
            unit: "GOP/s".into(),
        },
    ];
    let pt = |label: &str, ai: f64, gops: f64, roof| RoofPoint {
        label: label.into(),
        ai,
        gops,
        roof,
        measured: false,
    };
    let svg = roofline_chart(
        &roofs,
        &[
            pt("alpha", 1.0, 50.0, 0),
            pt("beta", 1.0, 50.0, 0),
            pt("gamma", 100.0, 2000.0, 1),
            pt("hidden", -1.0, 10.0, 0),
        ],
        50.0,
    )
    .unwrap();
    assert!(
        svg.contains("alpha, beta"),
        "coincident points share a label"
    );
    assert!(svg.contains("gamma"), "{svg}");
    assert!(!svg.contains("hidden"), "undrawable points are skipped");
    assert!(svg.contains("ridge at 10 ops/byte") && svg.contains("ridge at 40 ops/byte"));
    well_formed(&svg);
    let empty = roofline_chart(&[], &[], 50.0).unwrap();
    assert!(empty.contains("no roofline to draw"));
}

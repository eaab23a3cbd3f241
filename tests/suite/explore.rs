//! The format explorer: hand cases, the known formats against their named
//! presets (same dequantized values, so same codes and errors), the fast
//! quantizer against its twin on seeded tensors, the Pareto front by brute
//! force, and bad specs.

use std::path::Path;

use bitsim::formats::{mx, parse, scaled, ConvertOptions, Format, Overflow};
use bitsim::isa::{self, IsaLevel};
use bitsim::report::pareto::pareto_front;
use bitsim::suite::explore::config::{Config, KNOWN};
use bitsim::suite::explore::quant::{quantize, quantize_reference};
use bitsim::suite::explore::spec::parse_spec;
use bitsim::workload::gen::{generate, Distribution};

fn cfg(s: &str) -> Config {
    Config::parse(s).unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn int4_symmetric_sqnr_by_hand() {
    // One group, amax 7 → scale 7/7 = 1 (f32, exact): codes round(x), ties to even.
    let x = [7.0f32, 0.5, 1.5, -2.25, 3.4, -7.0, 0.0, 6.6];
    let (e, d) = quantize(&cfg("int4:symmetric/tensor/f32/absmax"), &x, 1, 8, 1).unwrap();
    assert_eq!(d, vec![7.0, 0.0, 2.0, -2.0, 3.0, -7.0, 0.0, 7.0]);
    // Squared errors from the f32 inputs (3.4 and 6.6 are not exact in f32).
    let sse: f64 = x
        .iter()
        .zip(&d)
        .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
        .sum();
    assert!((sse - 0.8825).abs() < 1e-6);
    let ssx: f64 = x.iter().map(|v| (*v as f64) * (*v as f64)).sum();
    // The explorer sums in its own (fixed) order: equal to a last-bit rounding.
    assert!((e.sse - sse).abs() <= 1e-15 * sse, "{} vs {sse}", e.sse);
    assert!((e.ssx - ssx).abs() <= 1e-15 * ssx, "{} vs {ssx}", e.ssx);
    assert!((e.sqnr_db() - 10.0 * (ssx / sse).log10()).abs() < 1e-9);
}

#[test]
fn mxfp4_block_by_hand() {
    // amax 5: floor(log2 5) = 2, emax(E2M1) = 2 → X = 0, scale 1. E2M1 values
    // {0, .5, 1, 1.5, 2, 3, 4, 6}: 5 → 4 (tie to even), 0.75 → 1, 2.5 → 2, 0.2 → 0.
    let mut x = vec![0f32; 32];
    x[..6].copy_from_slice(&[5.0, 0.75, -2.5, 0.2, -1.25, 3.5]);
    let (_, d) = quantize(&cfg("e2m1/g32/e8m0/floor"), &x, 1, 32, 1).unwrap();
    assert_eq!(&d[..6], &[4.0, 1.0, -2.0, 0.0, -1.0, 4.0]);
    // Scale 2^3 when amax is 40: 40/8 = 5 → 4 → 32.
    let y: Vec<f32> = x.iter().map(|v| v * 8.0).collect();
    let (_, d) = quantize(&cfg("e2m1/g32/e8m0/floor"), &y, 1, 32, 1).unwrap();
    assert_eq!(&d[..6], &[32.0, 8.0, -16.0, 0.0, -8.0, 32.0]);
}

fn tensor(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    generate(
        &Distribution::StudentT {
            nu: 4.0,
            scale: 0.02,
        },
        rows,
        cols,
        seed,
    )
    .data
}

#[test]
fn known_formats_equal_their_named_presets() {
    let (rows, cols) = (6, 96);
    let x = tensor(rows, cols, 11);
    let opts = ConvertOptions {
        overflow: Some(Overflow::Saturate),
        ..ConvertOptions::default()
    };
    let preset = |name: &str| match parse(name).unwrap() {
        Format::Block(b) => mx::quantize(&b, &opts, &x, cols).unwrap().dequantize(),
        _ => unreachable!(),
    };
    let got = |c: &str| quantize(&cfg(c), &x, rows, cols, rows).unwrap().1;
    for (known, name) in [
        ("MXFP4", "mxfp4"),
        ("NVFP4", "nvfp4"),
        ("MXFP6", "mxfp6"),
        ("MXFP8", "mxfp8"),
    ] {
        let c = KNOWN.iter().find(|k| k.0 == known).unwrap().1;
        assert_eq!(bits(&got(c)), bits(&preset(name)), "{known}");
    }
    // FP8 per tensor and INT4 g128 through formats::scaled (f32 scales, rounded up).
    let sc = |e: &str, g: scaled::Granularity| {
        let e = bitsim::formats::parse::parse_element(e).unwrap();
        scaled::quantize(
            &x,
            rows,
            cols,
            &e,
            g,
            &scaled::ScaleOptions::default(),
            &opts,
        )
        .unwrap()
        .dequantize()
    };
    assert_eq!(
        bits(&got("e4m3/tensor/f32/absmax")),
        bits(&sc("e4m3", scaled::Granularity::PerTensor))
    );
    assert_eq!(
        bits(&got("int4/g128/f32/absmax")),
        bits(&sc("int4", scaled::Granularity::PerGroup(128)))
    );
}

/// At every ISA level the CPU has (the fast path is compiled once per level).
#[test]
fn fast_quantizer_equals_its_twin() {
    for level in IsaLevel::available() {
        isa::set_cap(level);
        fast_quantizer_equals_its_twin_at_this_level();
    }
    isa::set_cap(IsaLevel::Avx512);
}

fn fast_quantizer_equals_its_twin_at_this_level() {
    let cases = [
        "e2m1/g32/e8m0/floor",
        "e2m1/g16/e8m0/ceil",
        "e3m2/g32/e8m0/rceil",
        "e2m3/g64/e8m0/even",
        "e4m3/channel/e8m0/floor",
        "e5m2/tensor/e8m0/floor",
        "int4/g32/e8m0/floor",
        "int8:symmetric/g16/e8m0/rceil",
        "e2m1/g16/e4m3/nv",
        "e2m1/g32/e4m3/absmax",
        "e3m2/g16/bf16/absmax",
        "e1m2:nonfinite=finite/g16/fp16/absmax",
        "int3/channel/f32/absmax",
        "int8:symmetric/g32/fp16/absmax",
        "int2/tensor/bf16/absmax",
        "e4m3/g24/e5m2/absmax",
    ];
    for seed in 0..3 {
        // 40 columns: blocks of 16/32/64 leave ragged ends; a zero row and a tiny row.
        let (rows, cols) = (5, 40);
        let mut x = tensor(rows, cols, seed);
        x[..cols].iter_mut().for_each(|v| *v = 0.0);
        x[cols..2 * cols].iter_mut().for_each(|v| *v *= 1e-30);
        for c in cases {
            let config = cfg(c);
            let (_, fast) = quantize(&config, &x, rows, cols, rows).unwrap();
            let slow = quantize_reference(&config, &x, rows, cols).expect(c);
            assert_eq!(
                bits(&fast),
                bits(&slow),
                "{c}, seed {seed}, {}",
                isa::effective()
            );
        }
    }
}

#[test]
fn mse_never_loses_to_its_own_rule() {
    let x = tensor(8, 256, 5);
    for (mse, base) in [
        ("e2m1/g32/e8m0/mse", "e2m1/g32/e8m0/floor"),
        ("int4/g64/bf16/mse", "int4/g64/bf16/absmax"),
        ("e3m2/tensor/e4m3/mse", "e3m2/tensor/e4m3/absmax"),
    ] {
        let a = quantize(&cfg(mse), &x, 8, 256, 0).unwrap().0.sse;
        let b = quantize(&cfg(base), &x, 8, 256, 0).unwrap().0.sse;
        assert!(a <= b, "{mse}: {a} > {b}");
    }
    // Asymmetric int2 over [0, 3]: offset 0, step 1 → exact.
    let y = [0.0f32, 1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 0.0];
    let (e, d) = quantize(&cfg("uint2/tensor/f32/minmax"), &y, 1, 8, 1).unwrap();
    assert_eq!(d, y.to_vec());
    assert_eq!(e.sse, 0.0);
}

#[test]
fn bits_per_element_count_the_scales() {
    assert_eq!(cfg("e2m1/g32/e8m0/floor").bits_per_element(4, 64), 4.25);
    assert_eq!(
        cfg("e2m1/g16/e4m3/nv").bits_per_element(4, 64),
        4.5 + 32.0 / 256.0
    );
    assert_eq!(cfg("uint4/g32/fp16/minmax").bits_per_element(1, 64), 5.0);
    assert_eq!(cfg("int8/channel/f32/absmax").bits_per_element(2, 64), 8.5);
}

/// An independent front: sort by x, keep points strictly better in y than everything before.
fn brute(points: &[(f64, f64)]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| {
            let p = points[i];
            !points
                .iter()
                .any(|q| q.0 <= p.0 && q.1 <= p.1 && (q.0 < p.0 || q.1 < p.1))
        })
        .collect()
}

#[test]
fn pareto_front_has_no_dominated_and_misses_no_point() {
    let mut rng = crate::seeded::Rng(0x9e37_79b9);
    let mut next = || rng.below(8) as f64;
    for _ in 0..300 {
        let n = (next() as usize) * 3 + 1;
        let pts: Vec<(f64, f64)> = (0..n).map(|_| (next(), next())).collect();
        let mut got = pareto_front(&pts);
        got.sort();
        assert_eq!(got, brute(&pts), "{pts:?}");
    }
}

fn spec_err(explore: &str) -> String {
    let text = format!(
        "[explore]\n{explore}\n[[explore.tensors]]\nname = \"w\"\nrole = \"weight\"\ndist = \"gaussian\"\nrows = 2\ncols = 8\n"
    );
    parse_spec(&text, "bad.toml", Path::new(".")).unwrap_err()
}

#[test]
fn bad_specs_name_the_line_and_the_key() {
    // Line 1 is `[explore]`, the key under test is on line 2.
    let e = spec_err("elements = [\"e9m9\"]");
    assert!(e.starts_with("bad.toml line 2: explore.elements:"), "{e}");
    let e = spec_err("blocks = []");
    assert!(
        e.starts_with("bad.toml line 2: explore.blocks:") && e.contains("empty"),
        "{e}"
    );
    let e = spec_err("max_bits = 1.5");
    assert!(e.starts_with("bad.toml line 2: explore.max_bits:"), "{e}");
    let e = spec_err("scales = [\"e8m0\"]\nrules = [\"absmax\"]");
    assert!(e.starts_with("bad.toml line 3: explore.rules:"), "{e}");
    let e = spec_err("partner = \"int8/g0/f32/absmax\"");
    assert!(e.starts_with("bad.toml line 2: explore.partner:"), "{e}");
    let e = spec_err("colour = 1");
    assert!(e.contains("colour"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
    let e = parse_spec("name = \"x\"\n", "bad.toml", Path::new(".")).unwrap_err();
    assert!(e.contains("[explore]"), "{e}");
    // A default the file leaves out has no line: `rules` is not written here.
    let e = spec_err("scales = [\"e8m0\"]\nelements = [\"uint4\"]\nblocks = [\"g32\"]\n");
    assert!(
        e.starts_with("bad.toml") && e.contains("explore.rules:"),
        "{e}"
    );
}

#[test]
fn bad_tensors_name_the_line_of_the_key_at_fault() {
    let text = "[explore]\n\n[[explore.tensors]]\nname = \"a\"\nrole = \"weight\"\ndist = \"gaussian\"\nrows = 2\ncols = 8\n\n[[explore.tensors]]\nname = \"b\"\nrole = \"weight\"\ndist = \"cauchy\"\nrows = 2\ncols = 8\n";
    let e = parse_spec(text, "t.toml", Path::new(".")).unwrap_err();
    assert!(
        e.starts_with("t.toml line 13: explore.tensors 'b': dist: 'cauchy'"),
        "{e}"
    );
    // A missing key points at the tensor (its first key's line).
    let text = "[explore]\n[[explore.tensors]]\nname = \"a\"\nrole = \"weight\"\ndist = \"gaussian\"\ncols = 8\n";
    let e = parse_spec(text, "t.toml", Path::new(".")).unwrap_err();
    assert!(
        e.starts_with("t.toml line 3: explore.tensors 'a': rows: missing"),
        "{e}"
    );
    // The second use of a name is the line reported.
    let text = "[explore]\n[[explore.tensors]]\nname = \"a\"\nrole = \"weight\"\ndist = \"gaussian\"\nrows = 2\ncols = 8\n[[explore.tensors]]\nname = \"a\"\nrole = \"weight\"\ndist = \"gaussian\"\nrows = 2\ncols = 8\n";
    let e = parse_spec(text, "t.toml", Path::new(".")).unwrap_err();
    assert!(
        e.starts_with("t.toml line 9: explore.tensors.name: 'a' is used twice"),
        "{e}"
    );
}

#[test]
fn the_default_space_is_large_and_holds_the_known_formats() {
    let s = bitsim::suite::explore::spec::default_spec().unwrap();
    assert!(s.configs.len() >= 1500, "{}", s.configs.len());
    for (k, c) in KNOWN {
        assert!(s.configs.iter().any(|x| x.to_string() == *c), "{k}");
    }
}

/// The real-model spec explores the built-in space widened by two block
/// sizes (every built-in configuration, ≥ 2000 in all: the speed goal's
/// size) over the model's weight files, and scores its front on the model.
#[test]
fn minilm_spec_is_the_builtin_space_over_the_model() {
    use bitsim::suite::explore::spec::Source;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-suites");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let builtin = parse_spec(&read("explore.toml"), "explore.toml", &dir).unwrap();
    let minilm = parse_spec(&read("explore-minilm.toml"), "explore-minilm.toml", &dir).unwrap();
    assert!(minilm.configs.len() >= 2000, "{}", minilm.configs.len());
    for c in &builtin.configs {
        assert!(minilm.configs.contains(c), "{c}");
    }
    let table = minilm.model.as_ref().expect("an [explore.model] table");
    assert_eq!(table.dir, dir.join("../models/all-MiniLM-L6-v2"));
    assert_eq!((table.sentences, table.max_candidates), (None, Some(16)));
    assert_eq!(minilm.tensors.len(), 2);
    let model = dir.join("../models/all-MiniLM-L6-v2");
    match &minilm.tensors[0].source {
        Source::File { path, tensors } => {
            assert_eq!(path, &model.join("model.safetensors"));
            assert_eq!(tensors.len(), 5);
        }
        other => panic!("expected the model's safetensors, got {other:?}"),
    }
    match &minilm.tensors[1].source {
        Source::Model {
            dir,
            tensors,
            sentences,
        } => {
            assert_eq!(dir, &model);
            assert_eq!((tensors.len(), *sentences), (2, 32));
        }
        other => panic!("expected the model's activations, got {other:?}"),
    }
}

/// `[explore.model]` keys: each bad one named with its line.
#[test]
fn bad_model_tables_name_the_key() {
    let base = tempfile::tempdir().unwrap();
    let m = base.path().join("m");
    std::fs::create_dir(&m).unwrap();
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::write(m.join(f), b"").unwrap();
    }
    let spec = |table: &str| {
        let text = format!(
            "[explore]\n[explore.model]\n{table}\n[[explore.tensors]]\nname = \"w\"\nrole = \"weight\"\ndist = \"gaussian\"\nrows = 2\ncols = 8\n"
        );
        parse_spec(&text, "t.toml", base.path())
    };
    let ok = spec("model = \"m\"\nsentences = 3\nmax_candidates = 2").unwrap();
    let t = ok.model.unwrap();
    assert_eq!(
        (t.sentences, t.max_candidates, t.known),
        (Some(3), Some(2), true)
    );
    let e = spec("model = \"m\"\nmax_candidates = 0").unwrap_err();
    assert!(
        e.starts_with("t.toml line 4: explore.model.max_candidates:"),
        "{e}"
    );
    let e = spec("model = \"m\"\nsentences = 0").unwrap_err();
    assert!(
        e.starts_with("t.toml line 4: explore.model.sentences:"),
        "{e}"
    );
    let e = spec("model = \"elsewhere\"").unwrap_err();
    assert!(
        e.starts_with("t.toml line 3: explore.model.model:") && e.contains("no config.json"),
        "{e}"
    );
    let e = spec("sentences = 3").unwrap_err();
    assert!(
        e.starts_with("t.toml") && e.contains("explore.model.model: missing"),
        "{e}"
    );
    let e = spec("model = \"m\"\nsentence = 3").unwrap_err();
    assert!(
        e.starts_with("t.toml line 4:") && e.contains("sentence"),
        "{e}"
    );
}

/// The candidates: the front (brute force), thinned evenly with both ends,
/// plus the known formats.
#[test]
fn model_candidates_are_the_front_thinned_plus_the_known_formats() {
    use bitsim::suite::explore::model::candidates;
    let names: Vec<String> = ["a", "b", "e2m1/g32/e8m0/floor", "c", "d", "e", "f"]
        .map(String::from)
        .to_vec();
    // (bits, SQNR): a, c, d, e, f on the front; b dominated by a; MXFP4 by a.
    let bits = [4.0, 5.0, 4.25, 6.0, 7.0, 8.0, 9.0];
    let sqnr = [20.0, 19.0, 18.0, 26.0, 32.0, 38.0, 44.0];
    let brute: Vec<usize> = (0..7)
        .filter(|&i| {
            !(0..7).any(|j| {
                bits[j] <= bits[i] && sqnr[j] >= sqnr[i] && (bits[j] < bits[i] || sqnr[j] > sqnr[i])
            })
        })
        .collect();
    assert_eq!(brute, vec![0, 3, 4, 5, 6]);
    assert_eq!(candidates(&names, &bits, &sqnr, None, false), brute);
    assert_eq!(
        candidates(&names, &bits, &sqnr, None, true),
        vec![0, 2, 3, 4, 5, 6]
    );
    // Three of five: both ends and the middle.
    assert_eq!(
        candidates(&names, &bits, &sqnr, Some(3), false),
        vec![0, 4, 6]
    );
    assert_eq!(candidates(&names, &bits, &sqnr, Some(1), false), vec![0]);
    assert_eq!(candidates(&names, &bits, &sqnr, Some(9), false), brute);
}

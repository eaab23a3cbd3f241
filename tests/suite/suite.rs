//! Suite specs, the runner (with fake variants, generators, metrics and
//! energy, so that expected values can be worked out by hand) and the
//! results files.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bitsim::formats::parse::E2M1;
use bitsim::formats::ElementFormat;
use bitsim::hw::cost::{Cost, OpKind};
use bitsim::hw::energy::EnergyBreakdown;
use bitsim::metrics::Accuracy;
use bitsim::suite::files::{self, from_csv, read_results, to_csv, write_results};
use bitsim::suite::record::metric::{self, CELL_METRICS};
use bitsim::suite::record::{Measurement, Results, RunMeta};
use bitsim::suite::spec::{self, DEFAULT_SUITE};
use bitsim::suite::{run_suite, RunOptions, Suite, Toolkit};
use bitsim::variants::{
    Family, MatmulVariant, OperandSpec, ScaleAxis, Shape, VariantInfo, WeightStorage,
};
use bitsim::workload::cases::weight_seed;
use bitsim::workload::gen::Distribution;
use bitsim::workload::spec::{Dist, WorkloadKind};
use bitsim::workload::Matrix;

// ---------------------------------------------------------------- fakes

/// A fake variant: rounds both operands to multiples of `step` (0 = exact),
/// multiplies in f64; counts its `emulate` calls; may raise a stop flag.
struct Fake {
    name: &'static str,
    step: f64,
    calls: Arc<AtomicUsize>,
    stop_on_call: Option<(usize, Arc<AtomicBool>)>,
}

impl Fake {
    fn boxed(name: &str, step: f64) -> Box<dyn MatmulVariant> {
        Box::new(Fake {
            // Registry names are static; a leaked test name stands in.
            name: Box::leak(name.to_string().into_boxed_str()),
            step,
            calls: Arc::new(AtomicUsize::new(0)),
            stop_on_call: None,
        })
    }
    fn q(&self, x: f32) -> f32 {
        if self.step == 0.0 {
            x
        } else {
            ((x as f64 / self.step).round() * self.step) as f32
        }
    }
}

impl MatmulVariant for Fake {
    fn info(&self) -> VariantInfo {
        // Quantized fakes store e2m1 weights with an f32 scale per row.
        let e2m1 = OperandSpec::AbsMax {
            element: ElementFormat::Float(E2M1),
            axis: ScaleAxis::PerRow,
        };
        let (formats, storage) = if self.step == 0.0 {
            (vec![], WeightStorage::Operand(OperandSpec::F64))
        } else {
            (
                vec![ElementFormat::Float(E2M1)],
                WeightStorage::Operand(e2m1),
            )
        };
        VariantInfo {
            name: self.name,
            family: Family::Quant,
            description: "fake",
            weight_desc: "w".into(),
            act_desc: "a".into(),
            accumulator: "f64".into(),
            formats,
            storage,
        }
    }
    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        Matrix::new(w.rows, w.cols, w.data.iter().map(|&x| self.q(x)).collect())
    }
    fn emulate(&self, a: &Matrix, w: &Matrix, _seed: u64) -> Vec<f64> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((at, flag)) = &self.stop_on_call {
            if n >= *at {
                flag.store(true, Ordering::SeqCst);
            }
        }
        let mut out = Vec::with_capacity(a.rows * w.rows);
        for i in 0..a.rows {
            for j in 0..w.rows {
                out.push(
                    a.row(i)
                        .iter()
                        .zip(w.row(j))
                        .map(|(&x, &y)| self.q(x) as f64 * self.q(y) as f64)
                        .sum(),
                );
            }
        }
        out
    }
    fn cost(&self, s: Shape) -> Cost {
        let mut c = Cost {
            macs: s.macs(),
            sram_bytes: (s.m * s.k + s.n * s.k) as f64,
            dram_bytes: (s.n * s.k) as f64,
            ..Cost::default()
        };
        c.add(OpKind::IntMul { a: 4, b: 4 }, s.macs());
        c
    }
}

fn registry() -> Vec<Box<dyn MatmulVariant>> {
    vec![
        Fake::boxed("matmul/f64", 0.0),
        Fake::boxed("matmul/q8", 0.125),
        Fake::boxed("matmul/q2", 0.5),
    ]
}

/// Values in [-1, 1) from the tests' seeded generator (a fake of the
/// crate's: the real one is tested elsewhere).
fn fake_generate(d: &Distribution, rows: usize, cols: usize, seed: u64) -> Matrix {
    let scale = match d {
        Distribution::Gaussian { std } => *std,
        Distribution::Laplace { b } => *b,
        Distribution::StudentT { scale, .. } => *scale,
        Distribution::Uniform { hi, .. } => *hi,
    };
    let mut rng = crate::seeded::Rng(seed);
    let data = (0..rows * cols)
        .map(|_| ((rng.unit() * 2.0 - 1.0) * scale) as f32)
        .collect();
    Matrix::new(rows, cols, data)
}

fn fake_llm_like(m: usize, k: usize, n: usize, seed: u64) -> (Matrix, Matrix) {
    let d = Distribution::Gaussian { std: 3.0 };
    (
        fake_generate(&d, m, k, seed),
        fake_generate(&d, n, k, seed + 1),
    )
}

fn fake_accuracy(r: &[f64], x: &[f64]) -> Accuracy {
    let err: f64 = r.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
    let sig: f64 = r.iter().map(|a| a * a).sum();
    let xx: f64 = x.iter().map(|a| a * a).sum();
    let dot: f64 = r.iter().zip(x).map(|(a, b)| a * b).sum();
    let abs: Vec<f64> = r.iter().zip(x).map(|(a, b)| (a - b).abs()).collect();
    Accuracy {
        rel_fro_error: (err / sig).sqrt(),
        sqnr_db: 10.0 * (sig / err).log10(),
        cosine: dot / (sig * xx).sqrt(),
        max_abs_error: abs.iter().cloned().fold(0.0, f64::max),
        mean_abs_error: abs.iter().sum::<f64>() / abs.len() as f64,
    }
}

fn fake_weight_error(w: &[f32], q: &[f32]) -> (f64, f64) {
    let mse = w
        .iter()
        .zip(q)
        .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
        .sum::<f64>()
        / w.len() as f64;
    let p = w.iter().map(|a| (*a as f64).powi(2)).sum::<f64>() / w.len() as f64;
    (mse, 10.0 * (p / mse).log10())
}

/// Energy: 1 pJ per MAC of compute, 0.5 pJ per SRAM byte, 2 pJ per DRAM byte.
fn toolkit() -> Toolkit<'static> {
    Toolkit {
        generate: fake_generate,
        llm_like: fake_llm_like,
        accuracy: fake_accuracy,
        weight_error: fake_weight_error,
        energy: Box::new(|c: &Cost| EnergyBreakdown {
            compute_pj: c.macs,
            sram_pj: 0.5 * c.sram_bytes,
            dram_pj: 2.0 * c.dram_bytes,
            scaled: vec!["fake: int mul 4x4 scaled from 8x8".into()],
        }),
        energy_table: "fake-table".into(),
        energy_key: "fake-table 0".into(),
    }
}

const NAMES: &[&str] = &[
    "matmul/f64",
    "matmul/q8",
    "matmul/q2",
    "matmul/mxfp4",
    "other/x",
];

fn parse(text: &str) -> Result<Suite, spec::SpecError> {
    spec::parse(text, "my-suite.toml", Path::new("."), NAMES)
}

fn parse_err(text: &str) -> String {
    parse(text).expect_err("must fail").to_string()
}

const SMALL: &str = r#"
name = "small"
variants = ["matmul/f64", "matmul/q*"]
seeds = [7, 8]
repetitions = 2

[[workloads]]
name = "g"
dist = "gaussian"
std = 2.0
shapes = [[2, 8, 3], [1, 5, 4]]

[[workloads]]
name = "llm"
dist = "llm-like"
shapes = [[3, 6, 2]]
"#;

fn quiet(dir: &Path) -> RunOptions<'static> {
    let mut o = RunOptions::new(dir);
    o.progress = false;
    o.write_interval = Duration::ZERO;
    o
}

// ---------------------------------------------------------------- specs

#[test]
fn spec_every_key() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("w.npy"), b"not read at parse time").unwrap();
    let text = r#"
name = "all"
variants = ["matmul/mx*", "matmul/f64", "matmul/*"]
seeds = [3, 1]
repetitions = 5
energy = "tables/mine.toml"
out = "somewhere/else"

[[workloads]]
name = "g"
dist = "gaussian"
std = 0.5
shapes = [[1, 2, 3], [4, 5, 6]]

[[workloads]]
name = "l"
dist = "laplace"
b = 2.0
shapes = [[1, 1, 1]]

[[workloads]]
name = "t"
dist = "student-t"
nu = 4.0
scale = 0.25
shapes = [[1, 1, 1]]

[[workloads]]
name = "u"
dist = "uniform"
lo = -3.0
hi = 0.5
shapes = [[1, 1, 1]]

[[workloads]]
name = "llm"
dist = "llm-like"
shapes = [[1, 1, 1]]

[[workloads]]
name = "file"
file = "w.npy"
m = 16
"#;
    let s = spec::parse(text, "all.toml", dir.path(), NAMES).unwrap();
    assert_eq!(s.name, "all");
    // Spec order, each glob's matches in registry order, no duplicates, `other/x` not matched.
    assert_eq!(
        s.variants,
        ["matmul/mxfp4", "matmul/f64", "matmul/q8", "matmul/q2"]
    );
    assert_eq!(s.seeds, [3, 1]);
    assert_eq!(s.repetitions, 5);
    assert_eq!(
        s.energy,
        dir.path().join("tables/mine.toml").display().to_string()
    );
    assert_eq!(s.energy_line, Some(6));
    assert_eq!(s.out, Path::new("somewhere/else"));
    let dist = |i: usize| match &s.workloads[i].kind {
        WorkloadKind::Generated { dist, .. } => dist.clone(),
        k => panic!("{k:?}"),
    };
    assert_eq!(dist(0), Dist::Plain(Distribution::Gaussian { std: 0.5 }));
    assert_eq!(dist(1), Dist::Plain(Distribution::Laplace { b: 2.0 }));
    assert_eq!(
        dist(2),
        Dist::Plain(Distribution::StudentT {
            nu: 4.0,
            scale: 0.25
        })
    );
    assert_eq!(
        dist(3),
        Dist::Plain(Distribution::Uniform { lo: -3.0, hi: 0.5 })
    );
    assert_eq!(dist(4), Dist::LlmLike);
    match &s.workloads[0].kind {
        WorkloadKind::Generated { shapes, .. } => assert_eq!(
            shapes,
            &[Shape { m: 1, k: 2, n: 3 }, Shape { m: 4, k: 5, n: 6 }]
        ),
        k => panic!("{k:?}"),
    }
    assert_eq!(s.workloads[0].line, 9);
    assert_eq!(
        s.workloads[5].kind,
        WorkloadKind::File {
            path: dir.path().join("w.npy"),
            tensors: vec![],
            m: 16
        }
    );
}

#[test]
fn spec_defaults() {
    let s = parse(
        "name = 'd'\nvariants = ['matmul/f64']\n[[workloads]]\nname = 'u'\ndist = 'uniform'\nshapes = [[1, 2, 3]]\n",
    )
    .unwrap();
    assert_eq!(s.seeds, [0]);
    assert_eq!(s.repetitions, 3);
    assert_eq!(s.energy, "energy-45nm");
    assert_eq!(s.energy_line, None);
    assert_eq!(s.out, Path::new("reports/out"));
    assert!(matches!(
        &s.workloads[0].kind,
        WorkloadKind::Generated { dist: Dist::Plain(Distribution::Uniform { lo, hi }), .. } if *lo == -1.0 && *hi == 1.0
    ));
}

#[test]
fn error_unknown_key_names_file_line_and_key() {
    let e = parse_err("name = 'x'\nvariants = ['matmul/f64']\n\n[[workloads]]\nname = 'g'\ndist = 'gaussian'\nshapez = [[1, 2, 3]]\n");
    assert!(e.starts_with("my-suite.toml line 7: "), "{e}");
    assert!(e.contains("shapez"), "{e}");
    assert!(!e.contains('\n'), "{e}");
    let e = parse_err("name = 'x'\ncolour = 'red'\nvariants = ['matmul/f64']\n");
    assert!(
        e.starts_with("my-suite.toml line 2: ") && e.contains("colour"),
        "{e}"
    );
}

#[test]
fn error_unknown_variant_and_empty_glob() {
    let body = "\n[[workloads]]\nname = 'g'\ndist = 'gaussian'\nshapes = [[1, 2, 3]]\n";
    let e = parse_err(&format!(
        "name = 'x'\nvariants = [\n  'matmul/f64',\n  'matmul/nope',\n]{body}"
    ));
    assert!(e.starts_with("my-suite.toml line 4: "), "{e}");
    assert!(
        e.contains("'matmul/nope' matches no registered variant"),
        "{e}"
    );
    let e = parse_err(&format!("name = 'x'\nvariants = ['attention/*']{body}"));
    assert!(
        e.starts_with("my-suite.toml line 2: ") && e.contains("attention/*"),
        "{e}"
    );
    let e = parse_err(&format!("name = 'x'\nvariants = ['matmul/[']{body}"));
    assert!(e.contains("not a valid glob"), "{e}");
}

#[test]
fn error_bad_shapes() {
    let with = |shapes: &str| {
        parse_err(&format!(
            "name = 'x'\nvariants = ['matmul/f64']\n[[workloads]]\nname = 'g'\ndist = 'gaussian'\nshapes = [\n  [1, 2, 3],\n  {shapes},\n]\n"
        ))
    };
    let e = with("[4, 0, 8]");
    assert!(e.starts_with("my-suite.toml line 8: "), "{e}");
    assert!(e.contains("shapes") && e.contains("zero dimension"), "{e}");
    let e = with("[4, 8]");
    assert!(e.contains("line 8") && e.contains("[m, k, n]"), "{e}");
    let e = with("[1, 2, 3]");
    assert!(e.contains("line 8") && e.contains("twice"), "{e}");
    let e = with("[100000, 100000, 1]");
    assert!(e.contains("line 8") && e.contains("more than"), "{e}");
    // A negative dimension is a type error from toml, still located.
    let e = with("[1, -2, 3]");
    assert!(e.contains("line 8"), "{e}");
}

#[test]
fn error_missing_file_and_workload_keys() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name = 'x'\nvariants = ['matmul/f64']\n[[workloads]]\nname = 'f'\nfile = 'absent.safetensors'\ntensors = ['*']\nm = 4\n";
    let e = spec::parse(text, "s.toml", dir.path(), NAMES)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("s.toml line 5: "), "{e}");
    assert!(
        e.contains("absent.safetensors") && e.contains("no such file"),
        "{e}"
    );

    let cases = [
        // (workload body, expected line, words in the message)
        ("dist = 'gaussian'\nfile = 'a.npy'\n", 6, "not both"),
        // Errors about the whole table point at its `[[workloads]]` line.
        ("m = 3\n", 3, "missing"),
        (
            "dist = 'gausian'\nshapes = [[1,1,1]]\n",
            5,
            "unknown distribution 'gausian'",
        ),
        (
            "dist = 'gaussian'\nnu = 3.0\nshapes = [[1,1,1]]\n",
            6,
            "nu: not a parameter",
        ),
        (
            "dist = 'gaussian'\nstd = -1.0\nshapes = [[1,1,1]]\n",
            6,
            "std: -1 is not",
        ),
        // Degenerate scales: values of inf (NaN metrics) or of zeros ("exact").
        (
            "dist = 'gaussian'\nstd = 1e300\nshapes = [[1,1,1]]\n",
            6,
            "std: 1e300 is outside",
        ),
        (
            "dist = 'laplace'\nb = 1e-300\nshapes = [[1,1,1]]\n",
            6,
            "b: 1e-300 is outside",
        ),
        (
            "dist = 'uniform'\nlo = -1e40\nshapes = [[1,1,1]]\n",
            6,
            "lo: -1e40 is outside",
        ),
        (
            "dist = 'uniform'\nlo = 1.0\nhi = 0.5\nshapes = [[1,1,1]]\n",
            6,
            "must be below",
        ),
        ("dist = 'gaussian'\n", 3, "shapes: missing"),
        (
            "dist = 'gaussian'\nm = 4\nshapes = [[1,1,1]]\n",
            6,
            "m: only for `file`",
        ),
    ];
    for (body, line, words) in cases {
        let text =
            format!("name = 'x'\nvariants = ['matmul/f64']\n[[workloads]]\nname = 'w'\n{body}");
        let e = parse_err(&text);
        assert!(
            e.starts_with(&format!("my-suite.toml line {line}: ")) && e.contains(words),
            "{body:?}: {e}"
        );
    }
    let e = parse_err("name = 'x'\nvariants = ['matmul/f64']\nworkloads = []\n");
    assert!(e.contains("line 3") && e.contains("workloads"), "{e}");
    let e = parse_err("name = 'x'\nvariants = ['matmul/f64']\nseeds = []\n[[workloads]]\nname = 'g'\ndist = 'llm-like'\nshapes = [[1,1,1]]\n");
    assert!(e.contains("line 3") && e.contains("seeds"), "{e}");
    let e = parse_err("variants = ['matmul/f64']\n");
    assert!(e.contains("name"), "{e}");
}

#[test]
fn error_from_unreadable_spec_file() {
    let e = spec::load(Path::new("no/such/suite.toml"), NAMES).unwrap_err();
    assert_eq!(e.line, None);
    assert!(
        e.to_string().starts_with("no/such/suite.toml: cannot read"),
        "{e}"
    );
}

#[test]
fn shipped_suites_parse() {
    let names: Vec<String> = [
        "matmul/f64",
        "matmul/w8a8-int",
        "matmul/mxfp4",
        "attention/x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let d = spec::default_suite(&names).unwrap();
    assert_eq!(d.name, "default");
    assert_eq!(
        d.variants,
        [
            "matmul/f64",
            "matmul/w8a8-int",
            "matmul/mxfp4",
            "attention/x"
        ]
    );
    assert_eq!(d.seeds, [0]);
    assert_eq!(d.repetitions, 3);
    // Two matmul workloads, an attention prefill and an attention decode.
    assert_eq!(d.workloads.len(), 4);
    assert_eq!(
        fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/bench-suites/default.toml"
        ))
        .unwrap(),
        DEFAULT_SUITE
    );
    // The shipped files against the real registries (they name variants).
    let mut real: Vec<String> = bitsim::variants::registry()
        .iter()
        .map(|v| v.name().to_string())
        .collect();
    real.extend(
        bitsim::attention::registry()
            .iter()
            .map(|v| v.name().to_string()),
    );
    real.dedup();
    let real: Vec<&str> = real.iter().map(String::as_str).collect();
    for f in ["ci", "full", "long-prefill", "long-decode"] {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("bench-suites/{f}.toml"));
        let s = spec::load(&p, &real).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.name, f);
    }
}

// ---------------------------------------------------------------- runner

fn non_timing(r: &Results) -> Vec<Measurement> {
    r.rows
        .iter()
        .filter(|m| !metric::is_timing(&m.metric))
        .cloned()
        .collect()
}

fn no_temp_files(dir: &Path) {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["results.csv", "results.json"],
        "stray files in {dir:?}"
    );
}

#[test]
fn the_metric_table_names_each_metric_once() {
    let names: Vec<&str> = metric::all().map(|m| m.name).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "{names:?}");
    assert!(CELL_METRICS.iter().all(|m| !m.timing));
    assert!(metric::is_timing(metric::EMULATION_MAC_PER_S));
    assert!(metric::higher_is_better(metric::SQNR_DB) && !metric::higher_is_better("nosuch"));
    let ranks: Vec<u8> = metric::columns().iter().map(|(_, c)| c.rank).collect();
    assert_eq!(ranks, (0..ranks.len() as u8).collect::<Vec<_>>());
}

#[test]
fn every_cell_gets_every_metric() {
    let suite = parse(SMALL).unwrap();
    let reg = registry();
    let dir = tempfile::tempdir().unwrap();
    let s = run_suite(&suite, &reg, &toolkit(), &quiet(dir.path())).unwrap();
    // 3 variants x 3 (workload, shape) cases x 2 seeds.
    assert_eq!((s.cells, s.cells_run, s.cells_resumed), (18, 18, 0));
    // Timings: 3 variants x 3 distinct shapes, 2 repetitions each.
    assert_eq!(s.timings_run, 9);
    assert_eq!(s.results.rows.len(), 18 * CELL_METRICS.len() + 9 * 2);
    assert!(!s.interrupted);
    for v in ["matmul/f64", "matmul/q8", "matmul/q2"] {
        for (w, shape) in [("g", "2x8x3"), ("g", "1x5x4"), ("llm", "3x6x2")] {
            for seed in [7, 8] {
                for (m, unit) in CELL_METRICS.iter().map(|d| (&d.name, &d.unit)) {
                    let hits: Vec<_> = s
                        .results
                        .rows
                        .iter()
                        .filter(|r| {
                            r.variant == v
                                && r.workload == w
                                && r.shape == shape
                                && r.seed == seed
                                && r.metric == *m
                        })
                        .collect();
                    assert_eq!(hits.len(), 1, "{v} {w} {shape} {seed} {m}");
                    assert_eq!(hits[0].unit, *unit);
                    assert_eq!(hits[0].rep, 0);
                    assert_eq!(hits[0].suite, "small");
                }
            }
            let reps: Vec<u32> = s
                .results
                .rows
                .iter()
                .filter(|r| r.variant == v && r.shape == shape && metric::is_timing(&r.metric))
                .map(|r| {
                    // On the first case of that shape, with the first seed.
                    assert_eq!((r.workload.as_str(), r.seed), (w, 7));
                    assert!(r.value > 0.0 && r.unit == "MAC/s");
                    r.rep
                })
                .collect();
            assert_eq!(reps, [0, 1]);
        }
    }
    let get = |v: &str, shape: &str, m: &str| {
        s.results
            .rows
            .iter()
            .find(|r| r.variant == v && r.shape == shape && r.metric == m && r.seed == 7)
            .unwrap()
            .value
    };
    // The reference against itself is exact.
    assert_eq!(get("matmul/f64", "2x8x3", metric::REL_FRO_ERROR), 0.0);
    assert!(get("matmul/q2", "2x8x3", metric::REL_FRO_ERROR) > 0.0);
    // Energy by hand for 2x8x3: 48 MACs; SRAM (16 + 24) B x 0.5 = 20 pJ; DRAM 24 B x 2 = 48 pJ.
    assert_eq!(get("matmul/q8", "2x8x3", metric::ENERGY_COMPUTE_PJ), 48.0);
    assert_eq!(get("matmul/q8", "2x8x3", metric::ENERGY_SRAM_PJ), 20.0);
    assert_eq!(get("matmul/q8", "2x8x3", metric::ENERGY_DRAM_PJ), 48.0);
    assert_eq!(get("matmul/q8", "2x8x3", metric::ENERGY_TOTAL_PJ), 116.0);
    assert_eq!(
        get("matmul/q8", "2x8x3", metric::ENERGY_PJ_PER_MAC),
        116.0 / 48.0
    );
    // 4-bit elements and one 32-bit scale per row of k.
    assert_eq!(get("matmul/q8", "2x8x3", metric::BITS_PER_WEIGHT), 8.0);
    assert_eq!(
        get("matmul/q8", "1x5x4", metric::BITS_PER_WEIGHT),
        4.0 + 32.0 / 5.0
    );

    // The weights of the "g" workload are drawn with the derived weight seed.
    let w = fake_generate(&Distribution::Gaussian { std: 2.0 }, 3, 8, weight_seed(7));
    let q8 = Fake::boxed("q", 0.125).quantize_weights(&w);
    let (mse, _) = fake_weight_error(&w.data, &q8.data);
    assert_eq!(get("matmul/q8", "2x8x3", metric::WEIGHT_MSE), mse);

    // Metadata.
    let meta = &s.results.meta;
    assert_eq!(meta.suite, "small");
    assert_eq!(meta.energy_table, "fake-table");
    assert_eq!(meta.energy_notes, ["fake: int mul 4x4 scaled from 8x8"]);
    let names: Vec<&str> = meta.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["matmul/f64", "matmul/q8", "matmul/q2"]);
    assert_eq!(meta.number_lines.len(), 1);
    assert_eq!(meta.number_lines[0].format, "e2m1");
    assert_eq!(
        meta.number_lines[0].values,
        [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    );
    assert!(meta.threads >= 1 && !meta.cpu_model.is_empty());
    assert_eq!(meta.date.len(), 20, "{}", meta.date);
    assert!(meta.date.ends_with('Z'));

    // What is on disk is what the run returned (as JSON text: NaN != NaN).
    assert_eq!(
        serde_json::to_string(&read_results(&dir.path().join("results.json")).unwrap()).unwrap(),
        serde_json::to_string(&s.results).unwrap()
    );
    let csv = from_csv(&fs::read_to_string(dir.path().join("results.csv")).unwrap()).unwrap();
    assert_eq!(csv.len(), s.results.rows.len());
    no_temp_files(dir.path());
}

#[test]
fn same_seed_same_results_except_timings_and_date() {
    let suite = parse(SMALL).unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let read = |d: &Path| {
        let mut r = read_results(&d.join("results.json")).unwrap();
        r.meta.date.clear();
        r.rows.retain(|m| !metric::is_timing(&m.metric));
        let csv: Vec<String> = fs::read_to_string(d.join("results.csv"))
            .unwrap()
            .lines()
            .filter(|l| !l.contains(metric::EMULATION_MAC_PER_S))
            .map(str::to_string)
            .collect();
        (r, csv)
    };
    run_suite(&suite, &registry(), &toolkit(), &quiet(d1.path())).unwrap();
    run_suite(&suite, &registry(), &toolkit(), &quiet(d2.path())).unwrap();
    let (r1, c1) = read(d1.path());
    let (r2, c2) = read(d2.path());
    assert_eq!(c1, c2);
    // NaN != NaN in PartialEq: compare the JSON text, which has no NaN.
    assert_eq!(
        serde_json::to_string(&r1).unwrap(),
        serde_json::to_string(&r2).unwrap()
    );
    assert_eq!(r1.rows.len(), 18 * CELL_METRICS.len());
    // A different seed gives different data.
    let other = parse(&SMALL.replace("seeds = [7, 8]", "seeds = [9, 8]")).unwrap();
    let d3 = tempfile::tempdir().unwrap();
    run_suite(&other, &registry(), &toolkit(), &quiet(d3.path())).unwrap();
    let (r3, _) = read(d3.path());
    let err = |r: &Results, seed| {
        r.rows
            .iter()
            .find(|m| m.variant == "matmul/q2" && m.seed == seed && m.metric == metric::WEIGHT_MSE)
            .unwrap()
            .value
    };
    assert_ne!(err(&r1, 7), err(&r3, 9));
    assert_eq!(err(&r1, 8), err(&r3, 8));
}

#[test]
fn resume_skips_done_cells() {
    let dir = tempfile::tempdir().unwrap();
    let one = parse(&SMALL.replace("seeds = [7, 8]", "seeds = [7]")).unwrap();
    let first = run_suite(&one, &registry(), &toolkit(), &quiet(dir.path())).unwrap();
    assert_eq!(first.cells_run, 9);

    let both = parse(SMALL).unwrap();
    let reg = registry();
    let calls: Vec<Arc<AtomicUsize>> = ["matmul/f64", "matmul/q8", "matmul/q2"]
        .iter()
        .map(|_| Arc::new(AtomicUsize::new(0)))
        .collect();
    let reg: Vec<Box<dyn MatmulVariant>> = reg
        .into_iter()
        .zip(&calls)
        .map(|(v, c)| {
            let step = match v.name() {
                "matmul/q8" => 0.125,
                "matmul/q2" => 0.5,
                _ => 0.0,
            };
            Box::new(Fake {
                name: v.name(),
                step,
                calls: c.clone(),
                stop_on_call: None,
            }) as Box<dyn MatmulVariant>
        })
        .collect();
    let mut opts = quiet(dir.path());
    opts.resume = true;
    let s = run_suite(&both, &reg, &toolkit(), &opts).unwrap();
    assert_eq!((s.cells, s.cells_run, s.cells_resumed), (18, 9, 9));
    // Timings were all done by the first run (first seed): none again.
    assert_eq!(s.timings_run, 0);
    // q8 emulated only the 3 new (case, seed 8) cells; f64 also as the reference of 3 groups.
    assert_eq!(calls[1].load(Ordering::SeqCst), 3);
    assert_eq!(calls[2].load(Ordering::SeqCst), 3);
    assert_eq!(calls[0].load(Ordering::SeqCst), 6);
    // The resumed run equals a fresh run of the whole suite (non-timing rows).
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = run_suite(&both, &registry(), &toolkit(), &quiet(fresh_dir.path())).unwrap();
    assert_eq!(
        serde_json::to_string(&non_timing(&s.results)).unwrap(),
        serde_json::to_string(&non_timing(&fresh.results)).unwrap()
    );
    no_temp_files(dir.path());

    // A results file of another suite is not resumed.
    let mut other = both.clone();
    other.name = "other".into();
    let e = run_suite(&other, &registry(), &toolkit(), &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("results.json") && e.contains("suite 'small'"),
        "{e}"
    );
    // Resume without an earlier results file runs everything.
    let empty = tempfile::tempdir().unwrap();
    let mut o2 = quiet(empty.path());
    o2.resume = true;
    assert_eq!(
        run_suite(&both, &registry(), &toolkit(), &o2)
            .unwrap()
            .cells_run,
        18
    );
}

#[test]
fn resume_refuses_a_duplicated_row() {
    let dir = tempfile::tempdir().unwrap();
    let suite = parse(SMALL).unwrap();
    run_suite(&suite, &registry(), &toolkit(), &quiet(dir.path())).unwrap();
    let path = dir.path().join("results.json");
    let mut old = read_results(&path).unwrap();
    let row = old.rows[0].clone();
    old.rows.push(row.clone());
    fs::write(&path, serde_json::to_string(&old).unwrap()).unwrap();
    let mut opts = quiet(dir.path());
    opts.resume = true;
    // It used to be carried into the new results (and counted twice).
    let e = run_suite(&suite, &registry(), &toolkit(), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("results.json") && e.contains("twice"), "{e}");
    assert!(e.contains(&row.variant) && e.contains(&row.metric), "{e}");
}

#[test]
fn stop_keeps_completed_cells_and_resume_finishes() {
    let suite = parse(SMALL).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut reg = registry();
    reg[2] = Box::new(Fake {
        name: "matmul/q2",
        step: 0.5,
        calls: Arc::new(AtomicUsize::new(0)),
        stop_on_call: Some((2, stop.clone())),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut opts = quiet(dir.path());
    opts.stop = Some(&stop);
    // A long interval: the final write alone must save the completed cells.
    opts.write_interval = Duration::from_secs(3600);
    // An earlier run's report: stale once this run rewrites the results
    // (it used to stay beside them after an interrupt).
    std::fs::write(dir.path().join("index.html"), "old report").unwrap();
    let s = run_suite(&suite, &reg, &toolkit(), &opts).unwrap();
    assert!(s.interrupted);
    assert!(
        !dir.path().join("index.html").exists(),
        "stale index.html kept"
    );
    assert!(s.cells_run >= 2 && s.cells_run < 18, "{}", s.cells_run);
    assert_eq!(s.timings_run, 0);
    let on_disk = read_results(&dir.path().join("results.json")).unwrap();
    assert_eq!(on_disk.rows.len(), s.cells_run * CELL_METRICS.len());
    no_temp_files(dir.path());

    let mut opts = quiet(dir.path());
    opts.resume = true;
    let r = run_suite(&suite, &registry(), &toolkit(), &opts).unwrap();
    assert_eq!(r.cells_resumed, s.cells_run);
    assert_eq!(r.cells_run, 18 - s.cells_run);
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = run_suite(&suite, &registry(), &toolkit(), &quiet(fresh_dir.path())).unwrap();
    assert_eq!(
        serde_json::to_string(&non_timing(&r.results)).unwrap(),
        serde_json::to_string(&non_timing(&fresh.results)).unwrap()
    );
}

#[test]
fn runner_errors_write_nothing() {
    let suite = parse(SMALL).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let no_ref: Vec<Box<dyn MatmulVariant>> = registry().into_iter().skip(1).collect();
    let e = run_suite(&suite, &no_ref, &toolkit(), &quiet(&out))
        .unwrap_err()
        .to_string();
    assert!(e.contains("matmul/f64") && e.contains("reference"), "{e}");
    assert!(!out.exists());

    // A corrupt results file with --resume.
    fs::create_dir(&out).unwrap();
    fs::write(out.join("results.json"), "{").unwrap();
    let mut o = quiet(&out);
    o.resume = true;
    let e = run_suite(&suite, &registry(), &toolkit(), &o)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("results.json") && e.contains("not a bitsim results.json"),
        "{e}"
    );
    assert_eq!(fs::read_to_string(out.join("results.json")).unwrap(), "{");
}

#[test]
fn file_workloads_npy_and_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    // A 3 x 4 float32 .npy, written by hand.
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend((h.len() as u16).to_le_bytes());
    npy.extend(h.as_bytes());
    for i in 0..12 {
        npy.extend((i as f32 * 0.25).to_le_bytes());
    }
    fs::write(dir.path().join("w.npy"), &npy).unwrap();
    // A safetensors file: two f16 matrices and a 1-D bias.
    let f16 = |n: usize| -> Vec<u8> {
        (0..n)
            .flat_map(|i| half::f16::from_f32(i as f32 * 0.5).to_le_bytes())
            .collect()
    };
    let (a, b, c) = (f16(2 * 6), f16(5 * 6), f16(5));
    use safetensors::tensor::{Dtype, TensorView};
    let tensors = vec![
        (
            "l0.q.weight",
            TensorView::new(Dtype::F16, vec![2, 6], &a).unwrap(),
        ),
        (
            "l1.q.weight",
            TensorView::new(Dtype::F16, vec![5, 6], &b).unwrap(),
        ),
        (
            "l1.q.bias",
            TensorView::new(Dtype::F16, vec![5], &c).unwrap(),
        ),
    ];
    let bytes = safetensors::serialize(tensors, None).unwrap();
    fs::write(dir.path().join("m.safetensors"), bytes).unwrap();

    let text = "name = 'files'\nvariants = ['matmul/q8']\nrepetitions = 1\n\
        [[workloads]]\nname = 'npy'\nfile = 'w.npy'\nm = 2\n\
        [[workloads]]\nname = 'st'\nfile = 'm.safetensors'\ntensors = ['*.q.weight']\nm = 1\n";
    let suite = spec::parse(text, "f.toml", dir.path(), NAMES).unwrap();
    let out = dir.path().join("out");
    let s = run_suite(&suite, &registry(), &toolkit(), &quiet(&out)).unwrap();
    let mut cells: Vec<(String, String)> = s
        .results
        .rows
        .iter()
        .map(|r| (r.workload.clone(), r.shape.clone()))
        .collect();
    cells.dedup();
    assert_eq!(
        cells,
        [
            ("npy".to_string(), "2x4x3".to_string()),
            ("st:l0.q.weight".into(), "1x6x2".into()),
            ("st:l1.q.weight".into(), "1x6x5".into()),
        ]
    );
    // The npy weights are multiples of 0.25: q8 (steps of 1/8) keeps them exactly.
    let mse = s
        .results
        .rows
        .iter()
        .find(|r| r.workload == "npy" && r.metric == metric::WEIGHT_MSE)
        .unwrap()
        .value;
    assert_eq!(mse, 0.0);
    // (Timing rows are present: `repetitions` is at least 1 since 0 was refused.)

    // A tensor glob that matches nothing, and a 1-D tensor: errors naming the file and tensor.
    for (pat, words) in [("*.k.weight", "not found"), ("l1.q.bias", "2-D")] {
        let t = text.replace("*.q.weight", pat);
        let suite = spec::parse(&t, "f.toml", dir.path(), NAMES).unwrap();
        let out = dir.path().join("bad");
        let e = run_suite(&suite, &registry(), &toolkit(), &quiet(&out))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("f.toml line 8: workloads 'st': file '") && e.contains(words),
            "{e}"
        );
        assert!(!out.exists());
    }
}

// ---------------------------------------------------------------- files

fn row(metric: &str, value: f64, workload: &str) -> Measurement {
    Measurement {
        suite: "s".into(),
        variant: "matmul/x".into(),
        workload: workload.into(),
        shape: "1x2x3".into(),
        metric: metric.into(),
        value,
        unit: "dB".into(),
        seed: u64::MAX,
        rep: 4,
        version: "0.1.0".into(),
        commit: None,
    }
}

#[test]
fn csv_and_json_round_trip() {
    let values = [
        0.0,
        -0.0,
        0.1,
        -1.5e-300,
        1e300,
        5e-324,
        123456789.125,
        f64::MAX,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    let mut rows: Vec<Measurement> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| row(metric::SQNR_DB, v, &format!("w{i}")))
        .collect();
    rows.push(row("odd", 1.0, "has,comma \"and quotes\"\nand a line"));
    rows[0].commit = Some("abc123".into());

    let csv = to_csv(&rows);
    assert!(
        csv.starts_with("suite,variant,workload,shape,metric,value,unit,seed,rep,version,commit\n")
    );
    assert!(csv.contains(",nan,") && csv.contains(",inf,") && csv.contains(",-inf,"));
    let back = from_csv(&csv).unwrap();
    assert_eq!(back.len(), rows.len());
    for (a, b) in rows.iter().zip(&back) {
        // Bit-exact values (NaN stays NaN, -0 stays -0).
        assert!(
            a.value.to_bits() == b.value.to_bits() || (a.value.is_nan() && b.value.is_nan()),
            "{} vs {}",
            a.value,
            b.value
        );
        let (mut a2, mut b2) = (a.clone(), b.clone());
        a2.value = 0.0;
        b2.value = 0.0;
        assert_eq!(a2, b2);
    }
    assert!(from_csv("nonsense\n").is_err());
    assert!(from_csv(&csv.replace(",nan,", ",notanumber,")).is_err());

    // JSON: every value exactly; ±inf as the strings "inf"/"-inf", NaN as null.
    let results = Results {
        meta: RunMeta {
            suite: "s".into(),
            ..RunMeta::default()
        },
        rows: rows.clone(),
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    write_results(dir.path(), &results).unwrap();
    no_temp_files(dir.path());
    let json = fs::read_to_string(dir.path().join("results.json")).unwrap();
    let nans = rows.iter().filter(|r| r.value.is_nan()).count();
    assert!(nans > 0 && rows.iter().any(|r| r.value.is_infinite()));
    assert_eq!(json.matches("\"value\": null").count(), nans);
    let back = read_results(&dir.path().join("results.json")).unwrap();
    for (a, b) in rows.iter().zip(&back.rows) {
        if a.value.is_nan() {
            assert!(b.value.is_nan());
        } else {
            assert_eq!(a.value.to_bits(), b.value.to_bits());
        }
    }
    let csv_back = from_csv(&fs::read_to_string(dir.path().join("results.csv")).unwrap()).unwrap();
    assert_eq!(csv_back.len(), rows.len());
    assert!(files::read_results(&dir.path().join("missing.json"))
        .unwrap_err()
        .contains("cannot read"));
}

#[test]
fn atomic_write_replaces_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.txt");
    files::write_atomic(&p, b"first version, long").unwrap();
    files::write_atomic(&p, b"second").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"second");
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
    // A folder that does not exist: an error naming the file, nothing written.
    let e = files::write_atomic(&dir.path().join("nope/f.txt"), b"x").unwrap_err();
    assert!(e.contains("nope/f.txt"), "{e}");
}

#[test]
fn json_keeps_infinities_and_nan() {
    use bitsim::suite::record::{Measurement, Results};
    let row = |v: f64| Measurement {
        suite: "s".into(),
        variant: "v".into(),
        workload: "w".into(),
        shape: "1x1x1".into(),
        metric: "sqnr_db".into(),
        value: v,
        unit: "dB".into(),
        seed: 0,
        rep: 0,
        version: "0".into(),
        commit: None,
    };
    let r = Results {
        rows: vec![
            row(f64::INFINITY),
            row(f64::NEG_INFINITY),
            row(f64::NAN),
            row(1.5),
        ],
        ..Default::default()
    };
    let text = serde_json::to_string(&r).unwrap();
    assert!(text.contains("\"inf\"") && text.contains("\"-inf\"") && text.contains("null"));
    let back: Results = serde_json::from_str(&text).unwrap();
    let v: Vec<f64> = back.rows.iter().map(|m| m.value).collect();
    assert_eq!(v[0], f64::INFINITY);
    assert_eq!(v[1], f64::NEG_INFINITY);
    assert!(v[2].is_nan());
    assert_eq!(v[3], 1.5);
    let bad = text.replace("\"-inf\"", "\"minus\"");
    assert!(serde_json::from_str::<Results>(&bad).is_err());
}

#[test]
fn studies_tables_parse_and_unknown_study_or_key_is_an_error() {
    let s = parse(SMALL).unwrap();
    assert_eq!(s.studies, bitsim::suite::studies::StudiesSpec::default());
    let with = format!("{SMALL}\n[studies.lmul]\n\n[studies.io]\n");
    let s = parse(&with).unwrap();
    assert!(s.studies.lmul.is_some() && s.studies.io.is_some());
    assert!(
        s.studies.accum.is_none() && s.studies.bitmod.is_none() && s.studies.roofline.is_none()
    );
    let line_of =
        |text: &str, needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    let bad = format!("{SMALL}\n[studies.lmull]\n");
    let e = parse_err(&bad);
    assert!(e.contains("lmull"), "{e}");
    let at = format!("my-suite.toml line {}: ", line_of(&bad, "[studies.lmull]"));
    assert!(e.starts_with(&at), "{e}");
    let bad = format!("{SMALL}\n[studies.roofline]\nno_such_key = 1\n");
    let e = parse_err(&bad);
    assert!(e.contains("no_such_key"), "{e}");
    let at = format!("my-suite.toml line {}: ", line_of(&bad, "no_such_key"));
    assert!(e.starts_with(&at), "{e}");
    assert!(!e.contains('\n'), "{e}");
}

/// `repetitions = 0` used to drop every timing silently, and a huge count
/// ran for days: both are refused, naming the file, line and key.
#[test]
fn repetitions_out_of_range_are_refused() {
    let base = "name = 'x'\nvariants = ['matmul/q8']\n\
        [[workloads]]\nname = 'g'\ndist = 'gaussian'\nshapes = [[2, 4, 2]]\n";
    for bad in ["0", "1001", "4000000000"] {
        let e = parse_err(&format!("repetitions = {bad}\n{base}"));
        assert!(
            e.starts_with("my-suite.toml line 1: repetitions: ") && e.contains("out of range"),
            "{e}"
        );
    }
    assert_eq!(
        parse(&format!("repetitions = 1000\n{base}"))
            .unwrap()
            .repetitions,
        1000
    );
}

/// Reads a file's bytes, or `None` when it does not exist.
fn bytes_of(p: &Path) -> Option<Vec<u8>> {
    fs::read(p).ok()
}

#[test]
fn resume_refuses_cells_of_another_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let suite = parse(SMALL).unwrap();
    run_suite(&suite, &registry(), &toolkit(), &quiet(dir.path())).unwrap();
    let mut opts = quiet(dir.path());
    opts.resume = true;
    let files = || ["results.json", "results.csv"].map(|f| bytes_of(&dir.path().join(f)));
    let before = files();
    // Each change is refused with the part named; the files stay as they were.
    let std = parse(&SMALL.replace("std = 2.0", "std = 3.0")).unwrap();
    let reps = parse(&SMALL.replace("repetitions = 2", "repetitions = 3")).unwrap();
    let mut energy = toolkit();
    energy.energy_key = "fake-table 1".into();
    for (suite, tk, part) in [
        (&std, toolkit(), "workload g:"),
        (&reps, toolkit(), "repetitions: 2 then, 3 now"),
        (
            &suite,
            energy,
            "energy: fake-table 0 then, fake-table 1 now",
        ),
    ] {
        let e = run_suite(suite, &registry(), &tk, &opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("results.json"), "{e}");
        assert!(
            e.contains("another configuration") && e.contains(part),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        assert_eq!(files(), before, "refused resume wrote files");
    }
    // Another version: the recorded key of the earlier run is edited.
    let json = dir.path().join("results.json");
    let text = fs::read_to_string(&json).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["meta"]["config"]["version"] = "0.0.1".into();
    fs::write(&json, serde_json::to_string(&v).unwrap()).unwrap();
    let e = run_suite(&suite, &registry(), &toolkit(), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("version: 0.0.1 then"), "{e}");
    // A results file without a configuration record is not trusted either.
    v["meta"].as_object_mut().unwrap().remove("config");
    fs::write(&json, serde_json::to_string(&v).unwrap()).unwrap();
    let e = run_suite(&suite, &registry(), &toolkit(), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("records no configuration"), "{e}");
    // The same configuration, a new seed and a new workload: resumed.
    fs::write(&json, text).unwrap();
    let more = parse(&SMALL.replace("seeds = [7, 8]", "seeds = [7, 8, 9]").replace(
        "shapes = [[3, 6, 2]]",
        "shapes = [[3, 6, 2]]\n\n[[workloads]]\nname = \"u\"\ndist = \"llm-like\"\nshapes = [[2, 2, 2]]",
    ))
    .unwrap();
    let s = run_suite(&more, &registry(), &toolkit(), &opts).unwrap();
    assert_eq!(s.cells_resumed, 18);
}

/// A bad study value used to surface after the whole grid had run, without
/// a line, leaving results without their studies: it is refused before the
/// first cell, at the line of its key (or of its table).
#[test]
fn study_values_are_checked_before_the_first_cell() {
    let line_of =
        |text: &str, needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    for (table, needle, reason) in [
        (
            "[studies.lmul]\nsamples = 0\n",
            "samples = 0",
            "studies.lmul: samples",
        ),
        (
            "[studies.bitmod]\nmodel = \"nope\"\n",
            "model = ",
            "studies.bitmod: model: unknown model 'nope'",
        ),
        (
            "[studies.io]\ncaches = [\"12 parsecs\"]\n",
            "caches = ",
            "studies.io: caches: ",
        ),
        (
            "[studies.bitmod]\nweights = \"no/such.safetensors\"\n",
            "weights = ",
            "studies.bitmod: weights: ./no/such.safetensors: no such file",
        ),
        (
            "[studies.roofline]\nshapes = []\n",
            "shapes = []",
            "studies.roofline: shapes: empty",
        ),
        (
            "[studies.attention]\nd = 3\n",
            "d = 3",
            "studies.attention: d = 3: RoPE",
        ),
    ] {
        let text = format!("{SMALL}\n{table}");
        let s = parse(&text).unwrap();
        let energy = bitsim::suite::energy_table(&s).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let calls = Arc::new(AtomicUsize::new(0));
        let reg: Vec<Box<dyn MatmulVariant>> = ["matmul/f64", "matmul/q8", "matmul/q2"]
            .into_iter()
            .map(|name| {
                Box::new(Fake {
                    name,
                    step: 0.0,
                    calls: calls.clone(),
                    stop_on_call: None,
                }) as Box<dyn MatmulVariant>
            })
            .collect();
        let e = bitsim::suite::run(&s, &reg, &energy, &quiet(&out))
            .unwrap_err()
            .to_string();
        let at = format!("my-suite.toml line {}: ", line_of(&text, needle));
        assert!(e.starts_with(&at) && e.contains(reason), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert_eq!(calls.load(Ordering::SeqCst), 0, "a cell ran: {e}");
        assert!(!out.exists(), "output written: {e}");
    }
}

//! Native-kernel rows of the suites: which cells get `native_gops` and
//! `native_ceiling_fraction`, the bit check against the emulation (a wrong
//! kernel fails the run), the suite keys that switch parts off, and the
//! shipped kernels suite.

use std::path::Path;
use std::time::Duration;

use bitsim::hw::cost::Cost;
use bitsim::hw::energy::EnergyTable;
use bitsim::isa::IsaLevel;
use bitsim::kernels::Base;
use bitsim::suite::kernel_bench::{Ceiling, CeilingCache, CeilingKind};
use bitsim::suite::record::metric::{self, CELL_METRICS};
use bitsim::suite::record::Results;
use bitsim::suite::spec;
use bitsim::suite::{run_suite, RunOptions, Toolkit};
use bitsim::variants::{self, MatmulVariant, NativeMatmul, Shape, VariantInfo};
use bitsim::workload::Matrix;

fn quiet(dir: &Path) -> RunOptions<'static> {
    let mut o = RunOptions::new(dir);
    o.progress = false;
    o.write_interval = Duration::ZERO;
    o
}

/// Every registered name (what the spec's globs resolve against).
fn names(reg: &[Box<dyn MatmulVariant>]) -> Vec<&'static str> {
    reg.iter().map(|v| v.name()).collect()
}

fn parse(text: &str, reg: &[Box<dyn MatmulVariant>]) -> Result<bitsim::suite::Suite, String> {
    spec::parse(text, "native.toml", Path::new("."), &names(reg)).map_err(|e| e.to_string())
}

/// A suite of the reference, a variant with a native kernel and one without,
/// on a GEMV (M = 3) and a GEMM (M = 12) shape with ragged K and N.
fn suite_text(extra: &str) -> String {
    format!(
        r#"
name = "native"
variants = ["matmul/f64", "matmul/w8a8-int", "matmul/bitserial-w4a8"]
repetitions = 3
{extra}

[[workloads]]
name = "g"
dist = "gaussian"
std = 1.0
shapes = [[3, 40, 5], [12, 33, 10]]
"#
    )
}

fn run(text: &str, reg: &[Box<dyn MatmulVariant>]) -> Result<Results, String> {
    let suite = parse(text, reg)?;
    let table = EnergyTable::load("energy-45nm").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tk = Toolkit::standard(&table);
    let out = run_suite(&suite, reg, &tk, &quiet(dir.path()));
    out.map(|s| s.results).map_err(|e| e.to_string())
}

fn values(r: &Results, variant: &str, shape: &str, m: &str) -> Vec<f64> {
    r.rows
        .iter()
        .filter(|x| x.variant == variant && x.shape == shape && x.metric == m)
        .map(|x| x.value)
        .collect()
}

#[test]
fn native_rows_for_variants_with_a_kernel_only() {
    let reg = variants::registry();
    let find = |n: &str| reg.iter().find(|v| v.name() == n).unwrap();
    // The premise: two have a kernel, the reference none (the only
    // matmul variant without one).
    assert!(find("matmul/w8a8-int").native().is_some());
    assert!(find("matmul/bitserial-w4a8").native().is_some());
    assert!(find("matmul/f64").native().is_none());
    let r = run(&suite_text(""), &reg).unwrap();
    for shape in ["3x40x5", "12x33x10"] {
        let g = values(&r, "matmul/w8a8-int", shape, metric::NATIVE_GOPS);
        let f = values(
            &r,
            "matmul/w8a8-int",
            shape,
            metric::NATIVE_CEILING_FRACTION,
        );
        assert_eq!(
            (g.len(), f.len()),
            (3, 3),
            "{shape}: one row per repetition"
        );
        assert!(g.iter().all(|&x| x.is_finite() && x > 0.0), "{g:?}");
        assert!(f.iter().all(|&x| x > 0.0 && x < 1.5), "{shape}: {f:?}");
        assert_eq!(
            values(&r, "matmul/bitserial-w4a8", shape, metric::NATIVE_GOPS).len(),
            3,
            "{shape}: bitserial-w4a8's native rows"
        );
        let v = "matmul/f64";
        for m in metric::NATIVE_METRICS {
            assert!(values(&r, v, shape, m).is_empty(), "{v} {shape} {m}");
        }
        // The emulation is still timed for it.
        assert_eq!(values(&r, v, shape, metric::EMULATION_MAC_PER_S).len(), 3);
    }
    let unit = |m: &str| r.rows.iter().find(|x| x.metric == m).unwrap().unit.clone();
    assert_eq!(unit(metric::NATIVE_GOPS), "GOP/s");
    assert_eq!(unit(metric::NATIVE_CEILING_FRACTION), "");
}

#[test]
fn native_false_drops_the_rows_and_keeps_the_rest() {
    let reg = variants::registry();
    let on = run(&suite_text(""), &reg).unwrap();
    let off = run(&suite_text("native = false"), &reg).unwrap();
    assert!(off
        .rows
        .iter()
        .all(|x| !metric::NATIVE_METRICS.contains(&x.metric.as_str())));
    let det = |r: &Results| -> Vec<(String, String, String, u64)> {
        r.rows
            .iter()
            .filter(|x| !metric::is_timing(&x.metric))
            .map(|x| {
                (
                    x.variant.clone(),
                    x.shape.clone(),
                    x.metric.clone(),
                    x.value.to_bits(),
                )
            })
            .collect()
    };
    assert_eq!(det(&on), det(&off));
    assert!(!det(&on).is_empty());
}

#[test]
fn timings_only_suite_limits_the_emulation_rows() {
    let reg = variants::registry();
    let r = run(&suite_text("accuracy = false\nemulation_rows = 2"), &reg).unwrap();
    assert!(r.rows.iter().all(|x| metric::is_timing(&x.metric)));
    assert!(r
        .rows
        .iter()
        .all(|x| !CELL_METRICS.iter().any(|m| m.name == x.metric)));
    assert_eq!(
        values(&r, "matmul/w8a8-int", "12x33x10", metric::NATIVE_GOPS).len(),
        3
    );
    assert_eq!(
        values(
            &r,
            "matmul/bitserial-w4a8",
            "12x33x10",
            metric::EMULATION_MAC_PER_S
        )
        .len(),
        3
    );
}

// ---------------------------------------------------------------- a lying kernel

/// `matmul/w8a8-int` with a native kernel that is off by one ulp in one output.
struct Lying(Box<dyn MatmulVariant>);

struct LyingKernel {
    inner: Box<dyn NativeMatmul>,
}

impl NativeMatmul for LyingKernel {
    fn pack_weights(&mut self, w: &Matrix) {
        self.inner.pack_weights(w)
    }
    fn matmul(&self, a: &Matrix) -> Vec<f64> {
        let mut out = self.inner.matmul(a);
        let last = out.len() - 1;
        out[last] = f64::from_bits(out[last].to_bits() ^ 1);
        out
    }
    fn base(&self) -> Base {
        self.inner.base()
    }
    fn weight_bytes(&self) -> usize {
        self.inner.weight_bytes()
    }
    fn top_isa(&self) -> IsaLevel {
        self.inner.top_isa()
    }
}

impl MatmulVariant for Lying {
    fn info(&self) -> VariantInfo {
        self.0.info()
    }
    fn quantize_weights(&self, w: &Matrix) -> Matrix {
        self.0.quantize_weights(w)
    }
    fn emulate(&self, a: &Matrix, w: &Matrix, seed: u64) -> Vec<f64> {
        self.0.emulate(a, w, seed)
    }
    fn cost(&self, shape: Shape) -> Cost {
        self.0.cost(shape)
    }
    fn native(&self) -> Option<Box<dyn NativeMatmul>> {
        Some(Box::new(LyingKernel {
            inner: self.0.native()?,
        }))
    }
}

#[test]
fn a_kernel_that_differs_from_the_emulation_fails_the_run() {
    let reg: Vec<Box<dyn MatmulVariant>> = variants::registry()
        .into_iter()
        .map(|v| {
            if v.name() == "matmul/w8a8-int" {
                Box::new(Lying(v)) as Box<dyn MatmulVariant>
            } else {
                v
            }
        })
        .collect();
    let e = run(&suite_text(""), &reg).expect_err("a wrong kernel must fail the run");
    assert!(e.contains("matmul/w8a8-int"), "{e}");
    assert!(
        e.contains("native kernel differs from the emulation"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    // With native timing off the same registry runs.
    assert!(run(&suite_text("native = false"), &reg).is_ok());
    // The check runs on the limited rows too.
    let e = run(&suite_text("accuracy = false\nemulation_rows = 1"), &reg).unwrap_err();
    assert!(e.contains("native kernel differs"), "{e}");
}

// ---------------------------------------------------------------- spec keys

#[test]
fn bad_native_keys_give_one_line_errors() {
    let reg = variants::registry();
    for (extra, line, needle) in [
        ("native = 'yes'", 5, "native: \"yes\" is not true or false"),
        ("accuracy = 1", 5, "accuracy: 1 is not true or false"),
        (
            "accuracy = false\nemulation_rows = 0",
            6,
            "emulation_rows: 0 is not a positive row count",
        ),
        (
            "emulation_rows = 4",
            5,
            "emulation_rows: needs `accuracy = false`",
        ),
        ("accuracy = false\nemulation_rows = -2", 6, "emulation_rows"),
    ] {
        let e = parse(&suite_text(extra), &reg).expect_err(extra);
        assert!(
            e.starts_with(&format!("native.toml line {line}: ")),
            "{extra}: {e}"
        );
        assert!(e.contains(needle), "{extra}: {e}");
        assert!(!e.contains('\n'), "{extra}: {e}");
    }
    let s = parse(&suite_text(""), &reg).unwrap();
    assert!(s.native && s.accuracy && s.emulation_rows.is_none());
}

#[test]
fn kernels_suite_covers_every_native_kernel() {
    let reg = variants::registry();
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-suites/kernels.toml");
    let s = spec::load(&p, &names(&reg)).unwrap_or_else(|e| panic!("{e}"));
    let native: Vec<&str> = reg
        .iter()
        .filter(|v| v.native().is_some())
        .map(|v| v.name())
        .collect();
    assert_eq!(
        s.variants, native,
        "kernels.toml lists the variants `kernels list` shows"
    );
    assert!(!s.accuracy && s.native);
    let shapes: Vec<String> = s
        .workloads
        .iter()
        .flat_map(|w| match &w.kind {
            bitsim::workload::spec::WorkloadKind::Generated { shapes, .. } => {
                shapes.iter().map(|s| s.to_string()).collect::<Vec<_>>()
            }
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(shapes, ["1x14336x4096", "512x4096x4096"]);
    // The emulation's rows reach the GEMM path at the prefill shape.
    assert!(s.emulation_rows.unwrap() > bitsim::kernels::GEMV_MAX_M);
}

// ---------------------------------------------------------------- ceilings

#[test]
fn ceiling_fraction_agrees_with_the_ceiling_in_gops() {
    let shape = Shape {
        m: 1,
        k: 1000,
        n: 500,
    };
    let read = Ceiling {
        kind: CeilingKind::Read,
        what: String::new(),
        gbps: Some(20.0),
        peak_gops: None,
    };
    // 1 MB at 20 GB/s takes 50 µs: a product taking 100 µs reaches half.
    let bytes = 1_000_000;
    assert!((read.fraction(shape, bytes, 100e-6) - 0.5).abs() < 1e-12);
    let gops = 2.0 * 500_000.0 / 100e-6 / 1e9;
    assert!((gops / read.gops(shape, bytes) - 0.5).abs() < 1e-12);
    let peak = Ceiling {
        kind: CeilingKind::Peak,
        what: String::new(),
        gbps: None,
        peak_gops: Some(40.0),
    };
    assert_eq!(peak.gops(shape, bytes), 40.0);
    assert!((peak.fraction(shape, bytes, 100e-6) - 10.0 / 40.0).abs() < 1e-12);
}

#[test]
fn the_ceiling_cache_measures_each_key_once() {
    let reg = variants::registry();
    let v = reg.iter().find(|v| v.name() == "matmul/w8a8-int").unwrap();
    let w = Matrix::new(6, 64, vec![0.5; 6 * 64]);
    let mut k = v.native().unwrap();
    k.pack_weights(&w);
    let mut c = CeilingCache::new(Duration::from_millis(1), Duration::from_millis(1));
    let gemv = Shape { m: 2, k: 64, n: 6 };
    let gemm = Shape { m: 20, k: 64, n: 6 };
    let a = c.get(&*k, gemv, 1).clone();
    assert_eq!(a.kind, CeilingKind::Read);
    assert_eq!(c.get(&*k, gemv, 1), &a);
    assert_eq!(c.get(&*k, gemm, 1).kind, CeilingKind::Peak);
    c.get(&*k, gemm, 1);
    assert_eq!(c.len(), 2);
    c.get(&*k, gemm, 2);
    assert_eq!(c.len(), 3, "the thread count is part of the key");
}

#[test]
fn native_metrics_are_timings_where_higher_is_better() {
    for m in metric::NATIVE_METRICS {
        assert!(metric::is_timing(m), "{m}");
        assert!(metric::higher_is_better(m), "{m}");
        assert!(metric::TIMING_METRICS.iter().any(|t| t.name == *m));
    }
}

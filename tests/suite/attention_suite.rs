//! Attention workloads in suites: the grammar (every key, good and bad),
//! attention cells' metrics against values computed here independently
//! (a naive f64 attention, softmax, KL and TV written out below), same seed
//! same bytes, mixed matmul + attention suites, sharding and resume.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use bitsim::attention;
use bitsim::hw::energy::EnergyTable;
use bitsim::suite::files::JSON_NAME;
use bitsim::suite::record::{metric, Measurement, Results};
use bitsim::suite::{self, merge, spec, RunOptions, Suite};
use bitsim::variants::registry;
use bitsim::workload::attention::{AttnShape, Phase, Qkv};
use bitsim::workload::attention_spec::{AttnDist, AttnSource};
use bitsim::workload::spec::WorkloadKind;

use super::shard::{deterministic_rows as deterministic, shard_dirs, timing_keys};

fn names() -> Vec<&'static str> {
    let m: Vec<&'static str> = registry().iter().map(|v| v.name()).collect();
    let a: Vec<&'static str> = attention::registry().iter().map(|v| v.name()).collect();
    m.into_iter().chain(a).collect()
}

fn parse_in(text: &str, dir: &Path) -> Result<Suite, String> {
    spec::parse(text, "a.toml", dir, &names()).map_err(|e| e.to_string())
}

fn parse(text: &str) -> Result<Suite, String> {
    parse_in(text, Path::new("."))
}

const HEAD: &str = "name = 'a'\nvariants = ['attention/f64', 'attention/f32']\n";

fn attn_wl(body: &str) -> String {
    format!("{HEAD}[[workloads]]\nname = 'w'\nkind = 'attention'\n{body}")
}

#[test]
fn grammar_generated_workloads() {
    let s = parse(&attn_wl(
        "dist = 'gaussian'\nheads = 3\nn = 17\nd = 8\ncausal = true\nphase = 'prefill'\n\
         [[workloads]]\nname = 'dec'\nkind = 'attention'\nheads = 2\nn = 40\nd = 6\nphase = 'decode'\n",
    ))
    .unwrap();
    let want = [
        (
            AttnDist::Gaussian,
            AttnShape {
                heads: 3,
                nq: 17,
                nk: 17,
                d: 8,
                causal: true,
            },
        ),
        (
            AttnDist::Realistic,
            AttnShape {
                heads: 2,
                nq: 1,
                nk: 40,
                d: 6,
                causal: false,
            },
        ),
    ];
    for (w, (dist, shape)) in s.workloads.iter().zip(want) {
        let WorkloadKind::Attention(a) = &w.kind else {
            panic!("{w:?}")
        };
        assert_eq!(a.source, AttnSource::Generated { dist, shape });
    }
    // The attention variants are the suite's; `kind = "matmul"` is the default.
    assert_eq!(s.variants, ["attention/f64", "attention/f32"]);
    let m = parse(
        "name = 'm'\nvariants = ['matmul/f64']\n[[workloads]]\nname = 'g'\nkind = 'matmul'\n\
         dist = 'gaussian'\nshapes = [[1, 2, 3]]\n",
    )
    .unwrap();
    assert!(matches!(
        m.workloads[0].kind,
        WorkloadKind::Generated { .. }
    ));
    // KDEformer's GloVe demo stand-in; any head dim (no RoPE).
    let g = parse(&attn_wl(
        "dist = 'glove-like'
heads = 1
n = 9
d = 5
",
    ))
    .unwrap();
    let WorkloadKind::Attention(a) = &g.workloads[0].kind else {
        panic!("{:?}", g.workloads[0])
    };
    assert!(matches!(
        a.source,
        AttnSource::Generated {
            dist: AttnDist::GloveLike,
            ..
        }
    ));
}

/// (what to add to a good attention workload or put instead, the key the
/// error must name, its line).
#[test]
fn grammar_every_bad_key_names_it() {
    let ok = "heads = 1\nn = 4\nd = 2\n";
    // Lines: 1 name, 2 variants, 3 [[workloads]], 4 name, 5 kind, 6.. body.
    let cases: &[(&str, &str, &str)] = &[
        ("heads = 0\nn = 4\nd = 2\n", "heads", "at least 1"),
        ("heads = 'x'\nn = 4\nd = 2\n", "heads", "whole number"),
        ("heads = 1.5\nn = 4\nd = 2\n", "heads", "whole number"),
        ("heads = 1\nd = 2\n", "n", "missing"),
        ("n = 4\nd = 2\n", "heads", "missing"),
        ("heads = 1\nn = 4\n", "d", "missing"),
        ("heads = 1\nn = -4\nd = 2\n", "n", "whole number"),
        ("heads = 1\nn = 4\nd = 3\n", "d", "even"),
        (
            "heads = 1\nn = 4\nd = 2\ncausal = 'yes'\n",
            "causal",
            "true or false",
        ),
        (
            "heads = 1\nn = 4\nd = 2\nphase = 'sideways'\n",
            "phase",
            "prefill or decode",
        ),
        (
            "heads = 1\nn = 4\nd = 2\nphase = 3\n",
            "phase",
            "not a string",
        ),
        (
            "heads = 1\nn = 4\nd = 2\ndist = 'laplace'\n",
            "dist",
            "realistic, gaussian",
        ),
        (
            "heads = 1\nn = 4\nd = 2\nstd = 1.0\n",
            "std",
            "not for attention",
        ),
        (
            "heads = 1\nn = 4\nd = 2\nshapes = [[1, 2, 3]]\n",
            "shapes",
            "not for attention",
        ),
        ("heads = 1\nn = 4\nd = 2\nm = 3\n", "m", "not for attention"),
        (
            "heads = 1\nn = 4\nd = 2\ntensors = ['x']\n",
            "tensors",
            "not for attention",
        ),
        ("heads = 64\nn = 100000\nd = 2\n", "n", "more than"),
        (
            "heads = 1\nn = 4\nd = 2\ncolour = 1\n",
            "colour",
            "unknown field",
        ),
        (
            "q = 'Q.npy'\nk = 'K.npy'\nv = 'V.npy'\n",
            "q",
            "no such file",
        ),
        ("q = 'Q.txt'\nk = 'K.npy'\nv = 'V.npy'\n", "q", ".npy"),
        ("q = 'Q.npy'\n", "k", "missing"),
        (
            "q = 'Q.npy'\nk = 'K.npy'\nv = 'V.npy'\nheads = 1\n",
            "heads",
            "from files",
        ),
        (
            "q = 'Q.npy'\nk = 'K.npy'\nv = 'V.npy'\nphase = 'decode'\n",
            "phase",
            "from files",
        ),
        (
            "file = 'x.npy'\nq = 'a'\nk = 'b'\nv = 'c'\n",
            "file",
            ".safetensors",
        ),
        (
            "file = 'nope.safetensors'\nq = 'a'\nk = 'b'\nv = 'c'\n",
            "file",
            "no such file",
        ),
        ("q = 3\nk = 'K.npy'\nv = 'V.npy'\n", "q", "not a string"),
    ];
    for (body, key, reason) in cases {
        let e = parse(&attn_wl(body)).expect_err(body);
        assert!(e.starts_with("a.toml line "), "{body}: {e}");
        assert!(e.contains(key), "{body}: {e} does not name {key}");
        assert!(e.contains(reason), "{body}: {e} lacks {reason:?}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    // Line numbers point at the key.
    let e = parse(&attn_wl("heads = 1\nn = 4\nd = 2\nphase = 'x'\n")).unwrap_err();
    assert!(e.starts_with("a.toml line 9: "), "{e}");
    let e = parse(&attn_wl(ok).replace("kind = 'attention'", "kind = 'conv'")).unwrap_err();
    assert!(
        e.starts_with("a.toml line 5: ") && e.contains("kind"),
        "{e}"
    );
    let e = parse(&attn_wl(ok).replace("kind = 'attention'", "kind = 7")).unwrap_err();
    assert!(
        e.contains("kind") && e.contains("not a workload kind"),
        "{e}"
    );
    // Attention keys on a matmul workload.
    let e = parse(
        "name = 'm'\nvariants = ['matmul/f64']\n[[workloads]]\nname = 'g'\ndist = 'gaussian'\n\
         shapes = [[1, 2, 3]]\nheads = 2\n",
    )
    .unwrap_err();
    assert!(
        e.starts_with("a.toml line 7: ") && e.contains("heads") && e.contains("attention"),
        "{e}"
    );
    // Variants and workloads of the two kinds must meet.
    let e = parse(&format!(
        "name = 'x'\nvariants = ['matmul/f64']\n[[workloads]]\nname = 'w'\nkind = 'attention'\n{ok}"
    ))
    .unwrap_err();
    assert!(
        e.contains("variants") && e.contains("matmul variant"),
        "{e}"
    );
    let e = parse(
        "name = 'x'\nvariants = ['attention/f32']\n[[workloads]]\nname = 'g'\ndist = 'gaussian'\nshapes = [[1, 2, 3]]\n",
    )
    .unwrap_err();
    assert!(
        e.contains("variants") && e.contains("attention variant"),
        "{e}"
    );
    let e = parse(&format!(
        "name = 'x'\nvariants = ['matmul/f64', 'attention/f32']\n[[workloads]]\nname = 'g'\ndist = 'gaussian'\n\
         shapes = [[1, 2, 3]]\n[[workloads]]\nname = 'w'\nkind = 'attention'\n{ok}"
    ));
    assert!(e.is_ok(), "{e:?}");
}

fn write_npy(path: &Path, shape: &[usize], data: &[f32]) {
    let mut f = fs::File::create(path).unwrap();
    bitsim::workload::npy::write(&mut f, shape, data).unwrap();
}

/// A tiny Q/K/V (1 head, 3 queries over 4 keys, d = 2) with distinct scores.
/// Q's and K's (= V's) shapes, then Q, K, V.
type Tiny = ([usize; 3], [usize; 3], Vec<f32>, Vec<f32>, Vec<f32>);

fn tiny() -> Tiny {
    let q = vec![0.5, -1.0, 1.25, 0.75, -0.3, 2.0];
    let k = vec![1.0, 0.5, -0.75, 1.5, 0.25, -2.0, 1.75, 0.125];
    let v = vec![0.1, 2.0, -1.5, 0.3, 3.0, -0.7, 0.9, 1.1];
    ([1, 3, 2], [1, 4, 2], q, k, v)
}

fn run(s: &Suite, dir: &Path) -> suite::RunSummary {
    let table = suite::energy_table(s).unwrap();
    let mut o = RunOptions::new(dir);
    o.progress = false;
    o.write_interval = std::time::Duration::ZERO;
    suite::run(s, &registry(), &table, &o).unwrap()
}

fn value(r: &Results, variant: &str, workload: &str, m: &str) -> f64 {
    let hits: Vec<&Measurement> = r
        .rows
        .iter()
        .filter(|x| x.variant == variant && x.workload == workload && x.metric == m)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{variant} {workload} {m}: {} rows",
        hits.len()
    );
    hits[0].value
}

/// softmax in f64, written out (max subtracted; masked = −∞ gets 0).
fn softmax(s: &[f64]) -> Vec<f64> {
    let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
    let z: f64 = e.iter().sum();
    e.iter().map(|x| x / z).collect()
}

#[test]
fn attention_cell_metrics_equal_independent_values() {
    let dir = tempfile::tempdir().unwrap();
    let (qs, ks, q, k, v) = tiny();
    write_npy(&dir.path().join("Q.npy"), &qs, &q);
    write_npy(&dir.path().join("K.npy"), &ks, &k);
    write_npy(&dir.path().join("V.npy"), &ks, &v);
    let text = "name = 'tiny'\nvariants = ['attention/mxfp4', 'attention/f64']\nrepetitions = 1\nnative = false\n\
        [[workloads]]\nname = 'files'\nkind = 'attention'\nq = 'Q.npy'\nk = 'K.npy'\nv = 'V.npy'\ncausal = true\n";
    let s = parse_in(text, dir.path()).unwrap();
    let out = dir.path().join("out");
    let r = run(&s, &out).results;
    let shape = AttnShape {
        heads: 1,
        nq: 3,
        nk: 4,
        d: 2,
        causal: true,
    };
    assert!(r.rows.iter().all(|m| m.shape == "1x3x4x2 causal"));

    // The reference, naively: query i (position i + 1) sees keys 0..=i+1.
    let scale = 1.0 / 2f64.sqrt();
    let mut ref_out = Vec::new();
    let mut ref_scores = Vec::new();
    for i in 0..3 {
        let vis = i + 2;
        let s: Vec<f64> = (0..4)
            .map(|j| {
                if j < vis {
                    (q[2 * i] as f64 * k[2 * j] as f64 + q[2 * i + 1] as f64 * k[2 * j + 1] as f64)
                        * scale
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        let p = softmax(&s);
        for c in 0..2 {
            ref_out.push((0..4).map(|j| p[j] * v[2 * j + c] as f64).sum::<f64>());
        }
        ref_scores.push(s);
    }
    // The variant's output and scores (its emulation is tested elsewhere).
    let mx = attention::find("attention/mxfp4").unwrap();
    let x = Qkv::new(shape, q.clone(), k.clone(), v.clone()).unwrap();
    let o = mx.emulate(&x);
    let sc = mx.scores(&x);
    let diff: Vec<f64> = o.iter().zip(&ref_out).map(|(a, b)| a - b).collect();
    let norm = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>().sqrt();
    let rel = norm(&diff) / norm(&ref_out);
    let dot: f64 = o.iter().zip(&ref_out).map(|(a, b)| a * b).sum();
    let cos = dot / (norm(&o) * norm(&ref_out));
    let max_abs = diff.iter().fold(0.0f64, |m, d| m.max(d.abs()));
    let (mut kls, mut tvs) = (Vec::new(), Vec::new());
    for i in 0..3 {
        let p = softmax(&ref_scores[i]);
        let qq = softmax(&sc[4 * i..4 * i + 4]);
        let kl: f64 = (0..4)
            .filter(|&j| p[j] > 0.0)
            .map(|j| p[j] * (p[j] / qq[j]).ln())
            .sum();
        let tv: f64 = 0.5 * (0..4).map(|j| (p[j] - qq[j]).abs()).sum::<f64>();
        kls.push(kl);
        tvs.push(tv);
    }
    assert!(rel > 1e-3, "mxfp4 should be visibly inexact: {rel}");
    let close = |got: f64, want: f64, what: &str| {
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1e-12),
            "{what}: {got} vs {want}"
        )
    };
    let g = |m: &str| value(&r, "attention/mxfp4", "files", m);
    close(g(metric::REL_FRO_ERROR), rel, "rel");
    close(g(metric::COSINE), cos, "cosine");
    close(g(metric::MAX_ABS_ERROR), max_abs, "max abs");
    close(g(metric::KL_MEAN), kls.iter().sum::<f64>() / 3.0, "kl mean");
    close(
        g(metric::KL_MAX),
        kls.iter().cloned().fold(0.0, f64::max),
        "kl max",
    );
    close(g(metric::TV_MEAN), tvs.iter().sum::<f64>() / 3.0, "tv mean");
    close(
        g(metric::TV_MAX),
        tvs.iter().cloned().fold(0.0, f64::max),
        "tv max",
    );
    // MXFP4: 4-bit elements and one 8-bit scale per 32 (d = 2 < 32: one
    // scale per row of 2), so 4 + 8/2 = 8 bits per element.
    let bits = g(metric::BITS_PER_KV);
    assert!(
        bits > 4.0 && bits <= 8.0,
        "mxfp4 bits per K/V element {bits}"
    );
    // The f64 reference against itself.
    let f = |m: &str| value(&r, "attention/f64", "files", m);
    assert_eq!(f(metric::REL_FRO_ERROR), 0.0);
    assert_eq!(f(metric::KL_MAX), 0.0);
    assert_eq!(f(metric::TV_MAX), 0.0);
    assert_eq!(f(metric::BITS_PER_KV), 64.0);
    // Energy: counts × the table; slow-memory bytes: the closed form.
    let table = EnergyTable::load("energy-45nm").unwrap();
    let cost = mx.cost(shape);
    let e = table.energy(&cost);
    close(g(metric::ENERGY_TOTAL_PJ), e.total_pj(), "energy");
    close(
        g(metric::ENERGY_PJ_PER_MAC),
        e.total_pj() / cost.macs,
        "energy/MAC",
    );
    close(g(metric::SLOW_MEMORY_BYTES), cost.dram_bytes, "slow memory");
    assert!(cost.dram_bytes > 0.0);
    // Every attention metric is written, once, at rep 0; one emulation timing.
    for m in metric::ATTENTION_CELL {
        value(&r, "attention/mxfp4", "files", m);
    }
    assert!(metric::ATTENTION_METRICS
        .iter()
        .all(|m| metric::find(m.name).is_some()));
    value(&r, "attention/mxfp4", "files", metric::EMULATION_MAC_PER_S);
}

const MIXED: &str = r#"
name = "mixed"
variants = ["matmul/f64", "matmul/mxfp4", "attention/f64", "attention/flash-f32", "attention/sage-int8"]
seeds = [5, 6]
repetitions = 1

[[workloads]]
name = "g"
dist = "gaussian"
shapes = [[2, 40, 3]]

[[workloads]]
name = "pre"
kind = "attention"
heads = 2
n = 33
d = 16
causal = true

[[workloads]]
name = "dec"
kind = "attention"
dist = "gaussian"
heads = 1
n = 70
d = 8
phase = "decode"

# A study that places the suite's variants takes its matmul variants.
[studies.roofline]
"#;

#[test]
fn mixed_suite_runs_each_kind_on_its_workloads_deterministically() {
    let s = parse(MIXED).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let a = run(&s, &tmp.path().join("a"));
    // 2 matmul variants × 1 case × 2 seeds + 3 attention × 2 cases × 2 seeds.
    assert_eq!((a.cells, a.cells_run), (4 + 12, 4 + 12));
    let r = &a.results;
    assert!(r.studies.roofline.is_some());
    let mut cells: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in r.rows.iter().filter(|m| !metric::is_timing(&m.metric)) {
        *cells
            .entry((m.variant.clone(), m.workload.clone()))
            .or_default() += 1;
    }
    for ((v, w), n) in &cells {
        let attn = v.starts_with("attention/");
        assert_eq!(attn, w != "g", "{v} ran on {w}");
        let per = if attn {
            metric::ATTENTION_CELL.len()
        } else {
            metric::CELL_METRICS.len()
        };
        assert_eq!(*n, 2 * per, "{v} on {w}");
    }
    assert_eq!(cells.len(), 2 + 6);
    let shapes: Vec<&str> = r
        .rows
        .iter()
        .filter(|m| m.workload == "dec")
        .map(|m| m.shape.as_str())
        .collect();
    assert!(shapes.iter().all(|s| *s == "1x1x70x8"), "{shapes:?}");
    // Native kernels: flash-f32 and sage-int8 timed (checked against the
    // emulation first), the f64 reference has none.
    for (v, has) in [
        ("attention/flash-f32", true),
        ("attention/sage-int8", true),
        ("attention/f64", false),
    ] {
        let n = r
            .rows
            .iter()
            .filter(|m| m.variant == v && m.metric == metric::NATIVE_GOPS)
            .count();
        assert_eq!(n > 0, has, "{v}");
    }
    // Same seed, same bytes.
    let b = run(&s, &tmp.path().join("b"));
    assert_eq!(deterministic(&a.results), deterministic(&b.results));
    // Another seed, other values.
    let other = parse(&MIXED.replace("seeds = [5, 6]", "seeds = [7, 6]")).unwrap();
    let c = run(&other, &tmp.path().join("c"));
    let err = |r: &Results, seed: u64| {
        r.rows
            .iter()
            .find(|m| {
                m.variant == "attention/sage-int8"
                    && m.workload == "pre"
                    && m.seed == seed
                    && m.metric == metric::REL_FRO_ERROR
            })
            .unwrap()
            .value
    };
    assert_ne!(err(&a.results, 5), err(&c.results, 7));
    assert_eq!(err(&a.results, 6), err(&c.results, 6));
}

#[test]
fn attention_shards_merge_and_resume() {
    let s = parse(MIXED).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let whole = run(&s, &tmp.path().join("whole")).results;
    let want = deterministic(&whole);
    let table = suite::energy_table(&s).unwrap();
    for n in [2, 3, 7] {
        let dirs = shard_dirs(&tmp.path().join(format!("n{n}")), n, &|d, shard| {
            let mut o = RunOptions::new(d);
            o.progress = false;
            o.shard = Some(shard);
            suite::run(&s, &registry(), &table, &o).unwrap();
        });
        let merged = merge(&dirs).unwrap();
        assert_eq!(deterministic(&merged), want, "{n} shards");
        assert_eq!(
            timing_keys(&merged),
            timing_keys(&whole),
            "{n} shards: timings"
        );
    }

    // Resume: drop one attention cell's rows and one attention timing.
    let dir = tmp.path().join("resume");
    let first = run(&s, &dir);
    let path = dir.join(JSON_NAME);
    let mut r = suite::files::read_results(&path).unwrap();
    r.rows.retain(|m| {
        let dropped_cell = m.variant == "attention/sage-int8" && m.workload == "pre" && m.seed == 6;
        let dropped_timing = m.variant == "attention/flash-f32"
            && metric::is_timing(&m.metric)
            && m.workload == "dec";
        !dropped_cell && !dropped_timing
    });
    fs::write(&path, serde_json::to_string(&r).unwrap()).unwrap();
    let mut o = RunOptions::new(&dir);
    o.progress = false;
    o.resume = true;
    let again = suite::run(&s, &registry(), &table, &o).unwrap();
    assert_eq!(again.cells_run, 1);
    assert_eq!(again.cells_resumed, first.cells - 1);
    assert_eq!(again.timings_run, 1);
    assert_eq!(deterministic(&again.results), want);
}

#[test]
fn attention_file_workloads_from_safetensors_and_bad_shapes() {
    use safetensors::tensor::{Dtype, TensorView};
    let dir = tempfile::tempdir().unwrap();
    let (qs, ks, q, k, v) = tiny();
    let bytes = |x: &[f32]| -> Vec<u8> { x.iter().flat_map(|f| f.to_le_bytes()).collect() };
    let (qb, kb, vb) = (bytes(&q), bytes(&k), bytes(&v));
    let t = vec![
        (
            "l.q",
            TensorView::new(Dtype::F32, qs.to_vec(), &qb).unwrap(),
        ),
        (
            "l.k",
            TensorView::new(Dtype::F32, ks.to_vec(), &kb).unwrap(),
        ),
        (
            "l.v",
            TensorView::new(Dtype::F32, ks.to_vec(), &vb).unwrap(),
        ),
        (
            "l.bad",
            TensorView::new(Dtype::F32, vec![4, 2], &kb).unwrap(),
        ),
    ];
    fs::write(
        dir.path().join("qkv.safetensors"),
        safetensors::serialize(t, None).unwrap(),
    )
    .unwrap();
    write_npy(&dir.path().join("Q.npy"), &qs, &q);
    write_npy(&dir.path().join("K.npy"), &ks, &k);
    write_npy(&dir.path().join("V.npy"), &ks, &v);
    let st = "name = 'st'\nvariants = ['attention/f32']\nrepetitions = 1\n[[workloads]]\nname = 'st'\nkind = 'attention'\n\
        file = 'qkv.safetensors'\nq = 'l.q'\nk = 'l.k'\nv = 'l.v'\ncausal = true\n\
        [[workloads]]\nname = 'np'\nkind = 'attention'\nq = 'Q.npy'\nk = 'K.npy'\nv = 'V.npy'\ncausal = true\n";
    let s = parse_in(st, dir.path()).unwrap();
    let r = run(&s, &dir.path().join("out")).results;
    // The same tensors from either file give the same cell.
    for m in metric::ATTENTION_CELL {
        assert_eq!(
            value(&r, "attention/f32", "st", m).to_bits(),
            value(&r, "attention/f32", "np", m).to_bits(),
            "{m}"
        );
    }
    // Bad shapes are errors naming the workload's line and the tensor's key.
    let bad = |text: &str| {
        let s = parse_in(text, dir.path()).unwrap();
        let table = suite::energy_table(&s).unwrap();
        let mut o = RunOptions::new(dir.path().join("bad"));
        o.progress = false;
        match suite::run(&s, &registry(), &table, &o) {
            Ok(_) => panic!("{text} ran"),
            Err(e) => format!("{}: {}", e.input, e.reason),
        }
    };
    let e = bad(&st.replace("k = 'l.k'", "k = 'l.bad'"));
    assert!(
        e.contains("line 4") && e.contains("k:") && e.contains("three dimensions"),
        "{e}"
    );
    write_npy(&dir.path().join("V3.npy"), &[1, 3, 2], &v[..6]);
    let e = bad(&st.replace("v = 'V.npy'", "v = 'V3.npy'"));
    assert!(
        e.contains("'np'") && e.contains("v: 3 tokens, but k has 4"),
        "{e}"
    );
    write_npy(&dir.path().join("K2.npy"), &[2, 2, 2], &k);
    let e = bad(&st.replace("k = 'K.npy'", "k = 'K2.npy'"));
    assert!(e.contains("k: 2 heads, but q has 1"), "{e}");
    write_npy(
        &dir.path().join("Qn.npy"),
        &qs,
        &[f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    let e = bad(&st.replace("q = 'Q.npy'", "q = 'Qn.npy'"));
    assert!(e.contains("q: element 0") && e.contains("finite"), "{e}");
    write_npy(&dir.path().join("Q5.npy"), &[1, 5, 2], &[0.0; 10]);
    let e = bad(&st.replace("q = 'Q.npy'", "q = 'Q5.npy'"));
    assert!(e.contains("causal: 5 queries over 4 keys"), "{e}");
    let _ = Phase::Decode;
}

//! `[studies.model]`: the study on a tiny evaluation set against metrics
//! computed here from `Model::embed` and `Model::forward` (own cosine,
//! ranks, SQNR and top-1 loops), hand-derived weight bytes and MAC counts,
//! the report section, and one-line validation errors.

use std::path::{Path, PathBuf};

use super::cli_support::{assert_error, bitsim};
use super::{model, model_dir, wide};
use bitsim::hw::energy::EnergyTable;
use bitsim::model::ModelSpec;
use bitsim::suite::studies::model::{
    run, worst_layer, ModelParams, ModelStudy, RealModel, OUTLIER_INPUTS,
};
use bitsim::suite::studies::{Study, StudyContext};

/// MiniLM-L6's linear weights, by hand: 6 layers × (Q, K, V, O: 384×384;
/// FFN: 384×1536 twice).
const PARAMS: f64 = 6.0 * (4.0 * 384.0 * 384.0 + 2.0 * 384.0 * 1536.0);
/// Output channels of one layer's linears (one per-channel scale each).
const CHANNELS_PER_LAYER: f64 = 4.0 * 384.0 + 1536.0 + 384.0;

/// A tiny evaluation set in `dir`: the first five pairs, three queries and
/// five documents (the queries' three among them) of the committed set:
/// 18 distinct sentences.
fn tiny_set(dir: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-suites/data/minilm-eval");
    let head = |f: &str, n: usize| {
        let text = std::fs::read_to_string(src.join(f)).unwrap();
        let lines: Vec<&str> = text.lines().take(n + 1).collect();
        std::fs::write(dir.join(f), lines.join("\n") + "\n").unwrap();
    };
    head("pairs.tsv", 5);
    head("queries.tsv", 3);
    head("docs.tsv", 5);
}

fn ctx(table: &EnergyTable) -> StudyContext<'_> {
    StudyContext {
        energy: table,
        base: Path::new("."),
        seed: 0,
        variants: &[],
    }
}

fn params(model: &Path, set: &Path, variants: &[&str]) -> ModelParams {
    ModelParams {
        model: Some(model.display().to_string()),
        variants: variants.iter().map(|s| s.to_string()).collect(),
        attention: vec![],
        pairs: vec![],
        eval_set: Some(set.display().to_string()),
        ..ModelParams::default()
    }
}

/// The tiny study: f32, int8 and binary weights; run once per test binary.
fn tiny_study() -> Option<&'static (ModelStudy, PathBuf, tempfile::TempDir)> {
    static S: std::sync::OnceLock<Option<(ModelStudy, PathBuf, tempfile::TempDir)>> =
        std::sync::OnceLock::new();
    S.get_or_init(|| {
        let dir = model_dir()?;
        let tmp = tempfile::tempdir().unwrap();
        tiny_set(tmp.path());
        let table = EnergyTable::load("energy-45nm").unwrap();
        let p = params(&dir, tmp.path(), &["matmul/w8a8-int", "matmul/w1a8-binary"]);
        let s = run(&p, &ctx(&table)).expect("the study runs");
        Some((s, dir, tmp))
    })
    .as_ref()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn cos(a: &[f64], b: &[f64]) -> f64 {
    dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt())
}

/// Ranks 1..n; the inputs here have no ties (checked).
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&i, &j| x[i].partial_cmp(&x[j]).unwrap());
    assert!(idx.windows(2).all(|w| x[w[0]] != x[w[1]]), "a tie");
    let mut r = vec![0.0; x.len()];
    for (k, &i) in idx.iter().enumerate() {
        r[i] = (k + 1) as f64;
    }
    r
}

/// Spearman without ties: 1 − 6Σd² / (n(n² − 1)).
fn spearman_no_ties(x: &[f64], y: &[f64]) -> f64 {
    let (rx, ry) = (ranks(x), ranks(y));
    let n = x.len() as f64;
    let d2: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - b).powi(2)).sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

#[test]
fn reference_row_is_exact_and_coarse_weights_score_worse() {
    let Some((s, _, _)) = tiny_study() else {
        return;
    };
    let labels: Vec<&str> = s.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        ["f32 reference", "matmul/w8a8-int", "matmul/w1a8-binary"]
    );
    let f = &s.rows[0];
    assert_eq!((f.cos_mean, f.cos_worst), (1.0, 1.0));
    assert_eq!(f.spearman, Some(1.0));
    assert_eq!(f.top1_agreement, 1.0);
    assert!(f.layer_sqnr_db.iter().all(|x| x.is_none()));
    assert_eq!(f.worst_layer, None);
    assert_eq!(f.speed, "native");
    let (int8, bin) = (&s.rows[1], &s.rows[2]);
    assert!(int8.cos_mean > 0.99, "{}", int8.cos_mean);
    assert!(
        bin.cos_mean < int8.cos_mean - 0.2,
        "{} vs {}",
        bin.cos_mean,
        int8.cos_mean
    );
    assert!(bin.cos_worst < int8.cos_worst);
    for l in 0..s.layers {
        let (a, b) = (
            int8.layer_sqnr_db[l].unwrap(),
            bin.layer_sqnr_db[l].unwrap(),
        );
        assert!(b < a - 10.0, "layer {l}: binary {b} dB vs int8 {a} dB");
    }
    // Energy: fewer bits, less energy (weights read per batch, cheaper MACs).
    assert!(bin.energy_pj < int8.energy_pj && int8.energy_pj < f.energy_pj);
    assert!(bin.compute_pj < f.compute_pj);
    assert_eq!((s.sentences, s.pairs, s.queries, s.docs), (18, 5, 3, 5));
}

#[test]
fn study_numbers_equal_metrics_computed_from_model_embed() {
    let (Some((s, _, tmp)), Some(m)) = (tiny_study(), model()) else {
        return;
    };
    let set = bitsim::workload::eval_set::EvalSet::load(tmp.path()).unwrap();
    let sentences = set.sentences();
    let int8 = ModelSpec {
        matmul: "matmul/w8a8-int".into(),
        ..ModelSpec::default()
    };
    let f = m.forward(&sentences, &ModelSpec::default()).unwrap();
    let q = m.forward(&sentences, &int8).unwrap();
    // The embeddings `Model::embed` gives, one sentence at a time.
    let one = |text: &str, spec: &ModelSpec| wide(&m.embed(&[text], spec).unwrap().data);
    let ef = |t: &str| one(t, &ModelSpec::default());
    let eq = |t: &str| one(t, &int8);
    let row = &s.rows[1];
    assert_eq!(row.label, "matmul/w8a8-int");

    let cosines: Vec<f64> = sentences.iter().map(|t| cos(&ef(t), &eq(t))).collect();
    let mean = cosines.iter().sum::<f64>() / cosines.len() as f64;
    let worst = cosines.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        (row.cos_mean - mean).abs() < 1e-9,
        "{} vs {mean}",
        row.cos_mean
    );
    assert!(
        (row.cos_worst - worst).abs() < 1e-9,
        "{} vs {worst}",
        row.cos_worst
    );

    let sims = |e: &dyn Fn(&str) -> Vec<f64>| -> Vec<f64> {
        set.pairs.iter().map(|p| cos(&e(&p.a), &e(&p.b))).collect()
    };
    let (sf, sq) = (sims(&ef), sims(&eq));
    let want = spearman_no_ties(&sf, &sq);
    assert!((row.spearman.unwrap() - want).abs() < 1e-12);
    let scores: Vec<f64> = set.pairs.iter().map(|p| p.score).collect();
    if ranks_distinct(&scores) {
        let want = spearman_no_ties(&scores, &sq);
        assert!((row.spearman_scores.unwrap() - want).abs() < 1e-12);
    }

    let pick = |e: &dyn Fn(&str) -> Vec<f64>| -> Vec<usize> {
        set.queries
            .iter()
            .map(|qy| {
                let qe = e(&qy.text);
                let c: Vec<f64> = set.docs.iter().map(|d| cos(&qe, &e(&d.text))).collect();
                (0..c.len()).fold(0, |b, i| if c[i] > c[b] { i } else { b })
            })
            .collect()
    };
    let (pf, pq) = (pick(&ef), pick(&eq));
    let agree = pf.iter().zip(&pq).filter(|(a, b)| a == b).count() as f64 / pf.len() as f64;
    assert_eq!(row.top1_agreement, agree);
    let hits = pq
        .iter()
        .zip(&set.queries)
        .filter(|(p, qy)| set.docs[**p].id == qy.doc_id)
        .count() as f64
        / pq.len() as f64;
    assert_eq!(row.recall_at_1, hits);

    // Per-layer output SQNR from the forward's hidden states.
    for l in 0..s.layers {
        let (r, x) = (wide(&f.hidden[l + 1].data), wide(&q.hidden[l + 1].data));
        let noise: f64 = r.iter().zip(&x).map(|(a, b)| (a - b).powi(2)).sum();
        let want = 10.0 * (dot(&r, &r) / noise).log10();
        let got = row.layer_sqnr_db[l].unwrap();
        assert!((got - want).abs() < 1e-6, "layer {l}: {got} vs {want}");
    }

    // Outliers of the f32 run: four inputs per layer, in forward order; the
    // query's input of layer l is hidden state l.
    let inputs: Vec<(usize, &str)> = s
        .outliers
        .iter()
        .map(|o| (o.layer, o.input.as_str()))
        .collect();
    let want: Vec<(usize, &str)> = (0..s.layers)
        .flat_map(|l| OUTLIER_INPUTS.map(|i| (l, i)))
        .collect();
    assert_eq!(inputs, want);
    let widths: Vec<usize> = s.outliers.iter().map(|o| o.channel_max.len()).collect();
    assert!(
        widths.chunks(4).all(|w| w == [384, 384, 384, 1536]),
        "{widths:?}"
    );
    let acts = m
        .activations(&sentences, &|n| {
            OUTLIER_INPUTS
                .iter()
                .any(|i| n.ends_with(&format!(".{i}.input")))
        })
        .unwrap();
    for (o, (name, a)) in s.outliers.iter().zip(&acts) {
        assert!(
            name.contains(&format!(".{}.{}.input", o.layer, o.input)),
            "{name}"
        );
        let max = a.data.iter().fold(0.0f32, |x, &v| x.max(v.abs())) as f64;
        assert_eq!(o.max_abs, max, "{name}");
    }
    for (l, o) in s
        .outliers
        .iter()
        .filter(|o| o.input == "attention.self.query")
        .enumerate()
    {
        let h = &f.hidden[l];
        let max = h.data.iter().fold(0.0f32, |a, &v| a.max(v.abs())) as f64;
        assert_eq!(o.max_abs, max, "layer {l}");
        assert_eq!(o.channel_max.len(), 384);
        let c = o.top_channels[0].0;
        let col_max = (0..h.rows)
            .map(|t| h.row(t)[c].abs())
            .fold(0.0f32, f32::max);
        assert_eq!(o.top_channels[0], (c, max));
        assert_eq!(col_max as f64, max);
        assert!(o.top_channels.windows(2).all(|w| w[0].1 >= w[1].1));
        assert!(o.ratio >= 1.0);
    }
}

fn ranks_distinct(x: &[f64]) -> bool {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    v.windows(2).all(|w| w[0] != w[1])
}

#[test]
fn weight_bytes_and_macs_match_hand_counts() {
    let (Some((s, _, tmp)), Some(m)) = (tiny_study(), model()) else {
        return;
    };
    assert_eq!(s.linear_params as f64, PARAMS);
    let (f, int8, bin) = (&s.rows[0], &s.rows[1], &s.rows[2]);
    assert_eq!(f.weight_bits, 32.0);
    assert_eq!(f.weight_bytes, 4.0 * PARAMS);
    // One f32 scale per output channel.
    let scales = 32.0 * 6.0 * CHANNELS_PER_LAYER;
    assert_eq!(int8.weight_bytes, (8.0 * PARAMS + scales) / 8.0);
    assert_eq!(bin.weight_bytes, (PARAMS + scales) / 8.0);
    // MACs per sentence: linears n·P/6 per layer, attention 2·n²·384 per layer.
    let set = bitsim::workload::eval_set::EvalSet::load(tmp.path()).unwrap();
    let sentences = set.sentences();
    let b = m.tokenize(&sentences).unwrap();
    let macs: f64 = (0..b.sentences())
        .map(|i| {
            let n = b.len(i) as f64;
            n * PARAMS + 6.0 * 2.0 * n * n * 384.0
        })
        .sum::<f64>()
        / sentences.len() as f64;
    for r in &s.rows {
        assert_eq!(r.macs, macs, "{}", r.label);
    }
}

#[test]
fn section_renders_well_formed() {
    let Some((s, _, _)) = tiny_study() else {
        return;
    };
    let secs = bitsim::report::sections::model::render(s).unwrap();
    let ids: Vec<&str> = secs.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["model-accuracy", "model-layers", "model-outliers"]);
    for sec in &secs {
        assert!(sec
            .html
            .starts_with("<p class=\"how\"><strong>How to read this:</strong>"));
        assert!(sec.html.contains("<table") && !sec.html.contains("<script"));
        let wrapped = format!("<div>{}</div>", sec.html);
        let mut r = quick_xml::Reader::from_str(&wrapped);
        loop {
            match r.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("{}: not well-formed: {e}", sec.id),
            }
        }
    }
    assert_eq!(secs[0].html.matches("<svg").count(), 2);
    assert!(secs[2].html.contains("<svg"));
    for r in &s.rows {
        assert!(secs[0].html.contains(&r.label), "{} missing", r.label);
    }
    // Results survive JSON; nothing to show renders nothing.
    let json = serde_json::to_string(s).unwrap();
    assert_eq!(&serde_json::from_str::<ModelStudy>(&json).unwrap(), s);
    assert!(
        bitsim::report::sections::model::render(&ModelStudy::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn worst_layer_is_the_largest_rise_of_noise_to_signal() {
    assert_eq!(worst_layer(&[None, None]), None);
    // NSR 0.001 then 0.01: the second layer adds 0.009.
    assert_eq!(worst_layer(&[Some(30.0), Some(20.0)]), Some(1));
    // NSR 0.1 then 0.089: the first layer adds everything.
    assert_eq!(worst_layer(&[Some(10.0), Some(10.5)]), Some(0));
    assert_eq!(worst_layer(&[None, Some(40.0), Some(39.9)]), Some(1));
}

/// Validation errors are one line, without the model where they need none.
#[test]
fn validate_errors_are_one_line() {
    let table = EnergyTable::load("energy-45nm").unwrap();
    let c = ctx(&table);
    let check = |p: &ModelParams, want: &[&str]| {
        let e = RealModel::validate(p, &c).unwrap_err();
        assert_eq!(e.lines().count(), 1, "{e}");
        for w in want {
            assert!(e.contains(w), "{w:?} not in {e:?}");
        }
    };
    let missing = ModelParams {
        model: Some("no/such/model-dir".into()),
        ..ModelParams::default()
    };
    check(
        &missing,
        &["model: ", "no/such/model-dir", "scripts/fetch-minilm"],
    );
    let unknown = ModelParams {
        variants: vec!["matmul/w3a9".into()],
        ..missing.clone()
    };
    check(
        &unknown,
        &["variants: ", "matmul/w3a9", "no matmul variant"],
    );
    let attn = ModelParams {
        attention: vec!["attention/nope*".into()],
        ..missing.clone()
    };
    check(&attn, &["attention: ", "attention/nope*"]);
    let pair = ModelParams {
        pairs: vec!["matmul/w8a8-int attention/sage-int8".into()],
        ..missing.clone()
    };
    check(&pair, &["pairs: ", "MATMUL + ATTENTION"]);
    let over = ModelParams {
        overrides: vec!["0=matmul/nope".into()],
        ..missing.clone()
    };
    check(&over, &["overrides: ", "matmul/nope"]);
    let e = toml::from_str::<ModelParams>("variant = [\"matmul/bf16\"]").unwrap_err();
    assert!(e.to_string().contains("variant"), "{e}");
    if let Some(dir) = model_dir() {
        let p = ModelParams {
            model: Some(dir.display().to_string()),
            overrides: vec!["6=matmul/bf16".into()],
            ..ModelParams::default()
        };
        check(&p, &["overrides: ", "6 layers"]);
        let p = ModelParams {
            model: Some(dir.display().to_string()),
            eval_set: Some("no/such/set".into()),
            ..ModelParams::default()
        };
        check(&p, &["eval_set: ", "no/such/set"]);
        let p = ModelParams {
            model: Some(dir.display().to_string()),
            batch: 0,
            ..ModelParams::default()
        };
        check(&p, &["batch: "]);
    }
}

/// Through the CLI: a suite whose model is missing, or whose study table
/// has an unknown key, fails before any cell with one line naming it.
#[test]
fn report_refuses_a_missing_model_or_an_unknown_key() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = |name: &str, study: &str| {
        let p = tmp.path().join(name);
        std::fs::write(
            &p,
            format!(
                "name = \"m\"\nvariants = [\"matmul/f32\"]\nseeds = [0]\nrepetitions = 1\n\
                 [[workloads]]\nname = \"g\"\ndist = \"gaussian\"\nstd = 1.0\nshapes = [[2, 8, 4]]\n\
                 [studies.model]\n{study}\n"
            ),
        )
        .unwrap();
        p
    };
    let out = tmp.path().join("out");
    let p = suite("missing.toml", "model = \"nowhere\"");
    let o = bitsim(&[
        "report",
        "--suite",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&o, "studies.model", "scripts/fetch-minilm");
    assert!(String::from_utf8_lossy(&o.stderr).contains("nowhere"));
    assert!(!out.join("results.json").exists());
    let p = suite("key.toml", "modle = \"nowhere\"");
    let o = bitsim(&[
        "report",
        "--suite",
        p.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&o, "key.toml", "modle");
}

/// `bench-suites/model.toml` parses and its study validates (when the model
/// sits where the suite expects it, the repository's `models/`).
#[test]
fn model_suite_parses_and_validates() {
    if model_dir().is_none() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join(bitsim::model::DEFAULT_DIR).is_dir() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "model_suite_parses_and_validates skipped: bench-suites/model.toml expects the model in {}",
            root.join(bitsim::model::DEFAULT_DIR).display()
        );
        return;
    }
    let names: Vec<&str> = bitsim::variants::registry()
        .iter()
        .map(|v| v.name())
        .collect();
    let s = bitsim::suite::spec::load(&root.join("bench-suites/model.toml"), &names)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "model");
    let p = s.studies.model.as_ref().expect("[studies.model]");
    let table = EnergyTable::load(&s.energy).unwrap();
    let ctx = StudyContext {
        energy: &table,
        base: &s.base,
        seed: s.seeds[0],
        variants: &s.variants,
    };
    RealModel::validate(p, &ctx).unwrap();
    // At least 12 configurations beside the reference (the goal).
    assert!(p.variants.len() + p.attention.len() + p.pairs.len() >= 12);
}

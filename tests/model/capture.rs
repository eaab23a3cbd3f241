//! The model's real tensors: the activations entering each linear layer and
//! the Q/K/V of each attention, checked against the f64 twin and against
//! projections computed here from the weights; then their two consumers —
//! attention workloads from the model, and the explorer's model tensors.

use bitsim::model::capture::activation_name;
use bitsim::workload::eval_set::EvalSet;

use super::{model, model_dir, suite_file};
use crate::cli_support::{bitsim, ok};

const SENTENCES: [&str; 3] = [
    "A cat sits on the mat.",
    "Stock markets fell sharply after the announcement of new tariffs.",
    "He plays the violin.",
];

/// `‖a − b‖ / ‖b‖`.
fn rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let e: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let n: f64 = b.iter().map(|y| y * y).sum();
    (e / n).sqrt()
}

fn wide(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// `x · Wᵀ + b` in f64 (`x` is `rows × k`).
fn project(x: &[f64], k: usize, lin: &bitsim::model::weights::Linear) -> Vec<f64> {
    let n = lin.w.rows;
    let rows = x.len() / k;
    let mut out = vec![0.0; rows * n];
    for r in 0..rows {
        for j in 0..n {
            let w = lin.w.row(j);
            let dot: f64 = (0..k).map(|i| x[r * k + i] * w[i] as f64).sum();
            out[r * n + j] = dot + lin.b[j] as f64;
        }
    }
    out
}

#[test]
fn activations_are_what_each_linear_receives() {
    let Some(m) = model() else { return };
    let acts = m.activations(&SENTENCES, &|_| true).unwrap();
    let layers = m.config.num_hidden_layers;
    assert_eq!(acts.len(), 6 * layers);
    let f64_path = m.forward_f64(&SENTENCES).unwrap();
    let tokens: usize = f64_path.lens.iter().sum();
    for l in 0..layers {
        let names: Vec<&str> = m.weights.layers[l]
            .linears()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        let of = |linear: &str| {
            let want = activation_name(l, linear);
            &acts.iter().find(|(n, _)| *n == want).expect(&want).1
        };
        for n in &names {
            assert_eq!(of(n).rows, tokens, "layer {l} {n}");
        }
        // Q, K and V see the layer's input: the f64 twin's hidden state l.
        for n in &names[..3] {
            let e = rel(&wide(&of(n).data), &f64_path.hidden[l]);
            assert!(e < 1e-5, "layer {l} {n}: {e:e} from the f64 hidden state");
        }
        // The FFN's second linear receives GELU of the first's output:
        // computed here in f64 from the captured input of the first.
        let lw = &m.weights.layers[l];
        let y = of("intermediate.dense");
        let f = project(&wide(&y.data), y.cols, &lw.ffn_in);
        let gelu: Vec<f64> = f
            .iter()
            .map(|&x| 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)))
            .collect();
        let got = of("output.dense");
        assert_eq!(got.cols, lw.ffn_in.w.rows);
        let e = rel(&wide(&got.data), &gelu);
        assert!(e < 1e-5, "layer {l} output.dense input: {e:e}");
    }
    // Only what `want` accepts, in forward order.
    let some = m
        .activations(&SENTENCES, &|n| n.ends_with(".query.input"))
        .unwrap();
    let names: Vec<String> = some.iter().map(|(n, _)| n.clone()).collect();
    let want: Vec<String> = (0..layers)
        .map(|l| activation_name(l, "attention.self.query"))
        .collect();
    assert_eq!(names, want);
}

#[test]
fn attention_inputs_are_the_layers_projections_per_head() {
    let Some(m) = model() else { return };
    let c = &m.config;
    let (heads, d, h) = (c.num_attention_heads, c.head_dim(), c.hidden_size);
    let s = SENTENCES[1];
    let f64_path = m.forward_f64(&[s]).unwrap();
    let n = f64_path.lens[0];
    for layer in [0, 2, c.num_hidden_layers - 1] {
        let x = m.attention_inputs(s, layer).unwrap();
        assert_eq!(
            (
                x.shape.heads,
                x.shape.nq,
                x.shape.nk,
                x.shape.d,
                x.shape.causal
            ),
            (heads, n, n, d, false)
        );
        let lw = &m.weights.layers[layer];
        let hidden = &f64_path.hidden[layer];
        for (got, lin, what) in [
            (&x.q, &lw.query, "q"),
            (&x.k, &lw.key, "k"),
            (&x.v, &lw.value, "v"),
        ] {
            let p = project(hidden, h, lin);
            // [tokens, hidden] → [heads, tokens, d].
            let mut want = Vec::with_capacity(p.len());
            for hd in 0..heads {
                for t in 0..n {
                    want.extend_from_slice(&p[t * h + hd * d..t * h + (hd + 1) * d]);
                }
            }
            let e = rel(&wide(got), &want);
            assert!(e < 1e-5, "layer {layer} {what}: {e:e}");
        }
    }
    let e = m.attention_inputs(s, c.num_hidden_layers).unwrap_err();
    assert!(e.to_string().contains("layer 6"), "{e}");
}

#[test]
fn eval_sentence_by_index_or_the_longest() {
    let Some(m) = model() else { return };
    let set = EvalSet::builtin().unwrap();
    let all = set.sentences();
    assert_eq!(m.eval_sentence(Some(3)).unwrap(), all[3]);
    let e = m.eval_sentence(Some(all.len())).unwrap_err().to_string();
    assert!(e.contains(&format!("sentence {}", all.len())), "{e}");
    let longest = m.eval_sentence(None).unwrap();
    let len = |s: &str| m.tokenize(&[s]).unwrap().len(0);
    let max = all.iter().map(|s| len(s)).max().unwrap();
    assert_eq!(len(&longest), max);
    let first = all.iter().find(|s| len(s) == max).unwrap();
    assert_eq!(&longest, first);
}

#[test]
fn model_attention_is_a_suite_workload() {
    let Some(m) = model() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let s = suite_file(
        tmp.path(),
        "\"attention/f64\", \"attention/f32\", \"attention/sage-int8\"",
        "[[workloads]]\nname = \"l1\"\nkind = \"attention\"\nmodel = \"DIR\"\nlayer = 1\nsentence = 4",
    );
    ok(&["report", "--suite", s.to_str().unwrap()]);
    let csv = std::fs::read_to_string(tmp.path().join("out/results.csv")).unwrap();
    let n = m
        .tokenize(&[&m.eval_sentence(Some(4)).unwrap()])
        .unwrap()
        .len(0);
    let shape = format!("12x{n}x{n}x32");
    // f32 is close to the f64 reference on the model's own Q/K/V; int8 is not exact.
    let err = |v: &str| -> f64 {
        let line = csv
            .lines()
            .find(|l| l.contains(&format!(",{v},l1,{shape},rel_fro_error,")))
            .unwrap_or_else(|| panic!("no {v} rel_fro_error on {shape}:\n{csv}"));
        line.split(',').nth(5).unwrap().parse().unwrap()
    };
    let (f32_err, int8_err) = (err("attention/f32"), err("attention/sage-int8"));
    assert!(f32_err > 0.0 && f32_err < 1e-6, "{f32_err}");
    assert!(int8_err > 1e-4 && int8_err < 0.2, "{int8_err}");
}

#[test]
fn model_attention_keys_are_checked() {
    if model().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let v = "\"attention/f64\"";
    let wl = "[[workloads]]\nname = \"w\"\nkind = \"attention\"\n";
    for (body, key, why) in [
        ("model = \"DIR\"", "layer", "missing"),
        (
            "model = \"DIR\"\nlayer = 1\nheads = 2",
            "heads",
            "from a model",
        ),
        (
            "model = \"DIR\"\nlayer = 1\nsentence = -1",
            "sentence",
            "index",
        ),
        (
            "heads = 1\nn = 4\nd = 2\nlayer = 1",
            "layer",
            "from a model",
        ),
        (
            "model = \"DIR/absent\"\nlayer = 1",
            "model",
            "scripts/fetch-minilm",
        ),
    ] {
        let s = suite_file(tmp.path(), v, &format!("{wl}{body}"));
        let o = bitsim(&["report", "--suite", s.to_str().unwrap()]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{body}: {e}");
        assert!(e.contains(key) && e.contains(why), "{body}: {e}");
        assert_eq!(e.trim().lines().count(), 1, "{body}: {e}");
    }
    // Checked when the suite runs: the layer and the sentence exist.
    for (body, what) in [
        ("model = \"DIR\"\nlayer = 9", "layer 9"),
        (
            "model = \"DIR\"\nlayer = 0\nsentence = 99999",
            "sentence 99999",
        ),
    ] {
        let s = suite_file(tmp.path(), v, &format!("{wl}{body}"));
        let o = bitsim(&["report", "--suite", s.to_str().unwrap()]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{body}: {e}");
        assert!(
            e.contains("workloads 'w'") && e.contains(what),
            "{body}: {e}"
        );
    }
    // `sentence` belongs to attention workloads from a model only.
    let s = suite_file(
        tmp.path(),
        "\"matmul/f64\"",
        "[[workloads]]\nname = \"w\"\ndist = \"gaussian\"\nshapes = [[1, 2, 3]]\nsentence = 1",
    );
    let o = bitsim(&["report", "--suite", s.to_str().unwrap()]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("sentence") && e.contains("only for attention"),
        "{e}"
    );
}

/// An explorer spec over one model tensor table (`tensor` are its lines after `role`).
fn explore_spec(out: &std::path::Path, tensor: &str) -> std::path::PathBuf {
    let dir = model_dir().unwrap();
    let p = out.join("x.toml");
    let text = format!(
        "name = \"x\"\n[explore]\nelements = [\"int8\", \"e2m1\"]\nblocks = [\"channel\"]\nscales = [\"f32\"]\nrules = [\"absmax\"]\nknown = false\n\n[[explore.tensors]]\nname = \"act\"\n{}\n",
        tensor.replace("DIR", &dir.display().to_string())
    );
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn model_activations_are_explorer_tensors() {
    let Some(m) = model() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let spec = explore_spec(
        tmp.path(),
        "role = \"activation\"\nmodel = \"DIR\"\ntensors = [\"*.1.attention.self.query.input\", \"*.1.intermediate.dense.input\"]\nsentences = 5",
    );
    let out = tmp.path().join("out");
    ok(&[
        "explore",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let set = EvalSet::builtin().unwrap();
    let first: Vec<&str> = set.sentences().into_iter().take(5).collect();
    let tokens: usize = {
        let b = m.tokenize(&first).unwrap();
        (0..5).map(|s| b.len(s)).sum()
    };
    for name in [
        "act/encoder.layer.1.attention.self.query.input",
        "act/encoder.layer.1.intermediate.dense.input",
    ] {
        let shape = format!(",{name},{tokens}x384,");
        assert!(csv.contains(&shape), "no {shape} in\n{csv}");
    }
    assert!(
        !csv.contains("encoder.layer.0."),
        "only the globbed tensors:\n{csv}"
    );

    // Bad model tensors name the key.
    for (tensor, key, why) in [
        (
            "role = \"weight\"\nmodel = \"DIR\"\ntensors = [\"*\"]",
            "role",
            "activation",
        ),
        (
            "role = \"activation\"\nmodel = \"DIR\"",
            "tensors",
            "name the activations",
        ),
        (
            "role = \"activation\"\nmodel = \"DIR\"\ntensors = [\"*\"]\nsentences = 0",
            "sentences",
            "at least 1",
        ),
        (
            "role = \"activation\"\ndist = \"gaussian\"\nrows = 2\ncols = 2\nsentences = 3",
            "sentences",
            "only for model",
        ),
        (
            "role = \"activation\"\nmodel = \"DIR/absent\"\ntensors = [\"*\"]",
            "model",
            "scripts/fetch-minilm",
        ),
        (
            "role = \"activation\"\nmodel = \"DIR\"\ntensors = [\"*.nothing\"]",
            "tensors",
            "match no activation",
        ),
    ] {
        let spec = explore_spec(tmp.path(), tensor);
        let o = bitsim(&[
            "explore",
            "--spec",
            spec.to_str().unwrap(),
            "--out",
            tmp.path().join("bad").to_str().unwrap(),
        ]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{tensor}: {e}");
        assert!(e.contains(key) && e.contains(why), "{tensor}: {e}");
    }
}

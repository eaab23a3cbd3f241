//! The forward pass against the reference values, the f64 twin, and
//! itself (native vs emulated, batched vs alone, per-layer overrides).
//!
//! `reference.json` was recorded once from an independent implementation:
//! a 40-line NumPy BERT forward (float64 throughout from the f32 weights
//! read with the `safetensors` Python package; erf GELU via `math.erf`;
//! LayerNorm eps 1e-12; masked mean pooling; L2 normalisation), with ids
//! from the Python `transformers` package's `BertTokenizer` (its pure-Python
//! WordPiece, lower-casing, accent stripping), built from the vocabulary in
//! `tokenizer.json` written out one token a line; NumPy 2.x, transformers
//! 4.x, Python 3.11, run over `models/all-MiniLM-L6-v2` as fetched by
//! `scripts/fetch-minilm`. Embeddings are stored rounded to f32.

use bitsim::model::{LayerOverride, ModelSpec};
use serde_json::Value;

use super::{cosine_distance, model, wide};

/// (sentence, reference ids, reference embedding).
fn reference() -> Vec<(String, Vec<u32>, Vec<f64>)> {
    let v: Value = serde_json::from_str(include_str!("reference.json")).expect("reference JSON");
    v["sentences"]
        .as_array()
        .expect("sentences")
        .iter()
        .map(|s| {
            let nums = |k: &str| {
                s[k].as_array()
                    .expect(k)
                    .iter()
                    .map(|x| x.as_f64().expect("number"))
                    .collect::<Vec<f64>>()
            };
            (
                s["text"].as_str().expect("text").to_string(),
                nums("ids").iter().map(|&x| x as u32).collect(),
                nums("embedding"),
            )
        })
        .collect()
}

fn texts(r: &[(String, Vec<u32>, Vec<f64>)]) -> Vec<&str> {
    r.iter().map(|(t, _, _)| t.as_str()).collect()
}

#[test]
fn tokenizer_ids_match_the_reference_wordpiece() {
    let Some(m) = model() else { return };
    let r = reference();
    let b = m.tokenize(&texts(&r)).unwrap();
    let longest = r.iter().map(|(_, ids, _)| ids.len()).max().unwrap();
    assert_eq!(b.width, longest, "padded to the longest sentence");
    for (s, (text, ids, _)) in r.iter().enumerate() {
        assert_eq!(b.sentence_ids(s), &ids[..], "ids of {text:?}");
        // Padding after the sentence: id 0, mask 0.
        let row = s * b.width;
        assert!(b.ids[row + ids.len()..row + b.width]
            .iter()
            .all(|&i| i == 0));
        assert!(b.mask[row + ids.len()..row + b.width]
            .iter()
            .all(|&x| x == 0));
    }
}

#[test]
fn f32_embeddings_match_the_reference() {
    let Some(m) = model() else { return };
    let r = reference();
    let e = m.embed(&texts(&r), &ModelSpec::default()).unwrap();
    assert_eq!((e.rows, e.cols), (3, 384));
    for (s, (text, _, want)) in r.iter().enumerate() {
        let d = cosine_distance(&wide(e.row(s)), want);
        assert!(d <= 1e-5, "{text:?}: cosine distance {d:e}");
        let max_abs = e
            .row(s)
            .iter()
            .zip(want)
            .map(|(&a, b)| (a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(max_abs < 1e-5, "{text:?}: max abs difference {max_abs:e}");
    }
}

#[test]
fn f64_twin_matches_the_reference_and_the_f32_path() {
    let Some(m) = model() else { return };
    let r = reference();
    let t = texts(&r);
    let f64 = m.forward_f64(&t).unwrap();
    let f32 = m.forward(&t, &ModelSpec::default()).unwrap();
    assert_eq!(f64.lens, f32.lens);
    for (s, (text, _, want)) in r.iter().enumerate() {
        let e64 = &f64.embeddings[s * 384..(s + 1) * 384];
        // The reference is f64 rounded to f32: agreement to f32 resolution.
        let max_abs = e64
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            max_abs < 1e-7,
            "{text:?}: f64 twin vs reference {max_abs:e}"
        );
        let d = cosine_distance(&wide(f32.embeddings.row(s)), e64);
        assert!(d <= 1e-7, "{text:?}: f32 vs f64 cosine distance {d:e}");
    }
    // Every layer's hidden states: f32 within a small relative error of f64.
    assert_eq!(f32.hidden.len(), 7);
    for (l, (h32, h64)) in f32.hidden.iter().zip(&f64.hidden).enumerate() {
        let (mut num, mut den) = (0.0, 0.0);
        for (a, b) in h32.data.iter().zip(h64) {
            num += (*a as f64 - b).powi(2);
            den += b * b;
        }
        let rel = (num / den).sqrt();
        assert!(rel < 1e-5, "hidden state {l}: relative error {rel:e}");
    }
}

#[test]
fn a_sentence_embeds_the_same_alone_and_in_a_batch() {
    let Some(m) = model() else { return };
    let r = reference();
    let spec = ModelSpec::default();
    let batch = m.embed(&texts(&r), &spec).unwrap();
    for (s, (text, _, _)) in r.iter().enumerate() {
        let alone = m.embed(&[text.as_str()], &spec).unwrap();
        assert_eq!(
            alone.row(0),
            batch.row(s),
            "{text:?}: batch changed the bits"
        );
    }
}

#[test]
fn native_kernels_give_the_emulations_bits_through_the_model() {
    let Some(m) = model() else { return };
    let text = ["The quick brown fox jumps over the lazy dog."];
    for (mm, attn) in [
        ("matmul/f32-fma", "attention/flash-f32"),
        ("matmul/w8a8-int", "attention/f32"),
    ] {
        let spec = |native| ModelSpec {
            matmul: mm.into(),
            attention: attn.into(),
            native,
            ..ModelSpec::default()
        };
        let prepared = m.prepare(&spec(true)).unwrap();
        let n = prepared.forward(&m.tokenize(&text).unwrap()).unwrap();
        let e = m.forward(&text, &spec(false)).unwrap();
        for (l, (a, b)) in n.hidden.iter().zip(&e.hidden).enumerate() {
            let same = a
                .data
                .iter()
                .zip(&b.data)
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same,
                "{mm} + {attn}: hidden state {l}: native and emulated bits differ"
            );
        }
    }
}

/// A prepared model keeps its layer buffers between forwards: batches of
/// other shapes in between change no bit of a batch's hidden states.
#[test]
fn a_prepared_model_reused_across_batches_gives_the_same_bits() {
    let Some(m) = model() else { return };
    let r = reference();
    let spec = ModelSpec {
        matmul: "matmul/w8a8-int".into(),
        attention: "attention/sage-int8".into(),
        ..ModelSpec::default()
    };
    let all = m.tokenize(&texts(&r)).unwrap();
    let one = m.tokenize(&["A short one."]).unwrap();
    let bits = |f: &bitsim::model::Forward| -> Vec<Vec<u32>> {
        f.hidden
            .iter()
            .map(|h| h.data.iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    let fresh_all = bits(&m.prepare(&spec).unwrap().forward(&all).unwrap());
    let fresh_one = bits(&m.prepare(&spec).unwrap().forward(&one).unwrap());
    let p = m.prepare(&spec).unwrap();
    for round in 0..2 {
        assert_eq!(
            bits(&p.forward(&all).unwrap()),
            fresh_all,
            "round {round}, batch"
        );
        assert_eq!(
            bits(&p.forward(&one).unwrap()),
            fresh_one,
            "round {round}, one"
        );
    }
}

#[test]
fn layer_overrides_change_only_their_layers() {
    let Some(m) = model() else { return };
    let text = ["Quantization to 4-bit integers shrinks the weights eightfold!"];
    let base = m.forward(&text, &ModelSpec::default()).unwrap();
    let spec = ModelSpec {
        overrides: vec![
            LayerOverride::parse("2=matmul/bf16").unwrap(),
            LayerOverride::parse("4=attention/f64").unwrap(),
        ],
        ..ModelSpec::default()
    };
    let names = m.prepare(&spec).unwrap().layer_names();
    assert_eq!(names[2], ("matmul/bf16", "attention/flash-f32"));
    assert_eq!(names[4], ("matmul/f32-fma", "attention/f64"));
    assert_eq!(names[0], ("matmul/f32-fma", "attention/flash-f32"));
    let o = m.forward(&text, &spec).unwrap();
    // Layers before the first override are bit-identical; the overridden one is not.
    for l in 0..=2 {
        assert_eq!(o.hidden[l], base.hidden[l], "hidden state {l}");
    }
    assert_ne!(
        o.hidden[3], base.hidden[3],
        "layer 2 on bf16 changes its output"
    );
    let d = cosine_distance(&wide(o.embeddings.row(0)), &wide(base.embeddings.row(0)));
    assert!(
        d > 0.0 && d < 1e-3,
        "bf16 in one layer: cosine distance {d:e}"
    );
    // Overriding every layer equals choosing the variant globally.
    let all = ModelSpec {
        overrides: (0..6)
            .map(|l| LayerOverride {
                layer: l,
                variant: "matmul/bf16".into(),
            })
            .collect(),
        ..ModelSpec::default()
    };
    let global = ModelSpec {
        matmul: "matmul/bf16".into(),
        ..ModelSpec::default()
    };
    assert_eq!(
        m.embed(&text, &all).unwrap(),
        m.embed(&text, &global).unwrap()
    );
}

#[test]
fn low_bit_variants_run_through_the_model() {
    let Some(m) = model() else { return };
    let r = reference();
    let t = texts(&r);
    let base = m.embed(&t, &ModelSpec::default()).unwrap();
    // Coarse sanity bounds (not oracles): int8 stays close to f32, binary
    // weights and activations destroy the embedding.
    for (mm, attn, lo, hi) in [
        ("matmul/w8a8-int", "attention/sage-int8", 0.95, 1.0),
        ("matmul/w1a1-binary", "attention/f32", -1.0, 0.9),
    ] {
        let spec = ModelSpec {
            matmul: mm.into(),
            attention: attn.into(),
            ..ModelSpec::default()
        };
        let e = m.embed(&t, &spec).unwrap();
        for s in 0..3 {
            let cos = 1.0 - cosine_distance(&wide(e.row(s)), &wide(base.row(s)));
            assert!(
                (lo..=hi).contains(&cos),
                "{mm} + {attn}, sentence {s}: cosine {cos}"
            );
        }
    }
}

#[test]
fn spec_errors_name_the_bad_part() {
    let Some(m) = model() else { return };
    let bad = |spec: ModelSpec, input: &str, reason: &str| {
        let e = m.prepare(&spec).err().expect("a bad spec");
        assert!(e.input.contains(input) && e.reason.contains(reason), "{e}");
    };
    bad(
        ModelSpec {
            matmul: "matmul/nope".into(),
            ..ModelSpec::default()
        },
        "matmul variant",
        "unknown matmul variant 'matmul/nope'",
    );
    bad(
        ModelSpec {
            attention: "attention/nope".into(),
            ..ModelSpec::default()
        },
        "attention variant",
        "unknown attention variant",
    );
    bad(
        ModelSpec {
            overrides: vec![LayerOverride::parse("6=matmul/bf16").unwrap()],
            ..ModelSpec::default()
        },
        "6=matmul/bf16",
        "6 layers (0 to 5)",
    );
    bad(
        ModelSpec {
            overrides: vec![LayerOverride::parse("1=bf16").unwrap()],
            ..ModelSpec::default()
        },
        "1=bf16",
        "matmul/… or attention/…",
    );
    assert!(LayerOverride::parse("x=matmul/bf16").is_err());
    assert!(LayerOverride::parse("matmul/bf16").is_err());
}

#[test]
fn a_hand_built_batch_that_does_not_fit_is_an_error() {
    let Some(m) = model() else { return };
    let p = m.prepare(&ModelSpec::default()).unwrap();
    let good = m.tokenize(&["Two sentences.", "Here."]).unwrap();
    let mut b = good.clone();
    b.ids[1] = 30522;
    assert!(p.forward(&b).unwrap_err().contains("beyond the vocabulary"));
    let mut b = good.clone();
    b.mask.pop();
    assert!(p.forward(&b).unwrap_err().contains("sentences × width"));
    let long = bitsim::model::Batch {
        width: 513,
        ids: vec![1000; 513],
        type_ids: vec![0; 513],
        mask: vec![1; 513],
    };
    assert!(p.forward(&long).unwrap_err().contains("512 positions"));
    assert!(p.forward(&good).is_ok());
}

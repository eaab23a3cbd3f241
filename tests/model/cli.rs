//! `bitsim embed` as a user runs it.

use super::cli_support::{assert_error, bitsim, ok};
use super::{model, model_dir, suite_file};
use bitsim::model::ModelSpec;

const SENTENCES: [&str; 3] = [
    "A man is playing a guitar.",
    "Someone plays the guitar.",
    "The stock market fell sharply today.",
];

#[test]
fn embed_prints_the_librarys_embeddings_as_json() {
    let (Some(dir), Some(m)) = (model_dir(), model()) else {
        return;
    };
    let dir = dir.to_str().unwrap();
    let mut args = vec!["embed", "--model", dir, "--variant", "matmul/w8a8-int"];
    args.extend(SENTENCES);
    let v: serde_json::Value = serde_json::from_str(&ok(&args)).expect("JSON on stdout");
    let spec = ModelSpec {
        matmul: "matmul/w8a8-int".into(),
        ..ModelSpec::default()
    };
    let want = m.embed(&SENTENCES, &spec).unwrap();
    let got = v["sentences"].as_array().unwrap();
    assert_eq!(got.len(), 3);
    for (s, g) in got.iter().enumerate() {
        assert_eq!(g["text"], SENTENCES[s]);
        let e: Vec<f32> = g["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(e, want.row(s), "sentence {s}: JSON round trip");
    }
    assert_eq!(v["layers"][0][0], "matmul/w8a8-int");
    assert_eq!(v["layers"][5][1], "attention/flash-f32");
}

#[test]
fn embed_writes_npy_and_prints_the_similarity_matrix() {
    let (Some(dir), Some(m)) = (model_dir(), model()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("e.npy");
    let mut args = vec![
        "embed",
        "--model",
        dir.to_str().unwrap(),
        "--format",
        "npy",
        "--out",
        out.to_str().unwrap(),
        "--similarity",
        "--layer-variant",
        "0=matmul/bf16",
    ];
    args.extend(SENTENCES);
    let text = ok(&args);
    // The cosine matrix: ones on the diagonal, the paraphrase pair above the unrelated one.
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .take(3)
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(|x| x.parse().unwrap())
                .collect()
        })
        .collect();
    for (i, r) in rows.iter().enumerate() {
        assert!((r[i] - 1.0).abs() < 1e-4, "diagonal: {text}");
    }
    assert!(
        rows[0][1] > 0.5 && rows[0][2] < 0.3,
        "paraphrase vs unrelated: {text}"
    );
    assert!(text.contains("[2] The stock market fell sharply today."));
    // The .npy holds the embeddings (independent reader: npyz).
    let bytes = std::fs::read(&out).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[3, 384]);
    let data: Vec<f32> = npy.into_vec().unwrap();
    let spec = ModelSpec {
        overrides: vec![bitsim::model::LayerOverride::parse("0=matmul/bf16").unwrap()],
        ..ModelSpec::default()
    };
    assert_eq!(data, m.embed(&SENTENCES, &spec).unwrap().data);
}

#[test]
fn embed_rejects_bad_flags_in_one_line() {
    let Some(dir) = model_dir() else { return };
    let dir = dir.to_str().unwrap();
    assert_error(
        &bitsim(&["embed", "--model", dir, "--variant", "matmul/nope", "x"]),
        "--variant matmul/nope",
        "unknown matmul variant",
    );
    assert_error(
        &bitsim(&[
            "embed",
            "--model",
            dir,
            "--attention",
            "attention/nope",
            "x",
        ]),
        "--attention attention/nope",
        "unknown attention variant",
    );
    assert_error(
        &bitsim(&[
            "embed",
            "--model",
            dir,
            "--layer-variant",
            "9=matmul/bf16",
            "x",
        ]),
        "layer override '9=matmul/bf16'",
        "6 layers",
    );
    assert_error(
        &bitsim(&["embed", "--model", dir, "--layer-variant", "oops", "x"]),
        "--layer-variant oops",
        "LAYER=VARIANT",
    );
    assert_error(
        &bitsim(&["embed", "--model", dir, "--format", "npy", "x"]),
        "--format npy",
        "--out",
    );
    assert_error(
        &bitsim(&["embed", "--model", dir, "--format", "csv", "x"]),
        "--format csv",
        "json or npy",
    );
}

/// A suite of one `model` workload (`keys` are its lines after `name`).
fn suite(out: &std::path::Path, keys: &str) -> std::path::PathBuf {
    let body = format!("[[workloads]]\nname = \"w\"\n{keys}");
    suite_file(out, "\"matmul/w8a8-int\"", &body)
}

#[test]
fn model_weights_are_suite_workloads() {
    if model_dir().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let s = suite(
        tmp.path(),
        "model = \"DIR\"\nlayer = 3\ntensor = \"attention.self.query.weight\"\nm = 4",
    );
    ok(&["report", "--suite", s.to_str().unwrap()]);
    let csv = std::fs::read_to_string(tmp.path().join("out/results.csv")).unwrap();
    assert!(
        csv.contains("w:encoder.layer.3.attention.self.query.weight,4x384x384,sqnr_db,"),
        "{csv}"
    );
    // Without `layer`: that tensor of every layer.
    let s = suite(
        tmp.path(),
        "model = \"DIR\"\ntensor = \"output.dense.weight\"\nm = 1",
    );
    ok(&["report", "--suite", s.to_str().unwrap()]);
    let csv = std::fs::read_to_string(tmp.path().join("out/results.csv")).unwrap();
    for l in 0..6 {
        assert!(
            csv.contains(&format!(
                "w:encoder.layer.{l}.output.dense.weight,1x1536x384,"
            )),
            "layer {l}"
        );
    }
    for (keys, key, reason) in [
        (
            "layer = 3\ndist = \"gaussian\"\nshapes = [[1, 2, 3]]",
            "layer",
            "only for `model` workloads",
        ),
        (
            "model = \"DIR/absent\"\ntensor = \"x\"\nm = 1",
            "model",
            "scripts/fetch-minilm",
        ),
        ("model = \"DIR\"\nm = 1", "tensor", "missing"),
        ("model = \"DIR\"\ntensor = \"x\"", "m", "missing"),
        (
            "model = \"DIR\"\ntensor = \"x\"\nm = 1\ndist = \"gaussian\"",
            "model",
            "one of `dist`, `file` and `model`",
        ),
        (
            "model = \"DIR\"\ntensor = \"x\"\nm = 1\nshapes = [[1, 2, 3]]",
            "shapes",
            "not for `model` workloads",
        ),
        (
            "model = \"DIR\"\ntensor = \"nope.weight\"\nlayer = 2\nm = 1",
            "encoder.layer.2.nope.weight",
            "not found",
        ),
    ] {
        let s = suite(tmp.path(), keys);
        assert_error(
            &bitsim(&["report", "--suite", s.to_str().unwrap()]),
            key,
            reason,
        );
    }
}

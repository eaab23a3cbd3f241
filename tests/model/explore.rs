//! The explorer's model-level score (`[explore.model]`): each scored
//! candidate against a forward run here on weights quantized by the slow
//! scalar reference quantizer, with cosines and SQNR computed by the
//! metrics functions directly; the identity quantizer scores exactly the
//! reference; a coarser format scores worse; a sharded run skips the scores
//! and merge + `--resume` gives the unsharded run's bytes; bad tables and
//! model folders are one-line errors with nothing written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::cli_support::{assert_error, bitsim, ok};
use super::{model_dir, wide};
use bitsim::metrics::embedding::{cosine_summary, sqnr_db};
use bitsim::model::{Model, ModelSpec};
use bitsim::suite::explore::config::must;
use bitsim::suite::explore::model::{metric, Scorer, MODEL};
use bitsim::suite::explore::quant::quantize_reference;
use bitsim::suite::explore::spec::ModelTable;
use bitsim::suite::files::read_results;
use bitsim::tensor::Matrix;
use bitsim::workload::eval_set::EvalSet;

/// Evaluation sentences of the runs here (three pairs: Spearman is defined).
const SENTENCES: usize = 6;

/// A spec in `dir` over MXFP4 and MXFP8 (both on the bits × SQNR front of
/// a small synthetic weight), scored on the model folder `model`.
fn spec(dir: &Path, model: &Path, extra: &str) -> PathBuf {
    let p = dir.join("x.toml");
    let text = format!(
        "name = \"xm\"\n[explore]\nelements = [\"e2m1\", \"e4m3\"]\nblocks = [\"g32\"]\nscales = [\"e8m0\"]\nrules = [\"floor\"]\nknown = false\n\n[explore.model]\nmodel = \"{}\"\nsentences = {SENTENCES}\n{extra}\n[[explore.tensors]]\nname = \"w\"\nrole = \"weight\"\ndist = \"gaussian\"\nrows = 16\ncols = 128\n",
        model.display()
    );
    std::fs::write(&p, text).unwrap();
    p
}

/// The model rows of a results folder: configuration → metric → value.
fn model_rows(out: &Path) -> HashMap<String, HashMap<String, f64>> {
    let r = read_results(&out.join("results.json")).unwrap();
    let mut m: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for row in r.rows.iter().filter(|r| r.workload == MODEL) {
        m.entry(row.variant.clone())
            .or_default()
            .insert(row.metric.clone(), row.value);
    }
    m
}

/// The first `SENTENCES` sentences of the built-in set.
fn sentences() -> Vec<String> {
    let set = EvalSet::builtin().unwrap();
    set.sentences()
        .into_iter()
        .take(SENTENCES)
        .map(String::from)
        .collect()
}

#[test]
fn candidate_scores_equal_a_hand_run_on_reference_quantized_weights() {
    let Some(dir) = model_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let stdout = ok(&[
        "explore",
        "--spec",
        spec(tmp.path(), &dir, "").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(stdout.contains("2 candidates scored"), "{stdout}");
    let got = model_rows(&out);
    assert_eq!(got.len(), 2, "{got:?}");

    let texts = sentences();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut m = Model::load(&dir).unwrap();
    let reference = m.forward(&texts, &ModelSpec::default()).unwrap();
    let originals: Vec<Vec<Matrix>> = m
        .weights
        .layers
        .iter()
        .map(|l| l.linears().map(|(_, lin)| lin.w.clone()).to_vec())
        .collect();
    let dim = reference.embeddings.cols;
    for name in ["e2m1/g32/e8m0/floor", "e4m3/g32/e8m0/floor"] {
        let cfg = must(name);
        for (lw, orig) in m.weights.layers.iter_mut().zip(&originals) {
            for ((_, lin), w) in lw.linears_mut().into_iter().zip(orig) {
                let q = quantize_reference(&cfg, &w.data, w.rows, w.cols).unwrap();
                lin.w = Matrix::new(w.rows, w.cols, q);
            }
        }
        let f = m.forward(&texts, &ModelSpec::default()).unwrap();
        let cs = cosine_summary(
            &wide(&reference.embeddings.data),
            &wide(&f.embeddings.data),
            dim,
        );
        let last = reference.hidden.len() - 1;
        let sq = sqnr_db(
            &wide(&reference.hidden[last].data),
            &wide(&f.hidden[last].data),
        );
        let row = &got[name];
        assert_eq!(row[metric::COS_MEAN], cs.mean, "{name}");
        assert_eq!(row[metric::COS_WORST], cs.worst, "{name}");
        assert_eq!(row[metric::FINAL_SQNR_DB], sq, "{name}");
        assert!(row.contains_key(metric::SPEARMAN), "{name}: {row:?}");
        // Six sentences hold no retrieval query with its document.
        assert!(!row.contains_key(metric::RECALL_AT_1), "{name}: {row:?}");
    }
    // The coarser format scores worse on every figure.
    let (fp4, fp8) = (&got["e2m1/g32/e8m0/floor"], &got["e4m3/g32/e8m0/floor"]);
    for k in [metric::COS_MEAN, metric::COS_WORST, metric::FINAL_SQNR_DB] {
        assert!(fp4[k] < fp8[k], "{k}: MXFP4 {} vs MXFP8 {}", fp4[k], fp8[k]);
    }
    assert!(fp8[metric::COS_MEAN] < 1.0 && fp4[metric::COS_MEAN] > 0.5);
}

#[test]
fn the_identity_quantizer_scores_exactly_the_reference() {
    let Some(dir) = model_dir() else { return };
    let set = EvalSet::builtin().unwrap();
    let table = ModelTable {
        dir: dir.clone(),
        written: dir.display().to_string(),
        sentences: Some(SENTENCES),
        max_candidates: None,
        known: false,
    };
    let mut s = Scorer::new(&table, &set).unwrap();
    let row = s.apply(&|w| Ok(w.clone())).unwrap().unwrap();
    assert_eq!((row.cos_mean, row.cos_worst), (1.0, 1.0));
    assert_eq!(row.spearman, Some(1.0));
    assert!(row.layer_sqnr_db.iter().all(Option::is_none), "{row:?}");
    assert_eq!(row.worst_layer, None);
    // A lossy quantizer does not.
    let row = s.score(&must("int8/channel/f32/absmax")).unwrap().unwrap();
    assert!(row.cos_mean < 1.0 && row.layer_sqnr_db.iter().all(Option::is_some));
}

#[test]
fn a_shard_skips_the_scores_and_merge_then_resume_gives_the_unsharded_bytes() {
    let Some(dir) = model_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec(tmp.path(), &dir, "max_candidates = 1\nknown = false\n");
    let path = |s: &str| tmp.path().join(s).to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let mut a = vec!["explore", "--spec", spec.to_str().unwrap()];
        a.extend_from_slice(args);
        ok(&a)
    };
    run(&["--out", &path("whole")]);
    let whole = model_rows(&tmp.path().join("whole"));
    // max_candidates = 1: the fewest bits of the front.
    assert_eq!(
        whole.keys().collect::<Vec<_>>(),
        vec!["e2m1/g32/e8m0/floor"]
    );
    let shard = run(&["--shard", "0/1", "--out", &path("s0")]);
    assert!(shard.contains("model scores skipped"), "{shard}");
    assert!(model_rows(&tmp.path().join("s0")).is_empty());
    ok(&["merge", &path("s0"), "--out", &path("merged")]);
    let resumed = run(&["--resume", "--out", &path("merged")]);
    assert!(resumed.contains("(0 run, 2 resumed)"), "{resumed}");
    assert!(
        resumed.contains("1 candidates scored (0 resumed)"),
        "{resumed}"
    );
    let csv = |d: &str| std::fs::read(tmp.path().join(d).join("results.csv")).unwrap();
    assert_eq!(csv("whole"), csv("merged"));
    // Resuming a finished run scores nothing again and keeps the bytes.
    let again = run(&["--resume", "--out", &path("whole")]);
    assert!(again.contains("0 candidates scored (1 resumed)"), "{again}");
    assert_eq!(csv("whole"), csv("merged"));
}

#[test]
fn bad_model_tables_are_one_line_errors_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = |spec: &Path| {
        bitsim(&[
            "explore",
            "--spec",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    // A folder without the model.
    let s = spec(tmp.path(), &tmp.path().join("nowhere"), "");
    assert_error(&run(&s), "explore.model.model", "no config.json");
    assert!(!out.exists());
    // An unknown key.
    let s = spec(tmp.path(), &tmp.path().join("nowhere"), "sentence = 3\n");
    assert_error(&run(&s), "x.toml line", "sentence");
    // A malformed model: every file there, the weights truncated.
    let Some(dir) = model_dir() else { return };
    let bad = tmp.path().join("bad-model");
    std::fs::create_dir(&bad).unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(dir.join(f), bad.join(f)).unwrap();
    }
    std::fs::write(bad.join("model.safetensors"), b"\x08\x00\x00").unwrap();
    let s = spec(tmp.path(), &bad, "");
    assert_error(&run(&s), "explore.model", "model.safetensors");
    assert!(!out.exists());
}

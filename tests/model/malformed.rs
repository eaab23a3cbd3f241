//! Every malformed model directory gives one line naming the file, exit 2:
//! copies of the real model with one file removed, truncated or edited.

use std::fs;
use std::path::{Path, PathBuf};

use super::cli_support::{assert_error, bitsim};
use super::model_dir;

/// A copy of the model directory in a temp dir (the safetensors file is
/// linked, not copied, unless a case rewrites it).
fn copy(src: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    fs::create_dir(&dir).unwrap();
    for f in ["config.json", "tokenizer.json", "sentence_bert_config.json"] {
        fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    std::os::unix::fs::symlink(
        fs::canonicalize(src.join("model.safetensors")).unwrap(),
        dir.join("model.safetensors"),
    )
    .unwrap();
    (tmp, dir)
}

/// Rewrites `dir/model.safetensors` with the header edited by `edit` (the
/// data bytes untouched).
fn edit_header(
    src: &Path,
    dir: &Path,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) {
    let bytes = fs::read(src.join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    edit(&mut header);
    let mut text = serde_json::to_string(&header).unwrap();
    while !(8 + text.len()).is_multiple_of(8) {
        text.push(' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    let p = dir.join("model.safetensors");
    fs::remove_file(&p).unwrap();
    fs::write(p, out).unwrap();
}

fn embed(dir: &Path) -> std::process::Output {
    bitsim(&["embed", "--model", dir.to_str().unwrap(), "a sentence"])
}

fn file(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn a_missing_directory_or_file_is_named() {
    let Some(src) = model_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let none = tmp.path().join("absent");
    assert_error(
        &embed(&none),
        &none.display().to_string(),
        "scripts/fetch-minilm",
    );
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        let (_t, dir) = copy(&src);
        fs::remove_file(dir.join(f)).unwrap();
        assert_error(&embed(&dir), &file(&dir, f), "");
    }
}

#[test]
fn malformed_json_files_are_named() {
    let Some(src) = model_dir() else { return };
    for (f, text, reason) in [
        ("config.json", "{\"hidden_size\": 384", "not a BERT config"),
        (
            "config.json",
            &fs::read_to_string(src.join("config.json"))
                .unwrap()
                .replace("\"gelu\"", "\"relu\""),
            "hidden_act 'relu'",
        ),
        (
            "tokenizer.json",
            "{\"version\": \"1.0\", \"model\": 3}",
            "not a tokenizer file",
        ),
        (
            "tokenizer.json",
            &fs::read_to_string(src.join("tokenizer.json")).unwrap()[..100_000],
            "not a tokenizer file",
        ),
        ("sentence_bert_config.json", "[", "not JSON"),
    ] {
        let (_t, dir) = copy(&src);
        fs::write(dir.join(f), text).unwrap();
        assert_error(&embed(&dir), &file(&dir, f), reason);
    }
}

#[test]
fn a_truncated_safetensors_file_is_named() {
    let Some(src) = model_dir() else { return };
    let (_t, dir) = copy(&src);
    let bytes = fs::read(src.join("model.safetensors")).unwrap();
    let p = dir.join("model.safetensors");
    fs::remove_file(&p).unwrap();
    fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    assert_error(
        &embed(&dir),
        &file(&dir, "model.safetensors"),
        "not a safetensors file",
    );
    fs::write(&p, &bytes[..5]).unwrap();
    assert_error(
        &embed(&dir),
        &file(&dir, "model.safetensors"),
        "not a safetensors file",
    );
}

#[test]
fn a_missing_tensor_or_a_wrong_shape_is_named() {
    let Some(src) = model_dir() else { return };
    let name = "encoder.layer.3.attention.self.query.weight";
    let (_t, dir) = copy(&src);
    edit_header(&src, &dir, |h| {
        let v = h.remove(name).unwrap();
        h.insert(format!("{name}.renamed"), v);
    });
    assert_error(
        &embed(&dir),
        &file(&dir, "model.safetensors"),
        &format!("missing tensor '{name}'"),
    );
    let name = "encoder.layer.1.output.dense.weight";
    let (_t, dir) = copy(&src);
    edit_header(&src, &dir, |h| {
        h[name]["shape"] = serde_json::json!([1536, 384]);
    });
    assert_error(
        &embed(&dir),
        &file(&dir, "model.safetensors"),
        "has shape [1536, 384], expected [384, 1536]",
    );
}

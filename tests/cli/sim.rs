//! `bitsim sim`: output columns, model selection, CSV, one-line errors.

use crate::cli_support;

use cli_support::{assert_error, bitsim, ok};

const HEADER: [&str; 14] = [
    "model",
    "design",
    "phase",
    "layer",
    "repeat",
    "compute_cycles",
    "dram_cycles",
    "cycles",
    "utilisation",
    "compute_uj",
    "dram_uj",
    "energy_uj",
    "speedup",
    "energy_ratio",
];

fn manifest(p: &str) -> String {
    format!("{}/{p}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn table_and_csv_columns() {
    let t = ok(&["sim", &manifest("sims/bitmod.toml")]);
    let head: Vec<&str> = t.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(head, HEADER);
    let csv = ok(&["sim", &manifest("sims/bitmod.toml"), "--csv"]);
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], HEADER);
    assert!(rows.iter().all(|r| r.len() == 14));
    // 5 designs × 2 phases × (8 layers + total)
    assert_eq!(rows.len(), 1 + 5 * 2 * 9);
    assert!(
        rows[1..].iter().all(|r| r[0] == "llama-2-7b"),
        "first model by default"
    );
    // cycles = max(compute, dram) on every row
    for r in &rows[1..] {
        let (c, d, t): (u64, u64, u64) = (
            r[5].parse().unwrap(),
            r[6].parse().unwrap(),
            r[7].parse().unwrap(),
        );
        if r[3] != "total" {
            assert_eq!(t, c.max(d), "{r:?}");
        }
    }
    // the baseline's own speedup is 1
    let base = rows
        .iter()
        .find(|r| r[1] == "fp16" && r[3] == "total")
        .unwrap();
    assert_eq!((base[12], base[13]), ("1.000", "1.000"));
}

#[test]
fn model_selection() {
    let csv = ok(&[
        "sim",
        &manifest("sims/bitmod.toml"),
        "--model",
        "llama-3-8b",
        "--csv",
    ]);
    assert!(csv.lines().skip(1).all(|l| l.starts_with("llama-3-8b,")));
    let k = csv
        .lines()
        .find(|l| l.contains(",bitmod,prefill,k_proj,"))
        .unwrap();
    // k_proj 4096→1024, 32 copies: (1024 · 32 · 8 · 2) · 32
    assert_eq!(k.split(',').nth(5), Some("16777216"));
    assert_eq!(k.split(',').nth(4), Some("32"));
    let s = ok(&["sim", &manifest("sims/stripes.toml"), "--csv"]);
    let head = s.lines().next().unwrap();
    assert_eq!(head, "model,layer,kind,p_a,p_w,parallel_cycles,stripes_cycles,loom_cycles,stripes_speedup,loom_speedup");
    assert_eq!(s.lines().count(), 1 + 8 + 1);
}

#[test]
fn errors_are_one_line() {
    assert_error(
        &bitsim(&["sim", "no/such/file.toml"]),
        "no/such/file.toml",
        "no such file",
    );
    assert_error(
        &bitsim(&["sim", &manifest("sims/bitmod.toml"), "--model", "gpt-9"]),
        "--model gpt-9",
        "unknown model",
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    let text = include_str!("../../sims/bitmod.toml").replacen("dp = 4\n", "dp = 4\ndpp = 2\n", 1);
    let line = text.lines().position(|l| l == "dpp = 2").unwrap() + 1;
    std::fs::write(&p, text).unwrap();
    let ps = p.display().to_string();
    assert_error(&bitsim(&["sim", &ps]), &format!("{ps} line {line}"), "dpp");
}

/// Writes `text` into a temporary file; returns its directory (kept alive) and path.
fn scenario(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.toml");
    std::fs::write(&p, text).unwrap();
    let ps = p.display().to_string();
    (dir, ps)
}

#[test]
fn overflowing_layers_are_refused_not_wrapped() {
    // q_proj with k = 2^62: its compute cycles (and bytes) overflow u64; the
    // run used to wrap silently into utilisation 992.97 and 0 compute cycles.
    let base = include_str!("../../sims/bitmod.toml");
    let text = base.replacen(
        "{ name = \"q_proj\", k = 4096,",
        "{ name = \"q_proj\", k = 4611686018427387904,",
        1,
    );
    let line = text
        .lines()
        .position(|l| l.contains("4611686018427387904"))
        .unwrap()
        + 1;
    let (_d, ps) = scenario(&text);
    assert_error(
        &bitsim(&["sim", &ps]),
        &format!("{ps} line {line}"),
        "q_proj",
    );
    assert_error(&bitsim(&["sim", &ps]), "models.layers", "overflows");
    // one copy of the layer fits, its 2^42 copies do not
    let text = base.replacen(
        "{ name = \"q_proj\", k = 4096, n = 4096, repeat = 32 }",
        "{ name = \"q_proj\", k = 4096, n = 4096, repeat = 4398046511104 }",
        1,
    );
    let line = text
        .lines()
        .position(|l| l.contains("4398046511104"))
        .unwrap()
        + 1;
    let (_d, ps) = scenario(&text);
    assert_error(
        &bitsim(&["sim", &ps]),
        &format!("{ps} line {line}"),
        "overflows",
    );
    // prefill tokens: the key named is the model's
    let text = base.replacen(
        "prefill_tokens = 256",
        "prefill_tokens = 18446744073709551615",
        1,
    );
    let (_d, ps) = scenario(&text);
    assert_error(&bitsim(&["sim", &ps]), &ps, "overflows");
    // Stripes: a conv layer's MACs H·W·kh·kw·c_in·c_out past u64
    let text = include_str!("../../sims/stripes.toml").replacen(
        "c_in = 3, c_out = 96",
        "c_in = 4294967296, c_out = 4294967296",
        1,
    );
    let line = text.lines().position(|l| l.contains("4294967296")).unwrap() + 1;
    let (_d, ps) = scenario(&text);
    assert_error(
        &bitsim(&["sim", &ps]),
        &format!("{ps} line {line}"),
        "conv1",
    );
    assert_error(&bitsim(&["sim", &ps]), "models.layers", "overflows");
}

#[test]
fn conv_layers_need_their_kernel_and_map() {
    // A conv layer without `kernel` used to run silently as a 1×1 convolution.
    let base = include_str!("../../sims/stripes.toml");
    for (drop, key) in [(" kernel = [5, 5],", "kernel"), (" out = [27, 27],", "out")] {
        let text = base.replacen(drop, "", 1);
        assert_ne!(text, base, "the seed file still has `{drop}`");
        let line = text.lines().position(|l| l.contains("\"conv2\"")).unwrap() + 1;
        let (_d, ps) = scenario(&text);
        let out = bitsim(&["sim", &ps]);
        assert_error(&out, &format!("{ps} line {line}"), "conv2");
        assert_error(&out, &format!("models.layers.{key}"), "needs");
    }
}

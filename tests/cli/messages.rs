//! Error messages as a demanding user reads them: the input named once (no
//! doubled prefix), the user's own path (never a temporary file's), and the
//! flag the user typed (never one left at its default).

use crate::cli_support;

use std::path::Path;
use std::process::{Command, Output};

use cli_support::{assert_error, bitsim, f32_le, listing, npy_bytes, put, quantize_run};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The error line with its `bitsim: error: ` prefix removed.
fn message(o: &Output) -> String {
    let e = stderr(o);
    e.trim_end()
        .strip_prefix("bitsim: error: ")
        .unwrap_or_else(|| panic!("bad prefix: {e}"))
        .to_string()
}

/// No temporary file of output `name` (`.out.npy.Ab12Cd.tmp`, `at path
/// "…"`) in `o`'s error.
fn assert_no_temp_name(o: &Output, name: &str) {
    let e = stderr(o);
    assert!(
        !e.contains(&format!(".{name}.")) && !e.contains("at path"),
        "temporary file named: {e}"
    );
}

#[test]
fn an_output_in_a_missing_folder_names_the_users_path_not_a_temporary_file() {
    let d = tempfile::tempdir().unwrap();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(1, 1, 4)", &f32_le(&[1.0, 2.0, 3.0, 4.0])),
    );
    let nowhere = d.path().join("no-such-dir");

    let o = quantize_run(&inp, &nowhere.join("out.npy"), "e4m3", &[]);
    assert_error(&o, "no-such-dir/out.npy", "cannot create output");
    assert_no_temp_name(&o, "out.npy");

    let q = inp.to_str().unwrap();
    let out = nowhere.join("o.npy");
    let o = bitsim(&[
        "attention",
        "run",
        "attention/flash-f32",
        "--q",
        q,
        "--k",
        q,
        "--v",
        q,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&o, "no-such-dir/o.npy", "cannot create output");
    assert_no_temp_name(&o, "o.npy");

    let trace = nowhere.join("t.bin");
    let o = bitsim(&[
        "cachesim",
        "--hierarchy",
        "cache-tiny",
        "--generator",
        "matmul/naive",
        "--m",
        "2",
        "--n",
        "2",
        "--k",
        "2",
        "--dump-trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no-such-dir/t.bin"), "{}", stderr(&o));
    assert_no_temp_name(&o, "t.bin");
    assert_eq!(listing(d.path()), ["in.npy"]);
}

#[test]
fn cachesim_names_the_generator_once() {
    let o = bitsim(&[
        "cachesim",
        "--hierarchy",
        "cache-tiny",
        "--generator",
        "matmul/tiled",
        "--m",
        "0",
    ]);
    assert_error(&o, "--generator matmul/tiled", "--m must be at least 1");
    assert_eq!(
        message(&o).matches("matmul/tiled").count(),
        1,
        "{}",
        stderr(&o)
    );
}

fn io(extra: &[&str]) -> Output {
    let mut args = vec!["io", "--generator", "matmul/naive"];
    args.extend(["--m", "4", "--n", "4", "--k", "4"]);
    args.extend(extra);
    bitsim(&args)
}

#[test]
fn io_blames_the_cache_flag_the_user_gave() {
    // --cache is left at its default in these: the error must not name it.
    let o = io(&["--line", "48"]);
    assert_error(&o, "--line 48", "power of two");
    assert!(!stderr(&o).contains("--cache"), "{}", stderr(&o));
    let o = io(&["--ways", "3"]);
    assert_error(&o, "--ways 3", "3 ways do not divide");
    assert!(!stderr(&o).contains("--cache"), "{}", stderr(&o));
    // A line longer than the smallest default cache.
    let o = io(&["--line", "32768"]);
    assert_error(&o, "--line 32768", "not a positive multiple");
    // A size that is no multiple of the line is the size's fault.
    let o = io(&["--cache", "100"]);
    assert_error(&o, "--cache 100", "not a positive multiple");
}

fn suite(dir: &Path, energy: &str) -> String {
    let text = format!(
        "name = \"t\"\nvariants = [\"matmul/f32-fma\"]\nseeds = [0]\nrepetitions = 1\n\
         energy = \"{energy}\"\nnative = false\n\n[[workloads]]\nname = \"g\"\n\
         dist = \"gaussian\"\nstd = 1.0\nshapes = [[2, 8, 2]]\n"
    );
    put(dir, "suite.toml", text.as_bytes())
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_missing_energy_table_is_named_once() {
    let d = tempfile::tempdir().unwrap();
    let s = suite(d.path(), "no-such-energy.toml");
    let out = d.path().join("out");
    let o = bitsim(&["report", "--suite", &s, "--out", out.to_str().unwrap()]);
    assert_error(&o, "suite.toml line 5", "not a built-in energy table");
    assert_eq!(
        message(&o).matches("no-such-energy.toml").count(),
        1,
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn shard_auto_without_a_scheduler_says_auto_once() {
    let d = tempfile::tempdir().unwrap();
    let s = suite(d.path(), "energy-45nm");
    let out = d.path().join("out");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bitsim"));
    for var in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "JOB_COMPLETION_INDEX",
        "BITSIM_SHARD_COUNT",
    ] {
        cmd.env_remove(var);
    }
    let o = cmd
        .args(["report", "--suite", &s, "--shard", "auto", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_error(&o, "--shard auto", "neither SLURM_ARRAY_TASK_ID");
    assert_eq!(message(&o).matches("auto").count(), 1, "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn embed_names_the_variant_flag_before_loading_the_model() {
    // The model folder does not exist: a bad variant name is reported first,
    // located at the flag that gave it.
    let d = tempfile::tempdir().unwrap();
    let model = d.path().join("no-model");
    let m = model.to_str().unwrap();
    let o = bitsim(&["embed", "--model", m, "--variant", "matmul/nope", "hi"]);
    assert_error(&o, "--variant matmul/nope", "unknown matmul variant");
    let o = bitsim(&["embed", "--model", m, "--attention", "matmul/f32-fma", "hi"]);
    assert_error(
        &o,
        "--attention matmul/f32-fma",
        "unknown attention variant",
    );
    let o = bitsim(&[
        "embed",
        "--model",
        m,
        "--layer-variant",
        "0=attention/nope",
        "hi",
    ]);
    assert_error(
        &o,
        "--layer-variant 0=attention/nope",
        "unknown attention variant",
    );
}

#[test]
fn a_bad_number_names_its_value_once() {
    let d = tempfile::tempdir().unwrap();
    let inp = put(
        d.path(),
        "in.npy",
        &npy_bytes("<f4", false, "(2,)", &f32_le(&[1.0, 2.0])),
    );
    let o = quantize_run(&inp, &d.path().join("o.npy"), "e4m3", &["--seed", "-7"]);
    assert_error(&o, "--seed -7", "not a non-negative integer");
    assert_eq!(message(&o).matches("-7").count(), 1, "{}", stderr(&o));

    let s = suite(d.path(), "energy-45nm");
    let out = d.path().join("out");
    let o = bitsim(&[
        "report",
        "--suite",
        &s,
        "--shard",
        "3/2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&o, "--shard 3/2", "not K/N");
    assert_eq!(message(&o).matches("3/2").count(), 1, "{}", stderr(&o));

    let o = bitsim(&[
        "io",
        "--generator",
        "attention/flash",
        "--n",
        "x9",
        "--d",
        "8",
    ]);
    assert_error(&o, "--n x9", "not a non-negative integer");
    assert_eq!(message(&o).matches("x9").count(), 1, "{}", stderr(&o));
}

#[test]
fn a_flag_the_accesses_would_ignore_is_refused() {
    // io: attention generators have no --m or --k.
    let o = bitsim(&[
        "io",
        "--generator",
        "attention/flash",
        "--n",
        "64",
        "--d",
        "16",
        "--m",
        "3",
    ]);
    assert_error(
        &o,
        "--m 3",
        "attention/flash does not use it (it takes --n and --d)",
    );
    let o = bitsim(&[
        "io",
        "--generator",
        "matmul/gemv",
        "--m",
        "4",
        "--k",
        "8",
        "--d",
        "2",
    ]);
    assert_error(&o, "--d 2", "matmul/gemv does not use it");

    // cachesim with a generator: the trace flags and other generators' sizes.
    let gen = |extra: &[&str]| {
        let mut a = vec!["cachesim", "--hierarchy", "cache-tiny"];
        a.extend(extra);
        bitsim(&a)
    };
    let o = gen(&["--generator", "matmul/naive", "--access-size", "4"]);
    assert_error(&o, "--access-size 4", "applies to --trace only");
    let o = gen(&["--generator", "matmul/naive", "--trace-format", "din"]);
    assert_error(&o, "--trace-format din", "applies to --trace only");
    let o = gen(&["--generator", "attention/standard", "--k", "8"]);
    assert_error(&o, "--k 8", "attention/standard does not use it");
    // The defaults still run: the sizes default to 64.
    let o = gen(&["--generator", "matmul/naive", "--csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // cachesim with a trace: the generator's flags, and --access-size on a
    // binary trace (which records each access's size).
    let d = tempfile::tempdir().unwrap();
    let din = put(d.path(), "t.din", b"0 10\n1 20\n");
    let din = din.to_str().unwrap();
    for (flag, v) in [
        ("--m", "4"),
        ("--n", "4"),
        ("--k", "4"),
        ("--d", "4"),
        ("--format", "bf16"),
        ("--fast-bytes", "1KiB"),
    ] {
        let o = gen(&["--trace", din, flag, v]);
        assert_error(&o, &format!("{flag} {v}"), "applies to --generator only");
    }
    let o = gen(&["--trace", din, "--access-size", "4", "--csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = gen(&[
        "--trace",
        din,
        "--trace-format",
        "bin",
        "--access-size",
        "4",
    ]);
    assert_error(&o, "--access-size 4", "applies to din traces only");
}

#[test]
fn attention_run_refuses_to_write_over_an_input() {
    let d = tempfile::tempdir().unwrap();
    let bytes = npy_bytes("<f4", false, "(1, 2, 2)", &f32_le(&[1.0, 0.5, -1.0, 2.0]));
    let q = put(d.path(), "q.npy", &bytes);
    let k = put(d.path(), "k.npy", &bytes);
    let v = put(d.path(), "v.npy", &bytes);
    let (q, k, v) = (
        q.to_str().unwrap(),
        k.to_str().unwrap(),
        v.to_str().unwrap(),
    );
    for (flag, out) in [("--q", q), ("--k", k), ("--v", v)] {
        let o = bitsim(&[
            "attention",
            "run",
            "attention/f32",
            "--q",
            q,
            "--k",
            k,
            "--v",
            v,
            "--out",
            out,
        ]);
        assert_error(
            &o,
            &format!("--out {out}"),
            &format!("is the {flag} input file"),
        );
    }
    assert_eq!(std::fs::read(q).unwrap(), bytes);
    assert_eq!(std::fs::read(k).unwrap(), bytes);
    assert_eq!(std::fs::read(v).unwrap(), bytes);
}

#[test]
fn help_that_cannot_be_written_is_an_error() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    let Ok(full) = full else {
        panic!("this test needs /dev/full (Linux)");
    };
    let o = Command::new(env!("CARGO_BIN_EXE_bitsim"))
        .arg("--help")
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("stdout"), "{}", stderr(&o));
    // Written normally, help still exits 0.
    let o = bitsim(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Usage: bitsim"));
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let d = tempfile::tempdir().unwrap();
    let good = suite(d.path(), "energy-45nm");
    let text = std::fs::read_to_string(&good).unwrap();
    let out = d.path().join("out");
    for (from, to, at) in [
        ("std = 1.0", "std = \"big\"", "line 11: std"),
        (
            "repetitions = 1",
            "repetitions = \"one\"",
            "line 4: repetitions",
        ),
        (
            "shapes = [[2, 8, 2]]",
            "shapes = [[2, \"a\", 2]]",
            "line 12: shapes",
        ),
        ("name = \"t\"", "name = 3", "line 1: name"),
    ] {
        assert!(text.contains(from), "{from}");
        let bad = put(d.path(), "bad.toml", text.replace(from, to).as_bytes());
        let o = bitsim(&[
            "report",
            "--suite",
            bad.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_error(&o, &format!("bad.toml {at}: invalid type"), "");
        assert!(!out.exists());
    }
}

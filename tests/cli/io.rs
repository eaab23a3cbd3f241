//! `bitsim io`: the CSV columns and values, the table, and one-line errors.

use crate::cli_support;

use cli_support::{assert_error, bitsim, ok};

const HEADER: &str = "cache_bytes,line,ways,m_words,tiles,schedule,regime,bound_term,closed_bytes,closed_cached_bytes,lower_bound_bytes,simulated_bytes,ratio";

fn rows(out: &str) -> Vec<Vec<String>> {
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(HEADER));
    lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

#[test]
fn csv_flash_rows() {
    let out = ok(&[
        "io",
        "--variant",
        "attention/flash",
        "--n",
        "256",
        "--d",
        "16",
        "--cache",
        "8KiB,16k",
        "--csv",
    ]);
    let r = rows(&out);
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|row| row.len() == 13));
    assert_eq!(r[0][0], "8192");
    assert_eq!(r[1][0], "16384");
    assert_eq!(r[0][3], "2048"); // M = 8 KiB of f32
    assert_eq!(r[0][4], "Bc=32 Br=16");
    assert_eq!(r[0][6], "M>=d^2");
    // Hand count for B_c = 32 (T_c = 8), N = 256, d = 16, f32:
    // elements read 2Nd + 8Nd + 7Nd, ℓ/m read 7·2N, written 8·(Nd + 2N).
    let nd = 256.0 * 16.0;
    let closed = 4.0 * ((2.0 + 8.0 + 7.0) * nd + 7.0 * 512.0 + 8.0 * (nd + 512.0));
    assert_eq!(r[0][8].parse::<f64>().unwrap(), closed);
    for row in &r {
        let sim: f64 = row[11].parse().unwrap();
        let cached: f64 = row[9].parse().unwrap();
        let bound: f64 = row[10].parse().unwrap();
        assert!(sim >= bound);
        assert_eq!(row[12].parse::<f64>().unwrap(), sim / cached);
        assert_eq!(row[12], "1");
    }
}

#[test]
fn matmul_table_and_format() {
    let out = ok(&[
        "io",
        "--variant",
        "matmul/tiled",
        "--m",
        "64",
        "--n",
        "64",
        "--k",
        "64",
        "--cache",
        "4KiB",
        "--format",
        "bf16",
    ]);
    assert!(
        out.starts_with("matmul/tiled (m=64 n=64 k=64), bf16"),
        "{out}"
    );
    assert!(out.contains("bm=16 bn=16 bk=16"), "{out}");
    assert!(out.contains("4KiB"), "{out}");
    assert!(out.contains("simulated / closed form"), "{out}");
    // 4-way set-associative with 128-byte lines is accepted.
    let out = ok(&[
        "io",
        "--variant",
        "matmul/gemv",
        "--m",
        "64",
        "--k",
        "256",
        "--cache",
        "4KiB",
        "--line",
        "128",
        "--ways",
        "4",
        "--csv",
    ]);
    assert_eq!(&rows(&out)[0][..3], ["4096", "128", "4"]);
}

#[test]
fn errors_are_one_line() {
    let e = bitsim(&[
        "io",
        "--variant",
        "attention/sparse",
        "--n",
        "8",
        "--d",
        "8",
    ]);
    assert_error(&e, "--variant attention/sparse", "unknown variant");
    let e = bitsim(&["io", "--variant", "attention/flash", "--n", "8"]);
    assert_error(&e, "--d", "missing");
    let e = bitsim(&["io", "--variant", "matmul/tiled", "--m", "8", "--k", "8"]);
    assert_error(&e, "--n", "missing");
    let e = bitsim(&[
        "io",
        "--variant",
        "matmul/tiled",
        "--m",
        "8",
        "--n",
        "0",
        "--k",
        "8",
    ]);
    assert_error(&e, "--n 0", "at least 1");
    for bad in ["64KiB,,1MiB", "lots", "64XB", "", "100"] {
        let e = bitsim(&[
            "io",
            "--variant",
            "attention/flash",
            "--n",
            "8",
            "--d",
            "8",
            "--cache",
            bad,
        ]);
        assert_error(&e, &format!("--cache {bad}"), "");
    }
    let e = bitsim(&[
        "io",
        "--variant",
        "attention/flash",
        "--n",
        "8",
        "--d",
        "8",
        "--format",
        "e9m9",
    ]);
    assert_error(&e, "--format e9m9", "format");
    let e = bitsim(&[
        "io",
        "--variant",
        "attention/flash",
        "--n",
        "8",
        "--d",
        "8",
        "--line",
        "48",
    ]);
    assert_error(&e, "--line 48", "power of two");
    let e = bitsim(&[
        "io",
        "--variant",
        "attention/flash",
        "--n",
        "8",
        "--d",
        "-1",
    ]);
    assert_error(&e, "--d", "non-negative");
}

#[test]
fn sizes_beyond_the_model_are_errors() {
    let o = bitsim(&[
        "io",
        "--variant",
        "attention/standard",
        "--n",
        "5000000000",
        "--d",
        "1",
    ]);
    assert_error(&o, "--n", "too large");
    let o = bitsim(&[
        "io",
        "--variant",
        "attention/flash",
        "--n",
        "1048576",
        "--d",
        "1048576",
    ]);
    assert_error(&o, "attention/flash", "2^40");
    let o = bitsim(&[
        "io",
        "--variant",
        "matmul/naive",
        "--m",
        "3000000",
        "--n",
        "4",
        "--k",
        "4",
    ]);
    assert_error(&o, "--m", "too large");
}

/// `args` with the generator flag `--generator` replaced by its old name.
fn with_old_flag(args: &[&'static str]) -> Vec<&'static str> {
    args.iter()
        .map(|&a| if a == "--generator" { "--variant" } else { a })
        .collect()
}

#[test]
fn generator_and_its_old_name_variant_agree() {
    for args in [
        &[
            "io",
            "--generator",
            "matmul/tiled",
            "--m",
            "32",
            "--n",
            "48",
            "--k",
            "16",
        ][..],
        &[
            "io",
            "--generator",
            "attention/flash",
            "--n",
            "128",
            "--d",
            "32",
            "--format",
            "e4m3",
            "--csv",
        ],
        &[
            "io",
            "--generator",
            "matmul/gemv",
            "--m",
            "8",
            "--k",
            "64",
            "--cache",
            "1KiB",
        ],
    ] {
        assert_eq!(ok(args), ok(&with_old_flag(args)), "{args:?}");
    }
    // Errors name the flag that was typed.
    let e = bitsim(&["io", "--generator", "attention/sparse", "--n", "4"]);
    assert_error(&e, "--generator attention/sparse", "unknown generator");
    let e = bitsim(&["io", "--variant", "attention/sparse", "--n", "4"]);
    assert_error(&e, "--variant attention/sparse", "unknown variant");
    // Both at once is a usage error; neither is one too.
    let both = bitsim(&[
        "io",
        "--generator",
        "matmul/tiled",
        "--variant",
        "matmul/tiled",
    ]);
    assert_eq!(both.status.code(), Some(2));
    assert_eq!(bitsim(&["io", "--n", "4"]).status.code(), Some(2));
}

#[test]
fn cost_follows_lines_touched_and_size_lists_are_bounded() {
    // A 4 GiB fully associative cache for a 64³ matmul: the same traffic as
    // 1 MiB (the problem fits both), in the memory of the lines touched. The
    // run is held to 512 MiB of address space: declaring 4 GiB must not
    // allocate for it (it took 4.4 GB and 30 s).
    let bin = env!("CARGO_BIN_EXE_bitsim");
    let run = |cache: &str| {
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v 524288 && exec {bin} io --generator matmul/tiled --m 64 --n 64 --k 64 --cache {cache} --csv"
            ))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8(o.stdout).unwrap();
        let row = out.lines().nth(1).unwrap().to_string();
        row.split(',').rev().nth(1).unwrap().to_string()
    };
    assert_eq!(run("4GiB"), run("1MiB"));
    assert_eq!(run("1MiB"), "65536");
    let list = vec!["64KiB"; 65].join(",");
    let o = bitsim(&[
        "io",
        "--generator",
        "matmul/tiled",
        "--m",
        "64",
        "--n",
        "64",
        "--k",
        "64",
        "--cache",
        &list,
    ]);
    assert_error(&o, "--cache", "at most 64");
    let o = bitsim(&[
        "io",
        "--generator",
        "matmul/naive",
        "--m",
        "2048",
        "--n",
        "2048",
        "--k",
        "2048",
    ]);
    assert_error(&o, "matmul/naive", "2^32");
}

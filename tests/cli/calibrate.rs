//! `bitsim calibrate`: a short run writes a machine file the roofline loader
//! reads back; bad flags and output paths are one-line errors. No speed
//! assertions (the machine may be busy).

use crate::cli_support;

use bitsim::hw::roofline::{ComputeKind, Machine, MemLevel, Scope};
use cli_support::{assert_error, bitsim, ok};

#[test]
fn short_run_writes_a_machine_file_the_roofline_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.toml");
    let p = path.to_str().unwrap();
    let out = ok(&[
        "calibrate",
        "--seconds",
        "0.2",
        "--threads",
        "2",
        "--dram-mib",
        "8",
        "--out",
        p,
    ]);
    assert!(out.contains("f32 FMA"), "{out}");
    assert!(out.contains("DRAM read"), "{out}");
    assert!(out.contains("2 threads"), "{out}");
    assert!(out.trim_end().ends_with(&format!("wrote {p}")), "{out}");
    let m = Machine::load(p).unwrap();
    assert_eq!(m.cores, 2);
    assert!(m.compute.contains_key(&ComputeKind::F32Fma));
    assert!(m.bandwidth.contains_key(&MemLevel::Dram));
    for c in m.compute.values().chain(m.bandwidth.values()) {
        assert!(c.per_core > 0.0 && c.all_cores > 0.0);
        assert!(c.source.starts_with("bitsim calibrate on "), "{}", c.source);
        // An RFC 3339 UTC time stamp.
        assert!(
            c.source.contains(" at 20") && c.source.contains("Z:"),
            "{}",
            c.source
        );
    }
    // Ceilings this CPU lacks are reported as unavailable, not written.
    for kind in [ComputeKind::Bf16Dot, ComputeKind::Int8Vnni] {
        if !m.compute.contains_key(&kind) {
            assert!(out.contains("unavailable"), "{out}");
        }
    }
    // The file places variants.
    let cost = bitsim::variants::find("matmul/f32")
        .unwrap()
        .cost(bitsim::variants::Shape { m: 1, k: 64, n: 64 });
    assert!(m.place(&cost, Scope::AllCores).attainable_gops > 0.0);
    // No temporary file left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn without_out_it_only_prints() {
    let out = ok(&[
        "calibrate",
        "--seconds",
        "0.05",
        "--threads",
        "1",
        "--dram-mib",
        "4",
    ]);
    assert!(out.contains("f32 FMA") && out.contains("1 thread"), "{out}");
    assert!(!out.contains("wrote"), "{out}");
}

#[test]
fn bad_flags_and_outputs_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/m.toml");
    let m = missing.to_str().unwrap();
    let o = bitsim(&["calibrate", "--seconds", "0.05", "--out", m]);
    assert_error(&o, m, "no folder");
    assert!(!missing.exists());
    for (flag, value, why) in [
        ("--seconds", "0", "seconds"),
        ("--seconds", "-1", "seconds"),
        ("--seconds", "abc", "seconds"),
        ("--seconds", "inf", "seconds"),
        ("--threads", "0", "threads"),
        ("--threads", "two", "threads"),
        ("--dram-mib", "0", "MiB"),
        // Beyond 4 threads per CPU (and 1024): it used to panic, then hang.
        ("--threads", "1025", "threads"),
        // More than any machine's memory.
        ("--dram-mib", "65537", "MiB"),
    ] {
        let o = bitsim(&["calibrate", flag, value]);
        assert_error(&o, &format!("{flag} {value}"), why);
    }
    // Bounds that follow this machine: 4 threads per CPU, half the memory
    // available (this 64 GiB buffer used to be attempted and abort).
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let many = (4 * cpus + 1).to_string();
    let o = bitsim(&["calibrate", "--threads", &many]);
    assert_error(&o, &format!("--threads {many}"), "this machine has");
    let avail_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            let l = t.lines().find(|l| l.starts_with("MemAvailable:"))?;
            l.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map(|kib| kib / 1024);
    if avail_mib.is_some_and(|a| a < 2 * 65536) {
        let o = bitsim(&["calibrate", "--dram-mib", "65536"]);
        assert_error(&o, "--dram-mib 65536", "MiB of memory available");
    }
    // An output path that is a folder.
    let d = dir.path().to_str().unwrap();
    let o = bitsim(&["calibrate", "--seconds", "0.05", "--out", d]);
    assert_error(&o, d, "is a folder");
}

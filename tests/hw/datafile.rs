//! The data-file layer: every loader's errors read `FILE line N: KEY: reason`,
//! the one size grammar and printer, and "drop a file in `sims/`" (every
//! `sims/*.toml` is a built-in reachable by its name).

use std::path::Path;

use bitsim::datafile::{self, DataError, Kind};
use bitsim::hw::accel::config::{load_builtin, load_str};
use bitsim::hw::cache::HierarchyConfig;
use bitsim::hw::energy::EnergyTable;
use bitsim::hw::roofline::Machine;
use bitsim::size::{parse_size, size_label, size_rounded, size_text, SizeStyle};
use bitsim::suite::spec;

/// Asserts that `err` is `FILE line LINE: KEY...` and one line.
fn assert_located(err: &str, file: &str, line: usize, key: &str) {
    let want = format!("{file} line {line}: {key}");
    assert!(err.starts_with(&want), "want {want:?}…, got {err:?}");
    assert!(!err.contains('\n'), "one line: {err:?}");
}

#[test]
fn error_display_is_file_line_key_reason() {
    let mut e = DataError::in_file("a.toml", "cannot read");
    assert_eq!(e.to_string(), "a.toml: cannot read");
    e.key = Some("level.size".into());
    assert_eq!(e.to_string(), "a.toml: level.size: cannot read");
    e.line = Some(7);
    assert_eq!(e.to_string(), "a.toml line 7: level.size: cannot read");
    assert_eq!(e.location(), "a.toml line 7");
    assert_eq!(e.message(), "level.size: cannot read");
    assert_eq!(datafile::line_of("a\nb\nc", 0), 1);
    assert_eq!(datafile::line_of("a\nb\nc", 2), 2);
    assert_eq!(datafile::line_of("a\nb\nc", 99), 3);
}

#[test]
fn suite_error_names_file_line_and_key() {
    let text = "name = 'x'\n\
                variants = ['matmul/f64']\n\
                [[workloads]]\n\
                name = 'g'\n\
                dist = 'gaussian'\n\
                std = -1\n\
                shapes = [[2, 4, 2]]\n";
    let e = spec::parse(text, "s.toml", Path::new("."), &["matmul/f64"]).unwrap_err();
    // Line 6: `std = -1`.
    assert_located(&e.to_string(), "s.toml", 6, "workloads 'g': std:");
}

#[test]
fn energy_error_names_file_line_and_key() {
    let text = "name = 't'\n\
                description = 'test'\n\
                [[int_add]]\n\
                bits = 8\n\
                pj = -0.03\n\
                source = 's'\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.toml");
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let e = EnergyTable::load(p).unwrap_err();
    // Line 5: `pj = -0.03`.
    assert_located(&e, p, 5, "int_add[0] (bits = 8).pj");
}

#[test]
fn machine_error_names_file_line_and_key() {
    let text = "name = 'm'\n\
                description = 'd'\n\
                cores = 2\n\
                [compute.f32_fma]\n\
                per_core = 0.0\n\
                all_cores = 2.0\n\
                source = 's'\n\
                [bandwidth.dram]\n\
                per_core = 1.0\n\
                all_cores = 2.0\n\
                source = 's'\n";
    let e = Machine::parse(text, "m.toml").unwrap_err();
    // Line 5: `per_core = 0.0`.
    assert_located(&e, "m.toml", 5, "compute.f32_fma.per_core");
}

#[test]
fn cache_error_names_file_line_and_key() {
    let text = "name = 'c'\n\
                [[level]]\n\
                name = 'L1'\n\
                size = '4KiB'\n\
                ways = 4\n\
                line = 64\n\
                policy = 'mru'\n";
    let e = HierarchyConfig::from_toml("c.toml", text).unwrap_err();
    // Line 7: `policy = 'mru'`.
    assert_located(&e, "c.toml", 7, "policy: unknown policy 'mru'");
}

#[test]
fn accelerator_error_names_file_line_and_key() {
    let text = "kind = 'stripes'\n\
                name = 'x'\n\
                description = 'd'\n\
                parallel_macs_per_cycle = 16\n\
                source = 's'\n\
                [[models]]\n\
                name = 'net'\n\
                description = 'd'\n\
                layers = []\n";
    let e = load_str("a.toml", text).unwrap_err();
    // Line 9: `layers = []`.
    assert_located(&e, "a.toml", 9, "models.layers: at least one is needed");
    // The same check on a BitMoD file (shared between the two kinds).
    let bitmod = include_str!("../../sims/bitmod.toml");
    let first = bitmod.find("layers = [").unwrap();
    let end = first + bitmod[first..].find("\n]").unwrap() + 2;
    let bad = format!("{}layers = []{}", &bitmod[..first], &bitmod[end..]);
    let line = bad[..first].matches('\n').count() + 1;
    let e = load_str("b.toml", &bad).unwrap_err();
    assert_located(&e, "b.toml", line, "models.layers: at least one is needed");
}

#[test]
fn unknown_built_in_names_the_kind_and_the_built_ins() {
    let e = HierarchyConfig::load("no/such.toml").unwrap_err();
    assert_eq!(
        e,
        "no/such.toml: not a built-in hierarchy (cache-gpu-sm, cache-tiny, cache-zen5) \
         and cannot read it as a file: No such file or directory (os error 2)"
    );
}

#[test]
fn size_grammar() {
    for (s, v) in [
        ("0", 0),
        ("64", 64),
        ("64B", 64),
        ("64K", 64 << 10),
        ("64KB", 64 << 10),
        ("64KiB", 64 << 10),
        ("64kib", 64 << 10),
        (" 2 MiB ", 2 << 20),
        ("2MB", 2 << 20),
        ("2m", 2 << 20),
        ("3G", 3 << 30),
        ("3GB", 3 << 30),
        ("3GiB", 3 << 30),
        ("18446744073709551615", u64::MAX),
        ("17179869183GiB", 17179869183 << 30),
    ] {
        assert_eq!(parse_size(s), Ok(v), "{s:?}");
    }
    for (s, why) in [
        ("", "is not a size"),
        ("KiB", "is not a size"),
        ("-1", "is not a size"),
        ("+64", "is not a size"),
        ("1.5MiB", "is not a size"),
        ("0x40", "unknown unit 'x40'"),
        ("64XB", "unknown unit 'XB'"),
        ("64 TiB", "unknown unit 'TiB'"),
        ("18446744073709551616", "is too large"),
        ("17179869184GiB", "is too large"),
    ] {
        let e = parse_size(s).unwrap_err();
        assert!(
            e.contains(why) && e.contains(&format!("'{s}'")),
            "{s:?}: {e}"
        );
    }
}

#[test]
fn size_printer() {
    assert_eq!(size_label(65536), "64KiB");
    assert_eq!(size_label(3 << 20), "3MiB");
    assert_eq!(size_label(1 << 30), "1GiB");
    assert_eq!(size_label(1536), "1536B");
    assert_eq!(size_label(0), "0B");
    assert_eq!(size_text(1536, SizeStyle::ExactBare), "1536");
    assert_eq!(size_text(48 << 10, SizeStyle::ExactBare), "48KiB");
    assert_eq!(size_text(1536, SizeStyle::Rounded), "1.500 KiB");
    assert_eq!(size_rounded(100.0), "100 B");
    assert_eq!(size_rounded(1.25 * (1 << 20) as f64), "1.250 MiB");
    // Sizes above 2^53 stay exact.
    assert_eq!(size_label((1 << 60) + 1), "1152921504606846977B");
    // What the exact printer writes, the grammar reads back.
    for b in [0, 64, 1536, 48 << 10, 1 << 20, 5 << 30, (1 << 60) + 1] {
        assert_eq!(parse_size(&size_label(b)), Ok(b));
    }
}

/// "Drop a file in `sims/`": every `sims/*.toml` is a built-in under its file
/// stem, of the kind its prefix says, and loads through its kind's loader.
#[test]
fn every_sims_file_is_a_built_in_that_loads() {
    let mut seen = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/sims")).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".toml"))
        else {
            continue;
        };
        let kind = Kind::of(name);
        assert!(datafile::builtin_names(kind).contains(&name), "{name}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(datafile::builtin(kind, name), Some(text.as_str()), "{name}");
        let loaded = match kind {
            Kind::Energy => EnergyTable::load(name).map(drop),
            Kind::Cache => HierarchyConfig::load(name).map(drop),
            Kind::Machine => Machine::load(name).map(drop),
            Kind::Accelerator => load_builtin(name).map(drop),
        };
        assert_eq!(loaded, Ok(()), "{name}");
        seen += 1;
    }
    assert!(seen >= 8, "found {seen} files");
}

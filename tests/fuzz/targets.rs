//! One test per parser: its seeds, and what is run on each input.

use std::io::Cursor;
use std::path::Path;

use bitsim::hw::cache::tracefile::{read_trace, BinWriter, TraceFormat};
use bitsim::hw::trace::{Access, AccessSink, CountingSink};

use crate::{fuzz, seeds};

/// Text of an input (lossy: the parsers take `&str`).
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `f` on the input written to a file (for parsers that read paths).
fn via_file(dir: &Path, name: &str, b: &[u8], f: impl FnOnce(&Path)) {
    let p = dir.join(name);
    std::fs::write(&p, b).unwrap();
    f(&p);
}

#[test]
fn fuzz_npy() {
    let s = seeds("npy", &[]);
    fuzz("npy", &s, |b| {
        let _ = bitsim::workload::npy::parse(b);
    });
}

#[test]
fn fuzz_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeds("safetensors", &[]);
    fuzz("safetensors", &s, |b| {
        via_file(dir.path(), "t.safetensors", b, |p| {
            let _ = bitsim::workload::safetensors::load_tensors(p, &[]);
            let _ = bitsim::workload::safetensors::load(p, &["*".to_string()]);
        });
    });
}

#[test]
fn fuzz_din_trace() {
    let s = seeds("din", &[]);
    fuzz("din", &s, |b| {
        let mut sink = CountingSink::default();
        let _ = read_trace(TraceFormat::Din, Cursor::new(b), 8, &mut sink);
    });
}

#[test]
fn fuzz_bin_trace() {
    let mut w = BinWriter::new(Vec::new());
    for a in [
        Access::read(0x1000, 8),
        Access::read(u64::MAX - 7, 8),
        Access::read(64, 4096),
    ] {
        w.access(a);
    }
    let seed = w.finish().unwrap();
    fuzz("bin", &[seed], |b| {
        let mut sink = CountingSink::default();
        let _ = read_trace(TraceFormat::Bin, Cursor::new(b), 8, &mut sink);
    });
}

#[test]
fn fuzz_suite_toml() {
    let s = seeds(
        "suite",
        &["bench-suites/ci.toml", "bench-suites/default.toml"],
    );
    let names: Vec<String> = bitsim::variants::registry()
        .iter()
        .map(|v| v.name().to_string())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-suites");
    fuzz("suite", &s, |b| {
        let _ = bitsim::suite::spec::parse(&text(b), "fuzz.toml", &base, &names);
    });
}

#[test]
fn fuzz_energy_toml() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeds("energy", &["sims/energy-45nm.toml", "sims/energy-7nm.toml"]);
    fuzz("energy", &s, |b| {
        via_file(dir.path(), "e.toml", b, |p| {
            let _ = bitsim::hw::energy::EnergyTable::load(p.to_str().unwrap());
        });
    });
}

#[test]
fn fuzz_machine_toml() {
    let s = seeds("machine", &["sims/machine-zen5.toml"]);
    fuzz("machine", &s, |b| {
        let _ = bitsim::hw::roofline::Machine::parse(&text(b), "m.toml");
    });
}

#[test]
fn fuzz_hierarchy_toml() {
    let s = seeds(
        "hierarchy",
        &[
            "sims/cache-tiny.toml",
            "sims/cache-zen5.toml",
            "sims/cache-gpu-sm.toml",
        ],
    );
    fuzz("hierarchy", &s, |b| {
        let _ = bitsim::hw::cache::HierarchyConfig::from_toml("h.toml", &text(b));
    });
}

#[test]
fn fuzz_scenario_toml() {
    let s = seeds("scenario", &["sims/bitmod.toml", "sims/stripes.toml"]);
    fuzz("scenario", &s, |b| {
        let _ = bitsim::hw::accel::load_str("s.toml", &text(b));
    });
}

#[test]
fn fuzz_format_grammar() {
    let s = seeds("format", &[]);
    fuzz("format", &s, |b| {
        if let Ok(f) = bitsim::formats::parse(&text(b)) {
            // A parsed format prints a name that parses back to it.
            let again = bitsim::formats::parse(&f.to_string());
            assert_eq!(again.as_ref(), Ok(&f), "{f}");
        }
    });
}

#[test]
fn fuzz_accumulator_grammar() {
    let s = seeds("accum", &[]);
    fuzz("accum", &s, |b| {
        let _ = text(b).parse::<bitsim::arith::accum::AccumSpec>();
    });
}

#[test]
fn fuzz_size_grammar() {
    let mut s = seeds("size", &[]);
    s.extend(seeds("level", &[]));
    fuzz("size", &s, |b| {
        let t = text(b);
        let _ = bitsim::size::parse_size(&t);
        let _ = bitsim::size::parse_size_list(&t);
        let _ = bitsim::hw::cache::parse_level(&t);
    });
}

#[test]
fn fuzz_operands() {
    let mut s = seeds("decimal", &[]);
    s.extend(seeds("code", &[]));
    let e4m3 = bitsim::formats::parse::E4M3;
    fuzz("operands", &s, |b| {
        let t = text(b);
        if let Ok(d) = bitsim::formats::decimal::parse(&t) {
            let _ = e4m3.encode(d.value, &Default::default(), 0);
        }
        let _ = bitsim::cli::common::parse_uint(&t);
    });
}

#[test]
fn fuzz_results_json() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeds("results", &[]);
    fuzz("results", &s, |b| {
        via_file(dir.path(), "r.json", b, |p| {
            if let Ok(r) = bitsim::suite::files::read_results(p) {
                let gate = bitsim::report::compare::Gate::default();
                let _ = bitsim::report::compare::check_comparable(&r, &r, &gate);
                let c = bitsim::report::compare::compare(&r, &r, 5.0);
                let _ = c.render_text();
            }
        });
    });
}

#[test]
fn fuzz_model_config() {
    // The model's config.json (and the `--layer-variant L=V` grammar, whose
    // seed is in the same corpus folder).
    let s = seeds("model-config", &[]);
    fuzz("model-config", &s, |b| {
        let t = text(b);
        let _ = bitsim::model::Config::parse(&t);
        let _ = bitsim::model::LayerOverride::parse(&t);
    });
}

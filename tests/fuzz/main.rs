//! Mutation fuzzing of every parser a user can feed: `.npy`, `.safetensors`,
//! din and binary traces, suite / energy / machine / hierarchy / scenario
//! TOML, the format, accumulator and size grammars, decimal and code
//! operands, `results.json`, and the model's `config.json` with the
//! `--layer-variant` grammar.
//!
//! Each target starts from valid seed inputs (the committed corpus in
//! `tests/fuzz/corpus/<target>/` plus the repo's own data files) and feeds
//! the parser seeded random mutations of them (bit flips, interesting
//! bytes and numbers, insertions, deletions, duplications, splices) for a
//! time budget. The property is the house rule for bad input: the parser
//! returns `Ok` or `Err`, never panics, never aborts and never allocates
//! without bound (CI runs this binary under a memory limit).
//!
//! Coverage-guided fuzzing (cargo-fuzz) needs a nightly toolchain and
//! `cargo afl` an AFL++ build per run; blind mutation of valid seeds runs on
//! stable in the ordinary test harness, which is what CI has.
//!
//! `BITSIM_FUZZ_MS` sets each target's budget in milliseconds (default 300,
//! so the ordinary `cargo test` stays quick); `BITSIM_FUZZ_SEED` changes the
//! mutation seed. A failing input is saved to `target/fuzz-failures/` and
//! its file named in the panic message; each target prints its execution
//! count (`--nocapture` shows it).

#[path = "../seeded/mod.rs"]
mod seeded;

mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use seeded::Rng;

/// Numbers that tend to break size arithmetic and parsers.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "1e308",
    "1e309",
    "-1e309",
    "1e-400",
    "nan",
    "inf",
    "-inf",
    "0x7fffffff",
    "0xffffffffffffffff",
    "1e9",
    "0.5",
    "",
];

/// Bytes that tend to break binary parsers.
const BYTES: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'\n', b'"', b'[', b']', b'=', b',', b'.', b'e', b'-',
];

/// The per-target time budget.
pub fn budget() -> Duration {
    let ms = std::env::var("BITSIM_FUZZ_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    Duration::from_millis(ms)
}

/// The files of `tests/fuzz/corpus/<name>/` plus `extra` (paths relative to
/// the repository root). Panics when there is no seed: a target without
/// seeds would fuzz nothing and pass silently.
pub fn seeds(name: &str, extra: &[&str]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = extra.iter().map(|p| root.join(p)).collect();
    let dir = root.join("tests/fuzz/corpus").join(name);
    if let Ok(rd) = std::fs::read_dir(&dir) {
        let mut v: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
        v.sort();
        files.extend(v);
    }
    let seeds: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("seed {}: {e}", p.display())))
        .collect();
    assert!(!seeds.is_empty(), "fuzz target {name} has no seeds");
    seeds
}

/// One random mutation of `b` (`pool` supplies splices).
fn mutate_once(rng: &mut Rng, b: &mut Vec<u8>, pool: &[Vec<u8>]) {
    let pos = |rng: &mut Rng, len: usize| rng.below(len as u64 + 1) as usize;
    match rng.below(9) {
        0 if !b.is_empty() => {
            let i = pos(rng, b.len() - 1);
            b[i] ^= 1 << rng.below(8);
        }
        1 if !b.is_empty() => {
            let i = pos(rng, b.len() - 1);
            b[i] = BYTES[rng.below(BYTES.len() as u64) as usize];
        }
        2 => {
            let i = pos(rng, b.len());
            let n = 1 + rng.below(8) as usize;
            let ins: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            b.splice(i..i, ins);
        }
        3 if !b.is_empty() => {
            let i = pos(rng, b.len() - 1);
            let n = (1 + rng.below(16) as usize).min(b.len() - i);
            b.drain(i..i + n);
        }
        4 if !b.is_empty() => {
            // Duplicate a range (repeated keys, tables, records).
            let i = pos(rng, b.len() - 1);
            let n = (1 + rng.below(64) as usize).min(b.len() - i);
            let chunk = b[i..i + n].to_vec();
            let j = pos(rng, b.len());
            b.splice(j..j, chunk);
        }
        5 => {
            // Replace a run of digits (or insert) with an interesting number.
            let num = NUMBERS[rng.below(NUMBERS.len() as u64) as usize].as_bytes();
            let digits: Vec<usize> = (0..b.len()).filter(|&i| b[i].is_ascii_digit()).collect();
            if digits.is_empty() {
                let i = pos(rng, b.len());
                b.splice(i..i, num.iter().copied());
            } else {
                let s = digits[rng.below(digits.len() as u64) as usize];
                let mut e = s;
                while e < b.len() && (b[e].is_ascii_digit() || b[e] == b'.') {
                    e += 1;
                }
                b.splice(s..e, num.iter().copied());
            }
        }
        6 if !pool.is_empty() => {
            // Splice a piece of another seed in.
            let o = &pool[rng.below(pool.len() as u64) as usize];
            if !o.is_empty() {
                let s = pos(rng, o.len() - 1);
                let n = (1 + rng.below(64) as usize).min(o.len() - s);
                let i = pos(rng, b.len());
                b.splice(i..i, o[s..s + n].iter().copied());
            }
        }
        7 if b.len() > 1 => {
            let n = pos(rng, b.len() - 1);
            b.truncate(n);
        }
        _ if b.len() >= 8 => {
            // Overwrite 1, 2, 4 or 8 bytes with an extreme little-endian integer.
            let w = 1usize << rng.below(4);
            let i = pos(rng, b.len() - w);
            let v: u64 = match rng.below(4) {
                0 => u64::MAX,
                1 => 1 << (rng.below(64)),
                2 => (1u64 << (8 * w as u32 - 1).min(63)) - 1,
                _ => rng.next(),
            };
            b[i..i + w].copy_from_slice(&v.to_le_bytes()[..w]);
        }
        _ => {}
    }
}

/// Runs `target` on every seed, then on mutations for the time budget;
/// prints the execution count. A panic fails the test with the input saved.
pub fn fuzz(name: &str, seeds: &[Vec<u8>], target: impl Fn(&[u8])) {
    let base: u64 = std::env::var("BITSIM_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut rng = Rng(name.bytes().fold(base ^ 0xf022, |h, c| {
        h.wrapping_mul(0x100_0000_01b3) ^ u64::from(c)
    }));
    let run = |input: &[u8]| {
        if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{name}-{:016x}", seeded_hash(input)));
            let _ = std::fs::write(&file, input);
            panic!(
                "fuzz target {name} panicked; input saved to {}",
                file.display()
            );
        }
    };
    for s in seeds {
        run(s);
    }
    let (start, budget) = (Instant::now(), budget());
    let mut execs = seeds.len() as u64;
    while start.elapsed() < budget {
        let mut b = seeds[rng.below(seeds.len() as u64) as usize].clone();
        for _ in 0..1 + rng.below(6) {
            mutate_once(&mut rng, &mut b, seeds);
        }
        run(&b);
        execs += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz {name}: {execs} executions in {secs:.1} s ({:.0}/s), no panic",
        execs as f64 / secs.max(1e-9)
    );
}

fn seeded_hash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &c| {
        (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3)
    })
}

//! `bitsim cachesim`: hand-computed statistics through the CLI, CSV columns,
//! OPT, trace dumps, and one-line errors for every bad input.

use crate::cli_support;

use std::collections::HashSet;
use std::fs;

use cli_support::{assert_error, bitsim, listing, ok, put};

const CSV_HEADER: &str = "level,accesses,hits,misses,evictions,writebacks,bytes_in,bytes_out";

/// Direct-mapped, 4 sets of 16-byte lines: reads of lines 0, 4 (conflict),
/// 0 (conflict), a write of line 1 and a read of it again.
const DM_TRACE: &str = "0 0\n0 40\n0 0\n1 10\n0 14\n";

#[test]
fn csv_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let t = put(dir.path(), "t.din", DM_TRACE.as_bytes());
    let t = t.to_str().unwrap();
    let out = ok(&[
        "cachesim",
        "--level",
        "L1:64:1:16:lru",
        "--trace",
        t,
        "--csv",
    ]);
    assert_eq!(out, format!("{CSV_HEADER}\nL1,5,1,4,2,0,64,0\n"));
    // --flush writes the dirty line 1 back.
    let out = ok(&[
        "cachesim",
        "--level",
        "L1:64:1:16:lru",
        "--trace",
        t,
        "--csv",
        "--flush",
    ]);
    assert_eq!(out, format!("{CSV_HEADER}\nL1,5,1,4,2,1,64,16\n"));
    // Two levels: L2 (fully associative, 4 lines) sees the 4 fills (lines 0, 4, 0, 1).
    let out = ok(&[
        "cachesim",
        "--level",
        "L1:64:1:16:lru",
        "--level",
        "L2:64:full:16:lru",
        "--trace",
        t,
        "--csv",
    ]);
    assert_eq!(
        out,
        format!("{CSV_HEADER}\nL1,5,1,4,2,0,64,0\nL2,4,1,3,0,0,48,0\n")
    );
}

#[test]
fn table_output() {
    let dir = tempfile::tempdir().unwrap();
    let t = put(dir.path(), "t.din", DM_TRACE.as_bytes());
    let out = ok(&[
        "cachesim",
        "--hierarchy",
        "cache-tiny",
        "--trace",
        t.to_str().unwrap(),
    ]);
    assert!(out.starts_with("hierarchy tiny: 5 accesses"), "{out}");
    let header = out.lines().nth(1).unwrap();
    for col in [
        "level",
        "hits",
        "misses",
        "hit rate",
        "bytes in",
        "bytes out",
    ] {
        assert!(header.contains(col), "{header}");
    }
    // Tiny L1 (8 sets, 2 ways): lines 0 and 4 fit together: 2 hits of 5.
    let l1 = out.lines().nth(2).unwrap();
    assert!(l1.starts_with("L1 ") && l1.contains("40.00%"), "{l1}");
    assert!(out.contains("memory: 48 bytes read"), "{out}");
}

#[test]
fn hierarchy_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let t = put(dir.path(), "t.din", DM_TRACE.as_bytes());
    let h = put(
        dir.path(),
        "h.toml",
        b"name = \"dm\"\n[[level]]\nname = \"only\"\nsize = 64\nways = 1\nline = 16\npolicy = \"fifo\"\n",
    );
    let out = ok(&[
        "cachesim",
        "--hierarchy",
        h.to_str().unwrap(),
        "--trace",
        t.to_str().unwrap(),
        "--csv",
    ]);
    assert_eq!(out, format!("{CSV_HEADER}\nonly,5,1,4,2,0,64,0\n"));
}

#[test]
fn opt_lru_fifo_textbook() {
    // 3 frames, reference string of Silberschatz et al.: OPT 9, LRU 12, FIFO 15 faults.
    let pages = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
    let text: String = pages.iter().map(|p| format!("0 {:x}\n", p * 16)).collect();
    let dir = tempfile::tempdir().unwrap();
    let t = put(dir.path(), "t.din", text.as_bytes());
    let t = t.to_str().unwrap();
    let misses = |policy: &str| {
        let out = ok(&[
            "cachesim",
            "--level",
            "M:48:full:16:lru",
            "--policy",
            policy,
            "--trace",
            t,
            "--access-size",
            "1",
            "--csv",
        ]);
        let row = out.lines().nth(1).unwrap().to_string();
        row.split(',').nth(3).unwrap().parse::<u64>().unwrap()
    };
    assert_eq!(misses("opt"), 9);
    assert_eq!(misses("lru"), 12);
    assert_eq!(misses("fifo"), 15);
}

#[test]
fn dump_trace_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let t = put(dir.path(), "t.din", b"0 0\n1 0x3c extra\n2 100\n");
    let t = t.to_str().unwrap();
    let bin = dir.path().join("d.bstrace");
    let din = dir.path().join("d.din");
    let args = |dump: &str| {
        ok(&[
            "cachesim",
            "--level",
            "L1:64:1:16:lru",
            "--trace",
            t,
            "--access-size",
            "8",
            "--dump-trace",
            dump,
            "--csv",
        ])
    };
    let direct = args(bin.to_str().unwrap());
    args(din.to_str().unwrap());
    // The din dump, written by hand: labels and hex addresses.
    assert_eq!(fs::read_to_string(&din).unwrap(), "0 0\n1 3c\n2 100\n");
    // The binary dump: header and 16-byte records, replayed to the same stats.
    let b = fs::read(&bin).unwrap();
    assert_eq!(&b[..8], b"BSTRACE\0");
    assert_eq!(b.len(), 16 + 3 * 16);
    assert_eq!(
        &b[32..48],
        &[0x3c, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0]
    );
    let replay = ok(&[
        "cachesim",
        "--level",
        "L1:64:1:16:lru",
        "--trace",
        bin.to_str().unwrap(),
        "--csv",
    ]);
    assert_eq!(replay, direct);
    // 0x3c..0x43 straddles lines 3 and 4 (both dirty); 0x100 evicts line 4.
    assert_eq!(direct, format!("{CSV_HEADER}\nL1,4,0,4,2,1,64,16\n"));
}

#[test]
fn errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let t = put(dir.path(), "t.din", DM_TRACE.as_bytes());
    let t = t.to_str().unwrap();
    let bad = put(dir.path(), "bad.din", b"0 0\n0 10\n7 20\n");
    let bad = bad.to_str().unwrap();
    let l1 = "L1:64:1:16:lru";
    let run = |a: &[&str]| {
        let mut v = vec!["cachesim"];
        v.extend_from_slice(a);
        bitsim(&v)
    };
    assert_error(&run(&["--trace", t]), "cachesim", "--hierarchy");
    assert_error(&run(&["--level", l1]), "cachesim", "--trace");
    assert_error(
        &run(&["--level", l1, "--hierarchy", "cache-tiny", "--trace", t]),
        "--hierarchy",
        "not both",
    );
    assert_error(
        &run(&["--level", "L1:64:3:16:lru", "--trace", t]),
        "--level L1:64:3:16:lru",
        "multiple",
    );
    assert_error(
        &run(&["--level", "L1:64:1:16:mru", "--trace", t]),
        "--level",
        "unknown policy",
    );
    assert_error(
        &run(&["--level", "L1:64:1:16", "--trace", t]),
        "--level",
        "NAME:SIZE",
    );
    assert_error(
        &run(&["--level", l1, "--trace", bad]),
        bad,
        "line 3: unknown label '7'",
    );
    let missing = dir.path().join("none.din");
    assert_error(
        &run(&["--level", l1, "--trace", missing.to_str().unwrap()]),
        "none.din",
        "",
    );
    assert_error(
        &run(&["--level", l1, "--trace", t, "--trace-format", "csv"]),
        "--trace-format csv",
        "din or bin",
    );
    assert_error(
        &run(&["--level", l1, "--trace", t, "--access-size", "0"]),
        "--access-size 0",
        "positive",
    );
    assert_error(
        &run(&[
            "--level",
            l1,
            "--level",
            "L2:256:full:16:lru",
            "--trace",
            t,
            "--policy",
            "opt",
        ]),
        "--policy opt",
        "one level",
    );
    assert_error(
        &run(&["--level", l1, "--trace", t, "--policy", "best"]),
        "--policy best",
        "unknown policy",
    );
    assert_error(
        &run(&["--level", l1, "--level", "L2:256:full:8:lru", "--trace", t]),
        "cachesim",
        "smaller than the line",
    );
    let h = put(dir.path(), "h.toml", b"name = \"x\"\n[[level]]\nname = \"a\"\nsize = \"1KiB\"\nways = 4\nline = 64\npolicy = \"lru\"\nspeed = 3\n");
    assert_error(
        &run(&["--hierarchy", h.to_str().unwrap(), "--trace", t]),
        "h.toml line 8",
        "speed",
    );
    assert_error(
        &run(&["--hierarchy", "cache-nope", "--trace", t]),
        "cache-nope",
        "built-in",
    );
    assert_error(
        &run(&["--level", l1, "--trace", t, "--variant", "matmul/naive"]),
        "--trace",
        "not both",
    );
    assert_error(
        &run(&["--level", l1, "--variant", "matmul/naive", "--m", "x"]),
        "--m x",
        "integer",
    );
    // A generator error names the variant (its text is the generator's).
    let o = run(&["--level", l1, "--variant", "matmul/nope"]);
    assert_error(&o, "--variant matmul/nope", "unknown generator");
    assert!(!String::from_utf8_lossy(&o.stderr).contains("--variant matmul/nope: --variant"));
}

#[test]
fn failed_runs_leave_no_dump() {
    let dir = tempfile::tempdir().unwrap();
    let bad = put(dir.path(), "bad.din", b"0 0\n0 zz\n");
    let dump = dir.path().join("out.din");
    let o = bitsim(&[
        "cachesim",
        "--level",
        "L1:64:1:16:lru",
        "--trace",
        bad.to_str().unwrap(),
        "--dump-trace",
        dump.to_str().unwrap(),
    ]);
    assert_error(&o, "bad.din", "line 2");
    assert_eq!(listing(dir.path()), vec!["bad.din"]);
    // An unwritable dump location is an error naming it.
    let t = put(dir.path(), "t.din", DM_TRACE.as_bytes());
    let nowhere = dir.path().join("no/such/dir/out.din");
    let o = bitsim(&[
        "cachesim",
        "--level",
        "L1:64:1:16:lru",
        "--trace",
        t.to_str().unwrap(),
        "--dump-trace",
        nowhere.to_str().unwrap(),
    ]);
    assert_error(&o, "out.din", "cannot");
}

#[test]
fn naive_matmul_fitting_in_cache_misses_once_per_line() {
    // 8×8×8 f32 matmul, 3 × 256 bytes: in a 64 KiB fully associative cache
    // only compulsory misses remain, one per distinct 64-byte line: 12 when
    // the arrays are line-aligned, at most 3 more otherwise.
    let dir = tempfile::tempdir().unwrap();
    // Binary: the generator's accesses have two sizes, which din cannot keep.
    let dump = dir.path().join("mm.bin");
    let out = ok(&[
        "cachesim",
        "--level",
        "L1:64KiB:full:64:lru",
        "--variant",
        "matmul/naive",
        "--m",
        "8",
        "--n",
        "8",
        "--k",
        "8",
        "--dump-trace",
        dump.to_str().unwrap(),
        "--csv",
    ]);
    let row: Vec<u64> = out
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    let misses = row[2];
    assert!((12..=15).contains(&misses), "{out}");
    // Independently: distinct 64-byte lines of the dumped trace's 16-byte
    // records (address, size), each access covering addr..addr + size.
    let bytes = fs::read(&dump).unwrap();
    let lines: HashSet<u64> = bytes[16..]
        .chunks(16)
        .flat_map(|r| {
            let a = u64::from_le_bytes(r[..8].try_into().unwrap());
            let size = u32::from_le_bytes(r[8..12].try_into().unwrap()) as u64;
            a / 64..=(a + size - 1) / 64
        })
        .collect();
    assert_eq!(misses, lines.len() as u64);
    // Accesses are hits plus misses, and every line is touched at least once.
    assert_eq!(row[0], row[1] + row[2], "{out}");
    assert!(row[0] >= lines.len() as u64, "{out}");
}

#[test]
fn huge_accesses_and_caches_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = put(dir.path(), "t.din", b"0 100\n");
    let o = bitsim(&[
        "cachesim",
        "--level",
        "L1:64:1:16:lru",
        "--trace",
        t.to_str().unwrap(),
        "--access-size",
        "4294967295",
    ]);
    assert_error(&o, "--access-size 4294967295", "4096");
    let o = bitsim(&[
        "cachesim",
        "--level",
        "L1:64GiB:1:4:lru",
        "--trace",
        t.to_str().unwrap(),
    ]);
    assert_error(&o, "L1", "too many");
}

#[test]
fn generator_and_its_old_name_variant_agree() {
    let level = "L1:4KiB:4:64:lru";
    let new = ok(&[
        "cachesim",
        "--level",
        level,
        "--generator",
        "attention/flash",
        "--n",
        "64",
        "--d",
        "32",
    ]);
    let old = ok(&[
        "cachesim",
        "--level",
        level,
        "--variant",
        "attention/flash",
        "--n",
        "64",
        "--d",
        "32",
    ]);
    assert_eq!(new, old);
    // The first line keeps its wording whichever flag named the generator.
    assert!(new.starts_with("hierarchy inline: "), "{new}");
    assert!(new
        .lines()
        .next()
        .unwrap()
        .ends_with("from variant attention/flash"));
    let o = bitsim(&["cachesim", "--level", level, "--generator", "matmul/nope"]);
    assert_error(&o, "--generator matmul/nope", "unknown generator");
    let o = bitsim(&[
        "cachesim",
        "--level",
        level,
        "--generator",
        "matmul/tiled",
        "--m",
        "0",
    ]);
    assert_error(&o, "--generator matmul/tiled", "--m must be at least 1");
    // A bad format is named by its own flag.
    let o = bitsim(&[
        "cachesim",
        "--level",
        level,
        "--generator",
        "matmul/tiled",
        "--format",
        "e9m9",
    ]);
    assert_error(&o, "--format e9m9", "e9m9");
}

#[test]
fn inclusion_flag_and_key() {
    let dir = tempfile::tempdir().unwrap();
    // The documented example: A, B, A, C through a 2-line fully associative
    // L1 and a 2-line direct-mapped L2.
    let t = put(dir.path(), "t.din", b"0 0\n0 80\n0 0\n0 40\n");
    let t = t.to_str().unwrap();
    let run = |inc: &str| {
        ok(&[
            "cachesim",
            "--level",
            "L1:128:full:64:lru",
            "--level",
            "L2:128:1:64:lru",
            "--trace",
            t,
            "--csv",
            "--inclusion",
            inc,
        ])
    };
    assert_eq!(
        run("inclusive"),
        format!("{CSV_HEADER}\nL1,4,0,4,2,0,256,0\nL2,4,0,4,2,0,256,0\n")
    );
    assert_eq!(
        run("nine"),
        format!("{CSV_HEADER}\nL1,4,1,3,1,0,192,0\nL2,3,0,3,1,0,192,0\n")
    );
    assert_eq!(
        run("exclusive"),
        format!("{CSV_HEADER}\nL1,4,1,3,1,0,192,64\nL2,3,0,3,0,0,192,0\n")
    );
    // The table names a policy other than the default; --reference agrees.
    let table = ok(&[
        "cachesim",
        "--level",
        "L1:128:full:64:lru",
        "--level",
        "L2:128:1:64:lru",
        "--trace",
        t,
        "--inclusion",
        "nine",
    ]);
    assert!(
        table.starts_with("hierarchy inline (nine): 4 accesses"),
        "{table}"
    );
    let reference = ok(&[
        "cachesim",
        "--level",
        "L1:128:full:64:lru",
        "--level",
        "L2:128:1:64:lru",
        "--trace",
        t,
        "--inclusion",
        "nine",
        "--reference",
    ]);
    assert_eq!(reference, table);
    // A file's key, overridden by the flag.
    let h = put(
        dir.path(),
        "h.toml",
        b"name = \"h\"\ninclusion = \"exclusive\"\n[[level]]\nname = \"L1\"\nsize = 128\nways = 0\nline = 64\npolicy = \"lru\"\n\
          [[level]]\nname = \"L2\"\nsize = 128\nways = 1\nline = 64\npolicy = \"lru\"\n",
    );
    let h = h.to_str().unwrap();
    let out = ok(&["cachesim", "--hierarchy", h, "--trace", t, "--csv"]);
    assert_eq!(out, run("exclusive"));
    let out = ok(&[
        "cachesim",
        "--hierarchy",
        h,
        "--trace",
        t,
        "--csv",
        "--inclusion",
        "nine",
    ]);
    assert_eq!(out, run("nine"));
    let o = bitsim(&[
        "cachesim",
        "--hierarchy",
        h,
        "--trace",
        t,
        "--inclusion",
        "mostly",
    ]);
    assert_error(
        &o,
        "--inclusion mostly",
        "expected inclusive, nine or exclusive",
    );
    // Exclusive needs one line size.
    let o = bitsim(&[
        "cachesim",
        "--level",
        "L1:128:full:64:lru",
        "--level",
        "L2:256:1:128:lru",
        "--trace",
        t,
        "--inclusion",
        "exclusive",
    ]);
    assert_error(&o, "cachesim", "one line size");
}

#[test]
fn din_dumps_refuse_mixed_sizes_and_name_the_size() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("d.din");
    // The naive matmul generator reads 16-byte vectors and 4-byte elements.
    let args = |gen: &str| {
        bitsim(&[
            "cachesim",
            "--level",
            "L1:1KiB:2:64:lru",
            "--generator",
            gen,
            "--m",
            "4",
            "--n",
            "4",
            "--k",
            "4",
            "--dump-trace",
            dump.to_str().unwrap(),
        ])
    };
    let o = args("matmul/naive");
    assert_error(&o, "d.din", "din has no size field");
    assert!(!dump.exists(), "a refused dump leaves no file");
    // A binary dump keeps the sizes.
    let bin = dir.path().join("d.bin");
    ok(&[
        "cachesim",
        "--level",
        "L1:1KiB:2:64:lru",
        "--generator",
        "matmul/naive",
        "--m",
        "4",
        "--n",
        "4",
        "--k",
        "4",
        "--dump-trace",
        bin.to_str().unwrap(),
    ]);
    // A trace of one size is written, and the output says which size to replay with.
    let t = put(dir.path(), "t.din", b"0 0\n1 40\n");
    let out = ok(&[
        "cachesim",
        "--level",
        "L1:1KiB:2:64:lru",
        "--trace",
        t.to_str().unwrap(),
        "--access-size",
        "2",
        "--dump-trace",
        dump.to_str().unwrap(),
    ]);
    assert!(
        out.contains("every access was 2 bytes (replay with --access-size 2)"),
        "{out}"
    );
    assert_eq!(fs::read_to_string(&dump).unwrap(), "0 0\n1 40\n");
}

#[test]
fn simulated_work_and_din_lines_are_bounded() {
    // 2048^3 = 8.6e9 loop iterations: under the closed forms' 2^40, over the
    // simulator's 2^32.
    let o = bitsim(&[
        "cachesim",
        "--level",
        "L1:1KiB:2:64:lru",
        "--generator",
        "matmul/naive",
        "--m",
        "2048",
        "--n",
        "2048",
        "--k",
        "2048",
    ]);
    assert_error(&o, "--generator matmul/naive", "2^32");
    let dir = tempfile::tempdir().unwrap();
    let mut long = b"0 0\n0 ".to_vec();
    long.extend(std::iter::repeat_n(b'1', 100_000));
    let t = put(dir.path(), "long.din", &long);
    let o = bitsim(&[
        "cachesim",
        "--level",
        "L1:1KiB:2:64:lru",
        "--trace",
        t.to_str().unwrap(),
    ]);
    assert_error(&o, "long.din", "line 2: longer than 65536 bytes");
}

#[test]
fn zero_fast_bytes_and_an_inclusive_level_below_a_bigger_one_are_refused() {
    // Both used to be accepted silently.
    let o = bitsim(&[
        "cachesim",
        "--generator",
        "matmul/tiled",
        "--level",
        "L1:32KiB:8:64:lru",
        "--fast-bytes",
        "0",
    ]);
    assert_error(&o, "--fast-bytes 0", "positive");
    let levels = [
        "cachesim",
        "--generator",
        "matmul/naive",
        "--level",
        "L1:32KiB:8:64:lru",
        "--level",
        "L2:16KiB:8:64:lru",
    ];
    assert_error(&bitsim(&levels), "L2", "smaller than the level above");
    // A smaller non-inclusive or exclusive level is a victim cache: allowed.
    for inc in ["nine", "exclusive"] {
        let mut a = levels.to_vec();
        a.extend(["--inclusion", inc]);
        ok(&a);
    }
}

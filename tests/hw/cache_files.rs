//! Cache simulator inputs: trace files (din and binary, round trips, hand-
//! written files, bad lines and records) and hierarchy TOML files (the
//! shipped ones, and every rejected mistake naming file, line and key).

use crate::seeded;

use bitsim::hw::cache::tracefile::{
    read_bin, read_din, read_din_reference, read_trace, read_trace_threaded, BinWriter, DinWriter,
    TraceError, TraceFormat, MAX_ACCESS_BYTES, MAX_DIN_LINE,
};
use bitsim::hw::cache::{HierarchyConfig, Policy, WritePolicy};
use bitsim::hw::trace::{Access, AccessKind};
use seeded::Rng;

fn kind(k: u64) -> AccessKind {
    [AccessKind::Read, AccessKind::Write, AccessKind::Fetch][k as usize]
}

fn random_accesses(rng: &mut Rng, n: usize, size: Option<u32>) -> Vec<Access> {
    let mut v: Vec<Access> = (0..n)
        .map(|_| Access {
            addr: rng.next() >> rng.below(64),
            size: size.unwrap_or_else(|| (rng.u32() >> rng.below(32)) % (MAX_ACCESS_BYTES + 1)),
            kind: kind(rng.below(3)),
        })
        .collect();
    // Edge addresses and sizes.
    for (addr, s) in [(0, 0), (u64::MAX, MAX_ACCESS_BYTES), (1 << 63, 1)] {
        v.push(Access {
            addr,
            size: size.unwrap_or(s),
            kind: AccessKind::Write,
        });
    }
    v
}

#[test]
fn din_round_trip() {
    let mut rng = Rng(1);
    for access_size in [1, 8, 64] {
        let acc = random_accesses(&mut rng, 5000, Some(access_size));
        let mut w = DinWriter::new(Vec::new());
        for &a in &acc {
            bitsim::hw::trace::AccessSink::access(&mut w, a);
        }
        let bytes = w.finish().unwrap();
        let mut back: Vec<Access> = Vec::new();
        let n = read_din(&bytes[..], access_size, &mut back).unwrap();
        assert_eq!(n, acc.len() as u64);
        assert_eq!(back, acc);
    }
}

#[test]
fn bin_round_trip() {
    let acc = random_accesses(&mut Rng(2), 20000, None);
    let mut w = BinWriter::new(Vec::new());
    for &a in &acc {
        bitsim::hw::trace::AccessSink::access(&mut w, a);
    }
    let bytes = w.finish().unwrap();
    assert_eq!(bytes.len(), 16 + 16 * acc.len());
    let mut back: Vec<Access> = Vec::new();
    assert_eq!(read_bin(&bytes[..], &mut back).unwrap(), acc.len() as u64);
    assert_eq!(back, acc);
    // A record larger than the largest access is an error naming it.
    let mut big = bytes[..16 + 16 * 3].to_vec();
    big[16 + 16 * 2 + 8..16 + 16 * 2 + 12].copy_from_slice(&(MAX_ACCESS_BYTES + 1).to_le_bytes());
    let e = read_bin(&big[..], &mut Vec::new()).unwrap_err().to_string();
    assert!(e.contains('3') && e.contains("larger than"), "{e}");
    // An empty trace is a header alone.
    let empty = BinWriter::new(Vec::new()).finish().unwrap();
    assert_eq!(empty.len(), 16);
    let mut back: Vec<Access> = Vec::new();
    assert_eq!(read_bin(&empty[..], &mut back).unwrap(), 0);
}

#[test]
fn din_by_hand() {
    let text = "0 0\n1 0x1F\n\n2 ABCDEF trailing fields 1 2 3\n  0\t10   \n1 ffffffffffffffff\r\n";
    let mut got: Vec<Access> = Vec::new();
    assert_eq!(read_din(text.as_bytes(), 4, &mut got).unwrap(), 5);
    let a = |addr, k| Access {
        addr,
        size: 4,
        kind: k,
    };
    assert_eq!(
        got,
        vec![
            a(0, AccessKind::Read),
            a(0x1f, AccessKind::Write),
            a(0xabcdef, AccessKind::Fetch),
            a(0x10, AccessKind::Read),
            a(u64::MAX, AccessKind::Write),
        ]
    );
}

#[test]
fn bin_by_hand() {
    let mut b = b"BSTRACE\0".to_vec();
    b.extend_from_slice(&[1, 0, 0, 0, 16, 0, 0, 0]);
    b.extend_from_slice(&[0x10, 0x32, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0]);
    b.extend_from_slice(&[0xff; 8]);
    b.extend_from_slice(&[0, 1, 0, 0, 2, 0, 0, 0]);
    let mut got: Vec<Access> = Vec::new();
    read_trace(TraceFormat::Bin, &b[..], 99, &mut got).unwrap();
    assert_eq!(
        got,
        vec![
            Access {
                addr: 0x3210,
                size: 8,
                kind: AccessKind::Write
            },
            Access {
                addr: u64::MAX,
                size: 256,
                kind: AccessKind::Fetch
            },
        ]
    );
}

fn din_error(text: &str) -> TraceError {
    let mut sink: Vec<Access> = Vec::new();
    read_din(text.as_bytes(), 8, &mut sink).unwrap_err()
}

#[test]
fn bad_din_lines_are_named() {
    let cases = [
        ("0 0\n3 10\n", 2, "label"),
        ("0 0\n\n0 0\n4 10\n", 4, "label"),
        ("x 10\n", 1, "label"),
        ("0 0\n1\n", 2, "missing address"),
        ("0 0\n0 0\n0 zz\n", 3, "address"),
        ("0 -10\n", 1, "address"),
        ("0 +10\n", 1, "address"),
        ("0 10000000000000000\n", 1, "address"),
        ("0 0x\n", 1, "address"),
    ];
    for (text, line, what) in cases {
        match din_error(text) {
            TraceError::Line(n, m) => {
                assert_eq!(n, line, "{text:?}: {m}");
                assert!(m.contains(what), "{text:?}: {m}");
            }
            e => panic!("{text:?}: {e:?}"),
        }
    }
    assert_eq!(
        din_error("0 0\n0 zz\n").to_string().split(':').next(),
        Some("line 2")
    );
}

#[test]
fn bad_bin_records_are_named() {
    let good = {
        let mut w = BinWriter::new(Vec::new());
        for i in 0..3 {
            bitsim::hw::trace::AccessSink::access(&mut w, Access::read(i * 64, 8));
        }
        w.finish().unwrap()
    };
    let err = |b: &[u8]| {
        let mut sink: Vec<Access> = Vec::new();
        read_bin(b, &mut sink).unwrap_err()
    };
    // Truncated third record.
    let e = err(&good[..good.len() - 5]);
    assert!(
        matches!(&e, TraceError::Record(3, m) if m.contains("truncated")),
        "{e:?}"
    );
    // Unknown kind in record 2.
    let mut b = good.clone();
    b[16 + 16 + 12] = 7;
    assert!(matches!(err(&b), TraceError::Record(2, m) if m.contains("kind")));
    // Reserved bytes of record 1.
    let mut b = good.clone();
    b[16 + 15] = 1;
    assert!(matches!(err(&b), TraceError::Record(1, m) if m.contains("reserved")));
    // Header: magic, version, record size, empty file.
    let mut b = good.clone();
    b[0] = b'X';
    assert!(matches!(err(&b), TraceError::Record(0, m) if m.contains("BSTRACE")));
    let mut b = good.clone();
    b[8] = 2;
    assert!(matches!(err(&b), TraceError::Record(0, m) if m.contains("version 2")));
    let mut b = good.clone();
    b[12] = 12;
    assert!(matches!(err(&b), TraceError::Record(0, m) if m.contains("record size 12")));
    assert!(err(&[]).to_string().starts_with("header:"));
}

#[test]
fn format_names_and_extensions() {
    assert_eq!("din".parse::<TraceFormat>(), Ok(TraceFormat::Din));
    assert_eq!("BIN".parse::<TraceFormat>(), Ok(TraceFormat::Bin));
    assert!("csv".parse::<TraceFormat>().is_err());
    let p = |s: &str| TraceFormat::from_path(std::path::Path::new(s));
    assert_eq!(p("a.bstrace"), TraceFormat::Bin);
    assert_eq!(p("a.bin"), TraceFormat::Bin);
    assert_eq!(p("a.din"), TraceFormat::Din);
    assert_eq!(p("trace"), TraceFormat::Din);
}

#[test]
fn shipped_hierarchies() {
    let zen5 = HierarchyConfig::load("cache-zen5").unwrap();
    let geo: Vec<(u64, u32, u32)> = zen5
        .levels
        .iter()
        .map(|l| (l.size, l.ways, l.line))
        .collect();
    assert_eq!(
        geo,
        vec![(48 << 10, 12, 64), (1 << 20, 16, 64), (32 << 20, 16, 64)]
    );
    assert!(zen5
        .levels
        .iter()
        .all(|l| l.policy == Policy::Lru && l.write == WritePolicy::WriteBack));
    assert_eq!(zen5.levels[0].sets(), 64);
    let gpu = HierarchyConfig::load("cache-gpu-sm").unwrap();
    assert_eq!(gpu.levels.len(), 2);
    assert_eq!((gpu.levels[0].size, gpu.levels[0].ways), (228 << 10, 0));
    assert_eq!(gpu.levels[1].sets(), 16384);
    let tiny = HierarchyConfig::load("cache-tiny").unwrap();
    assert_eq!(
        tiny.levels.iter().map(|l| l.size).collect::<Vec<_>>(),
        vec![256, 1024]
    );
    // The files in sims/ are the built-ins.
    let dir = env!("CARGO_MANIFEST_DIR");
    for name in ["cache-zen5", "cache-gpu-sm", "cache-tiny"] {
        let by_path = HierarchyConfig::load(&format!("{dir}/sims/{name}.toml")).unwrap();
        assert_eq!(by_path, HierarchyConfig::load(name).unwrap());
    }
}

const GOOD_LEVEL: &str =
    "[[level]]\nname = \"L1\"\nsize = \"1KiB\"\nways = 4\nline = 64\npolicy = \"lru\"\n";

/// The error for `text` loaded as `bad.toml`, which must name the file, the
/// line and every word in `words`.
fn file_error(text: &str, line: usize, words: &[&str]) {
    let e = HierarchyConfig::from_toml("bad.toml", text).unwrap_err();
    assert!(
        e.starts_with(&format!("bad.toml line {line}: ")),
        "{text:?}: {e}"
    );
    for w in words {
        assert!(e.contains(w), "{w:?} not in {e:?}");
    }
    assert!(!e.contains('\n'), "one line: {e:?}");
}

#[test]
fn good_file_parses() {
    let text = format!(
        "name = \"t\"\n{GOOD_LEVEL}[[level]]\nname = \"L2\"\nsize = 8192\nways = \"full\"\nline = 64\npolicy = \"random\"\nseed = 5\nwrite = \"write-through\"\n"
    );
    let h = HierarchyConfig::from_toml("t.toml", &text).unwrap();
    assert_eq!(h.name, "t");
    assert_eq!(h.levels[0].size, 1024);
    assert_eq!(h.levels[1].ways, 0);
    assert_eq!(h.levels[1].policy, Policy::Random { seed: 5 });
    assert_eq!(h.levels[1].write, WritePolicy::WriteThrough);
}

#[test]
fn bad_files_name_file_line_and_key() {
    let head = "name = \"t\"\n";
    let with = |key: &str, value: &str| {
        let body = GOOD_LEVEL
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{key} ")) {
                    format!("{key} = {value}")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        format!("{head}{body}\n")
    };
    // Lines: 1 name, 2 [[level]], 3 name, 4 size, 5 ways, 6 line, 7 policy.
    file_error(
        &with("size", "\"3KiB\""),
        5,
        &["ways", "set count", "12", "power of two"],
    );
    file_error(&with("line", "2048"), 6, &["line", "larger than the cache"]);
    file_error(&with("size", "1000"), 4, &["size", "multiple"]);
    file_error(&with("policy", "\"mru\""), 7, &["policy", "mru"]);
    file_error(
        &format!(
            "{head}[[level]]\nname = \"L1\"\nsize = 768\nways = 3\nline = 64\npolicy = \"plru\"\n"
        ),
        7,
        &["policy", "plru", "3"],
    );
    file_error(&with("line", "48"), 6, &["line", "power of two"]);
    file_error(&with("size", "\"1.5KiB\""), 4, &["size", "1.5KiB"]);
    file_error(&with("ways", "\"many\""), 5, &["ways", "many"]);
    // Missing and unknown keys.
    let missing = format!("{head}[[level]]\nname = \"L1\"\nsize = 1024\nways = 4\nline = 64\n");
    file_error(&missing, 2, &["policy"]);
    file_error(&format!("{head}{GOOD_LEVEL}color = 3\n"), 8, &["color"]);
    file_error(&format!("description = \"x\"\n{GOOD_LEVEL}"), 1, &["name"]);
    file_error(
        &format!("{head}{GOOD_LEVEL}seed = 3\n"),
        8,
        &["seed", "random"],
    );
    file_error(
        &format!("{head}{GOOD_LEVEL}write = \"sometimes\"\n"),
        8,
        &["write", "sometimes"],
    );
    // Cross-level rules: a second L1, a line smaller than the level above.
    file_error(
        &format!("{head}{GOOD_LEVEL}{GOOD_LEVEL}"),
        8,
        &["L1", "twice"],
    );
    let l2 = "[[level]]\nname = \"L2\"\nsize = 4096\nways = 4\nline = 32\npolicy = \"lru\"\n";
    file_error(
        &format!("{head}{GOOD_LEVEL}{l2}"),
        12,
        &["L2", "line", "smaller"],
    );
    // No level at all; a syntax error.
    let e = HierarchyConfig::from_toml("bad.toml", head).unwrap_err();
    assert!(e.starts_with("bad.toml") && e.contains("level"), "{e}");
    file_error("name = \"t\"\n[[level]\n", 2, &[]);
    // A missing file names itself and the built-ins.
    let e = HierarchyConfig::load("no/such/file.toml").unwrap_err();
    assert!(
        e.contains("no/such/file.toml") && e.contains("cache-zen5"),
        "{e}"
    );
}

/// A reader that hands out at most `step` bytes per `fill_buf`, so lines
/// are cut at every possible place.
struct Dribble<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl std::io::BufRead for Dribble<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let n = self.step.min(self.data.len());
        Ok(&self.data[..n])
    }
    fn consume(&mut self, n: usize) {
        self.data = &self.data[n..];
    }
}

/// Random din text: mostly well-formed lines, with every shape the fast
/// path hands to the slow one (comments, CR, `0X`, 17 digits, labels
/// `00`/`+1`/`3`, blanks, non-ASCII, bad hex), sometimes no final newline.
fn din_text(rng: &mut Rng, lines: usize) -> Vec<u8> {
    let pieces: [&[u8]; 16] = [
        b"",
        b" ",
        b"\t",
        b"0x",
        b"0X",
        b"\r",
        b" # comment",
        b"zz",
        b"\xc3\xa9",
        b"\xff",
        b"00",
        b"+1",
        b"3",
        b"ffffffffffffffff",
        b"0ffffffffffffffff",
        b"-",
    ];
    let mut out = Vec::new();
    for i in 0..lines {
        let r = rng.below(100);
        if r < 80 {
            let label = [b'0', b'1', b'2'][rng.below(3) as usize];
            out.push(label);
            out.extend_from_slice([&b" "[..], b"\t", b"  "][rng.below(3) as usize]);
            if rng.below(4) == 0 {
                out.extend_from_slice(b"0x");
            }
            out.extend_from_slice(format!("{:x}", rng.next() >> rng.below(64)).as_bytes());
        } else {
            for _ in 0..1 + rng.below(5) {
                out.extend_from_slice(pieces[rng.below(16) as usize]);
                if rng.below(2) == 0 {
                    out.push(b' ');
                }
            }
        }
        if i + 1 < lines || rng.below(2) == 0 {
            out.push(b'\n');
        }
    }
    out
}

#[test]
fn din_reader_matches_its_reference() {
    let mut rng = Rng(0xd1e0);
    let mut failures = 0;
    for case in 0..3000 {
        let lines = 1 + rng.below(40) as usize;
        let text = din_text(&mut rng, lines);
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        let step = [1, 2, 3, 7, 64, 1 << 20][case % 6];
        let a = read_din(Dribble { data: &text, step }, 4, &mut fast);
        let b = read_din_reference(&text[..], 4, &mut slow);
        assert_eq!(a, b, "{:?} (step {step})", String::from_utf8_lossy(&text));
        assert_eq!(fast, slow);
        failures += a.is_err() as u32;
        // The threaded reader: the same accesses, count and error.
        let mut threaded = Vec::new();
        let c = read_trace_threaded(TraceFormat::Din, &text[..], 4, &mut threaded);
        assert_eq!(c, b);
        assert_eq!(threaded, slow);
    }
    // Both outcomes are exercised.
    assert!((300..2700).contains(&failures), "{failures} of 3000 failed");
}

#[test]
fn din_lines_are_bounded() {
    let mut long = b"0 10\n1 ".to_vec();
    long.extend(std::iter::repeat_n(b'0', MAX_DIN_LINE));
    long.extend_from_slice(b"\n0 20\n");
    for step in [1000, 1 << 20] {
        let mut sink = Vec::new();
        let e = read_din(Dribble { data: &long, step }, 8, &mut sink).unwrap_err();
        assert!(
            matches!(&e, TraceError::Line(2, m) if m.contains("longer")),
            "{e}"
        );
        assert_eq!(sink.len(), 1);
    }
    let mut sink = Vec::new();
    let e = read_din_reference(&long[..], 8, &mut sink).unwrap_err();
    assert!(
        matches!(&e, TraceError::Line(2, m) if m.contains("longer")),
        "{e}"
    );
    // A line of exactly the bound is read (its address has leading zeros).
    let mut ok = b"1 ".to_vec();
    ok.extend(std::iter::repeat_n(b'0', MAX_DIN_LINE - 4));
    ok.extend_from_slice(b"3c\n");
    let mut sink = Vec::new();
    assert_eq!(read_din(&ok[..], 8, &mut sink), Ok(1));
    assert_eq!(sink, vec![Access::write(0x3c, 8)]);
    // The bound holds for lines of the fast shape too: leading blanks make
    // a well-formed line of exactly the bound (read) or one byte over
    // (refused, named by its line number), in one buffer or cut anywhere.
    for (extra, ok) in [(0, true), (1, false)] {
        let mut text = b"0 10\n".to_vec();
        text.extend(std::iter::repeat_n(b' ', MAX_DIN_LINE - 5 + extra));
        text.extend_from_slice(b"2 ab\r\n0 20\n");
        for step in [1, 999, 1 << 20] {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            let a = read_din(Dribble { data: &text, step }, 8, &mut fast);
            let b = read_din_reference(&text[..], 8, &mut slow);
            assert_eq!(a, b, "extra {extra}, step {step}");
            assert_eq!(fast, slow);
            match ok {
                true => assert_eq!(a, Ok(3)),
                false => assert!(
                    matches!(&a, Err(TraceError::Line(2, m)) if m.contains("longer")),
                    "{a:?}"
                ),
            }
        }
    }
}

#[test]
fn din_fast_shape_edges_match_reference() {
    // Hand-picked lines at the edges of the in-place parser's shape, each
    // alone, between two good lines, and without a final newline: the
    // accesses and errors (with line numbers) are the reference reader's.
    let lines: [&[u8]; 18] = [
        b"0 ffffffffffffffff",
        b"1 0xFFFFFFFFFFFFFFF8",
        b"2\t\t0X0",
        b"0 0ffffffffffffffff",
        b"0 1ffffffffffffffff",
        b"0 0x",
        b"0 0x\r",
        b"0 12\r\r",
        b"0 12 \r",
        b"0 12g",
        b"0  ",
        b"0",
        b"3 10",
        b"01 10",
        b" \t 1 7f",
        b"0 \xff",
        b"\r",
        b"",
    ];
    for line in lines {
        for (pre, post) in [
            (&b""[..], &b"\n"[..]),
            (b"0 8\n", b"\n1 9\n"),
            (b"0 8\n", b""),
        ] {
            let text = [pre, line, post].concat();
            for step in [1, 2, 5, 1 << 20] {
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                let a = read_din(Dribble { data: &text, step }, 8, &mut fast);
                let b = read_din_reference(&text[..], 8, &mut slow);
                let shown = String::from_utf8_lossy(&text);
                assert_eq!(a, b, "{shown:?} (step {step})");
                assert_eq!(fast, slow, "{shown:?} (step {step})");
            }
        }
    }
    // Hand-derived values for two of them (independent of both readers).
    let mut sink = Vec::new();
    assert_eq!(
        read_din(&b"0 ffffffffffffffff\n1 0x10\r\n"[..], 8, &mut sink),
        Ok(2)
    );
    assert_eq!(
        sink,
        vec![Access::read(u64::MAX, 8), Access::write(0x10, 8)]
    );
    let e = read_din(&b"0 8\n0 1ffffffffffffffff\n"[..], 8, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(&e, TraceError::Line(2, m) if m.contains("bad hexadecimal")),
        "{e}"
    );
}

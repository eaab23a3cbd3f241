//! Closed-form I/O counts against hand-derived values, the bounds' regimes,
//! and the closed forms against a simulated cache: exact where the working
//! set fits and the schedule's streams cannot be reused, within a constant
//! band otherwise, and never below the lower bound.

use bitsim::hw::cache::{Hierarchy, HierarchyConfig, LevelConfig, Policy, WritePolicy};
use bitsim::hw::io_sweep::{band, closed_form, simulate, sweep, CacheSpec};
use bitsim::hw::iomodel::{
    flash_attention_count, gemv_count, hong_kung_bound, naive_matmul_count, saha_ye_bound,
    saha_ye_small_memory, standard_attention_count, tiled_matmul_count, Regime,
};
use bitsim::hw::tiles::{flash_tiles_paper, ElementSize, FlashTiles, MatmulTiles};
use bitsim::hw::trace::{Access, AccessSink};
use bitsim::hw::tracegen::{self, Generator, TraceParams};

fn es(name: &str) -> ElementSize {
    ElementSize::parse(Some(name)).unwrap()
}

fn f32e() -> ElementSize {
    ElementSize::f32()
}

#[test]
fn element_sizes_count_block_scales() {
    assert_eq!(f32e().bits_per_element(), 32.0);
    assert_eq!(es("bf16").bits_per_element(), 16.0);
    assert_eq!(es("e4m3").bits_per_element(), 8.0);
    assert_eq!(es("e2m1").bits_per_element(), 4.0);
    assert_eq!(es("int4").bits_per_element(), 4.0);
    // MX: 4-bit codes plus one 8-bit scale per 32; NVFP4: one 8-bit scale per 16.
    assert_eq!(es("mxfp4").bits_per_element(), 4.25);
    assert_eq!(es("nvfp4").bits_per_element(), 4.5);
    assert_eq!(es("mxfp8").bits_per_element(), 8.25);
    // 17 bytes = 136 bits = 32 mxfp4 elements with their scale.
    assert_eq!(es("mxfp4").words_in(17), 32);
    assert_eq!(es("mxfp4").words_in(16), 30);
    assert_eq!(f32e().words_in(64), 16);
    assert_eq!(es("e4m3").words_in(64), 64);
    assert_eq!(es("mxfp4").bytes(64), 34.0);
    assert!(ElementSize::parse(Some("e9m9x")).is_err());
}

#[test]
fn standard_attention_is_4n2_plus_4nd_when_q_fits() {
    // N = 4, d = 2, one Q block: read Q, K (16), S (16), P and V (16 + 8);
    // write S, P (32) and O (8): 96 = 4·16 + 4·8 words.
    let c = standard_attention_count(4, 2, 4, &f32e());
    assert_eq!((c.read_words, c.write_words), (56, 40));
    assert_eq!(c.words(), 4 * 16 + 4 * 8);
    assert_eq!(c.regime, Regime::Fits);
    assert_eq!(c.bytes(), 96.0 * 4.0);
    assert_eq!(c.fill_words, 2 * 16 + 8);
    // Two Q blocks: K and V are streamed twice (16 more words).
    let c = standard_attention_count(4, 2, 2, &f32e());
    assert_eq!(c.words(), 112);
    assert_eq!(c.regime, Regime::Restream);
    // e4m3: one byte per word; mxfp4: 4.25 bits per word.
    assert_eq!(standard_attention_count(4, 2, 4, &es("e4m3")).bytes(), 96.0);
    assert_eq!(
        standard_attention_count(4, 2, 4, &es("mxfp4")).bytes(),
        96.0 * 4.25 / 8.0
    );
}

#[test]
fn flash_attention_hand_count() {
    // N = 8, d = 2, B_c = 4, B_r = 2: two outer steps.
    // K, V once: 32. Q per outer step: 2·16 = 32. O, ℓ, m read on the
    // second step: 16 + 16. Written every step: 2·(16 + 16) = 64.
    let c = flash_attention_count(8, 2, FlashTiles { b_c: 4, b_r: 2 }, &f32e());
    assert_eq!(c.words(), 32 + 32 + 32 + 64);
    assert_eq!(c.read_words, 96);
    assert_eq!(c.write_words, 64);
    assert_eq!(c.fill_words, 16 + 16);
    assert_eq!(c.regime, Regime::Restream);
    // e4m3 operands, f32 statistics: elements in bytes, ℓ and m at 4 bytes.
    let c = flash_attention_count(8, 2, FlashTiles { b_c: 4, b_r: 2 }, &es("e4m3"));
    assert_eq!(c.read_bytes, 80.0 + 16.0 * 4.0);
    assert_eq!(c.write_bytes, 32.0 + 32.0 * 4.0);
    // One K/V block: everything once.
    let c = flash_attention_count(8, 2, FlashTiles { b_c: 8, b_r: 2 }, &f32e());
    assert_eq!(c.words(), 3 * 16 + 16 + 16);
    assert_eq!(c.regime, Regime::Fits);
}

#[test]
fn flash_paper_tiles() {
    assert_eq!(flash_tiles_paper(1024, 16), FlashTiles { b_c: 16, b_r: 16 });
    assert_eq!(flash_tiles_paper(1000, 16), FlashTiles { b_c: 16, b_r: 16 });
    assert_eq!(
        flash_tiles_paper(65536, 64),
        FlashTiles { b_c: 256, b_r: 64 }
    );
    assert_eq!(flash_tiles_paper(10, 64), FlashTiles { b_c: 1, b_r: 1 });
}

#[test]
fn saha_ye_regimes_meet_at_d_squared() {
    let (n, d) = (1000u64, 32u64);
    let at = saha_ye_bound(n, d, d * d, &f32e());
    assert_eq!(at.regime, Regime::LargeMemory);
    assert_eq!(at.leading_words, (n * n) as f64);
    let below = saha_ye_bound(n, d, d * d - 1, &f32e());
    assert_eq!(below.regime, Regime::SmallMemory);
    let expect = (n * n * d) as f64 / ((d * d - 1) as f64).sqrt();
    assert_eq!(below.leading_words, expect);
    // Continuity: one word less changes the bound by about 1/(2·d²).
    assert!((below.leading_words / at.leading_words - 1.0).abs() < 1e-3);
    let above = saha_ye_bound(n, d, d * d + 1, &f32e());
    assert!((above.leading_words / at.leading_words - 1.0).abs() < 1e-3);
    // Large memory: N²d²/M; huge memory: the compulsory 4Nd dominates.
    let b = saha_ye_bound(n, d, 4096, &f32e());
    assert_eq!(b.leading_words, 1e6 * 1024.0 / 4096.0);
    assert!(!b.compulsory);
    let b = saha_ye_bound(n, d, 1 << 40, &es("e4m3"));
    assert!(b.compulsory);
    assert_eq!(b.words, 4.0 * 32000.0);
    assert_eq!(b.bytes, 4.0 * 32000.0);
}

#[test]
fn saha_ye_small_memory_hand_count() {
    // N = 6, d = 4, M = 12 < d²: b = 2, T = 3. Per pair Q_i, K_j, V_j
    // (3·2·4 words, 9 pairs) plus O_i on the 6 pairs with j > 0.
    let c = saha_ye_small_memory(6, 4, 12, &f32e());
    assert_eq!(c.regime, Regime::SmallMemory);
    assert_eq!(c.read_words, 9 * 24 + 6 * 8 + 6 * 2 * 2);
    assert_eq!(c.write_words, 9 * 8 + 9 * 2 * 2);
    // It beats FlashAttention when M is well below d².
    let (n, d, m) = (4096u64, 256u64, 1024u64);
    let opt = saha_ye_small_memory(n, d, m, &f32e()).words();
    let fa = flash_attention_count(n, d, flash_tiles_paper(m, d), &f32e()).words();
    assert!(opt < fa, "{opt} vs {fa}");
    // ... and stays within a constant of N²d/√M.
    let lead = saha_ye_bound(n, d, m, &f32e()).leading_words;
    assert!((opt as f64) / lead < 12.0 && (opt as f64) >= lead);
}

#[test]
fn matmul_hand_counts() {
    // 4×8 by 8×6 in 2×3×4 tiles: A read for each of the 2 column blocks,
    // B for each of the 2 row blocks.
    let t = MatmulTiles {
        bm: 2,
        bn: 3,
        bk: 4,
    };
    let c = tiled_matmul_count(4, 6, 8, t, &f32e());
    assert_eq!(c.read_words, 2 * 32 + 2 * 48);
    assert_eq!(c.write_words, 24);
    assert_eq!(c.fill_words, 24);
    assert_eq!(c.regime, Regime::Restream);
    let one = MatmulTiles {
        bm: 4,
        bn: 6,
        bk: 1,
    };
    assert_eq!(
        tiled_matmul_count(4, 6, 8, one, &f32e()).words(),
        32 + 48 + 24
    );
    let c = naive_matmul_count(4, 6, 8, &es("bf16"));
    assert_eq!(c.words(), 2 * 4 * 6 * 8 + 24);
    assert_eq!(c.bytes(), (2.0 * 192.0 + 24.0) * 2.0);
    // GEMV 3×10, chunks of 4: A once, x once, y read back on 2 of 3 chunks.
    let c = gemv_count(3, 10, 4, &f32e());
    assert_eq!(
        (c.read_words, c.write_words, c.fill_words),
        (30 + 10 + 6, 9, 3)
    );
}

#[test]
fn hong_kung_bound_terms() {
    // m = n = k = 64, M = 256: 2·64³/16 = 32768, minus 2M = 32256 > 3·4096.
    let b = hong_kung_bound(64, 64, 64, 256, &f32e());
    assert_eq!(b.leading_words, 32768.0);
    assert_eq!(b.words, 32256.0);
    assert_eq!(b.regime, Regime::HongKung);
    assert_eq!(b.bytes, 32256.0 * 4.0);
    let b = hong_kung_bound(64, 64, 64, 1 << 20, &f32e());
    assert_eq!(b.regime, Regime::Compulsory);
    assert_eq!(b.words, 3.0 * 4096.0);
    // Doubling M lowers the leading term by √2.
    let b2 = hong_kung_bound(512, 512, 512, 512, &f32e());
    let b1 = hong_kung_bound(512, 512, 512, 1024, &f32e());
    assert!((b2.leading_words / b1.leading_words - 2f64.sqrt()).abs() < 1e-12);
}

/// Slow-memory bytes of a trace through one cold fully associative LRU
/// cache, flushed at the end (a twin of `simulate` that takes the trace
/// from a closure, so explicit tiles can be used).
fn run_cache(size: u64, gen: impl FnOnce(&mut Hierarchy)) -> u64 {
    let cfg = HierarchyConfig {
        name: "t".into(),
        levels: vec![LevelConfig {
            name: "c".into(),
            size,
            ways: 0,
            line: 64,
            policy: Policy::Lru,
            write: WritePolicy::WriteBack,
        }],
        inclusion: Default::default(),
    };
    let mut h = Hierarchy::new(&cfg).unwrap();
    gen(&mut h);
    for i in 0..size / 64 {
        h.access(Access::read((1 << 50) + 64 * i, 64));
    }
    let s = &h.stats()[0];
    s.bytes_in - size + s.bytes_out
}

#[test]
fn ideal_cache_reproduces_flash_count_exactly() {
    // d = 16 f32 rows are one line; B_c = 32, B_r = 16 keep 98 lines of the
    // 128-line cache busy, and Q and O (512 lines) cannot stay.
    let t = FlashTiles { b_c: 32, b_r: 16 };
    let sim = run_cache(8192, |h| {
        tracegen::flash_attention_trace(256, 16, t, &f32e(), h)
    });
    let closed = flash_attention_count(256, 16, t, &f32e());
    assert_eq!(sim as f64, closed.cached_bytes());
    // The same through the library's sweep, tiles chosen for each size.
    let p = params("attention/flash", 0, 1024, 0, 16, None);
    let caches: Vec<_> = [8192, 16384, 32768]
        .iter()
        .map(|&s| CacheSpec::fully_associative(s))
        .collect();
    for r in sweep(&p, &caches).unwrap() {
        assert_eq!(r.ratio, 1.0, "{:?}", r.closed.tiles);
    }
}

#[test]
fn ideal_cache_reproduces_tiled_matmul_count_exactly() {
    let t = MatmulTiles {
        bm: 16,
        bn: 16,
        bk: 16,
    };
    let sim = run_cache(4096, |h| {
        tracegen::tiled_matmul_trace(64, 64, 64, t, &f32e(), h)
    });
    assert_eq!(
        sim as f64,
        tiled_matmul_count(64, 64, 64, t, &f32e()).cached_bytes()
    );
    // Tiles chosen from the cache size agree with the explicit ones.
    assert_eq!(tracegen::matmul_tiles(64, 64, 64, &f32e(), 4096), t);
    let p = params("matmul/tiled", 64, 64, 64, 0, None);
    assert_eq!(
        simulate(&p, &CacheSpec::fully_associative(4096)).unwrap() as f64,
        closed_form(&p, 4096).unwrap().count.cached_bytes()
    );
    // bf16 rows of 64 elements are two lines; tiles 32×32×32.
    let t = MatmulTiles {
        bm: 32,
        bn: 32,
        bk: 32,
    };
    let sim = run_cache(8192, |h| {
        tracegen::tiled_matmul_trace(128, 96, 256, t, &es("bf16"), h)
    });
    assert_eq!(
        sim as f64,
        tiled_matmul_count(128, 96, 256, t, &es("bf16")).cached_bytes()
    );
}

fn params(v: &str, m: usize, n: usize, k: usize, d: usize, f: Option<&str>) -> TraceParams {
    TraceParams {
        generator: Generator::parse(v).unwrap(),
        m,
        n,
        k,
        d,
        format: ElementSize::parse(f).unwrap(),
        fast_bytes: None,
    }
}

#[test]
fn flash_and_tiled_stay_in_a_constant_band() {
    let caches: Vec<_> = [2048u64, 3072, 4096, 6144, 8192, 12288, 16384]
        .iter()
        .map(|&s| CacheSpec::fully_associative(s))
        .collect();
    // FlashAttention's tiles are chosen so that the LRU cache keeps exactly
    // K_j, V_j and the current Q/O block: ratio 1 at every size, even with
    // tiles that are not line multiples.
    for p in [
        params("attention/flash", 0, 512, 0, 32, None),
        params("attention/flash", 0, 512, 0, 64, Some("e4m3")),
    ] {
        let rows = sweep(&p, &caches).unwrap();
        assert_eq!(band(&rows), (1.0, 1.0), "{}", p.format.name);
    }
    // Tiled GEMM: exact where tiles are whole lines; at 2 KiB the 8-wide
    // tiles use half of each 64-byte line fetched, so the cache moves more
    // than the word count (never more than twice: a segment is at least half
    // a line). Neither can the cache do better than the schedule here.
    let rows = sweep(&params("matmul/tiled", 96, 128, 80, 0, None), &caches).unwrap();
    let (lo, hi) = band(&rows);
    assert_eq!(lo, 1.0);
    assert!(hi > 1.0 && hi <= 2.0, "{hi}");
    assert_eq!(rows.iter().filter(|r| r.ratio == 1.0).count(), 6);
}

#[test]
fn lower_bounds_are_never_beaten() {
    let caches: Vec<_> = [1024u64, 2048, 4096, 8192, 16384, 65536]
        .iter()
        .map(|&s| CacheSpec::fully_associative(s))
        .collect();
    let cases = [
        params("attention/flash", 0, 256, 0, 32, None),
        params("attention/flash", 0, 256, 0, 64, Some("mxfp4")),
        params("attention/standard", 0, 128, 0, 32, Some("bf16")),
        params("attention/standard", 0, 128, 0, 64, Some("e4m3")),
        params("matmul/tiled", 64, 48, 80, 0, None),
        params("matmul/tiled", 64, 64, 128, 0, Some("e2m1")),
        params("matmul/naive", 16, 24, 32, 0, None),
        params("matmul/gemv", 100, 0, 300, 0, Some("bf16")),
    ];
    for p in &cases {
        for r in sweep(p, &caches).unwrap() {
            let b = r.closed.bound.bytes;
            assert!(
                r.simulated_bytes as f64 >= b,
                "{} {:?} at {} B: simulated {} < bound {b}",
                p.generator,
                p.format,
                r.cache.size,
                r.simulated_bytes
            );
            // The closed form is a schedule, so it cannot beat the bound either.
            assert!(r.closed.count.bytes() >= b, "{} closed form", p.generator);
        }
    }
}

#[test]
fn set_associative_and_bad_geometry() {
    let p = params("matmul/tiled", 32, 32, 32, 0, None);
    let s = simulate(
        &p,
        &CacheSpec {
            size: 4096,
            line: 64,
            ways: 4,
        },
    )
    .unwrap();
    assert!(s as f64 >= closed_form(&p, 4096).unwrap().bound.bytes);
    for bad in [
        CacheSpec {
            size: 4096,
            line: 48,
            ways: 0,
        },
        CacheSpec {
            size: 32,
            line: 64,
            ways: 0,
        },
        CacheSpec {
            size: 4096,
            line: 64,
            ways: 3,
        },
    ] {
        assert!(simulate(&p, &bad).is_err(), "{bad:?}");
    }
}

fn small_study() -> bitsim::suite::studies::io::IoStudy {
    use bitsim::hw::energy::EnergyTable;
    use bitsim::suite::studies::{io, StudyContext};
    let table = EnergyTable::load("energy-45nm").unwrap();
    let ctx = StudyContext {
        energy: &table,
        base: std::path::Path::new("."),
        seed: 1,
        variants: &[],
    };
    let p: io::IoParams = toml::from_str(
        "n = 128\nd = 32\ncaches = [\"2KiB\", \"4KiB\", \"8KiB\", \"32KiB\"]\nformats = [\"bf16\", \"mxfp4\"]",
    )
    .unwrap();
    io::run(&p, &ctx).unwrap()
}

#[test]
fn study_runs_and_renders_well_formed_sections() {
    let s = small_study();
    assert_eq!(s.variants.len(), 2);
    assert_eq!(s.formats.len(), 2);
    assert_eq!(s.energy.len(), 8);
    assert_eq!(s.macs, 2.0 * 128.0 * 128.0 * 32.0);
    for v in &s.variants {
        assert_eq!(v.rows.len(), 4);
        for r in &v.rows {
            assert!(r.simulated_bytes as f64 >= r.bound_bytes);
            assert_eq!(r.ratio, r.simulated_bytes as f64 / r.closed_cached_bytes);
            // Every byte to or from memory passed through the cache.
            assert!(r.access_bytes >= r.simulated_bytes / 2);
        }
    }
    // Flash traffic falls with cache size; mxfp4 moves fewer bytes than bf16.
    let flash = &s.variants[1].rows;
    assert!(flash
        .windows(2)
        .all(|w| w[1].simulated_bytes <= w[0].simulated_bytes));
    for (a, b) in s.formats[0].rows.iter().zip(&s.formats[1].rows) {
        assert!(b.simulated_bytes < a.simulated_bytes);
    }
    // Energy: DRAM pJ = bytes × the table's per-byte energy.
    let e = &s.energy[0];
    assert_eq!(e.dram_pj, e.dram_bytes as f64 * s.dram_pj_per_byte);
    // Results survive JSON.
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(
        serde_json::from_str::<bitsim::suite::studies::io::IoStudy>(&json).unwrap(),
        s
    );

    let secs = bitsim::report::sections::io::render(&s).unwrap();
    let ids: Vec<_> = secs.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["io-cache", "io-formats", "io-energy"]);
    for sec in &secs {
        assert!(sec
            .html
            .starts_with("<p class=\"how\"><strong>How to read this:</strong>"));
        assert!(sec.html.contains("<svg") && sec.html.contains("<table"));
        let wrapped = format!("<div>{}</div>", sec.html);
        let mut r = quick_xml::Reader::from_str(&wrapped);
        loop {
            match r.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("{}: not well-formed: {e}", sec.id),
            }
        }
    }
    assert!(secs[0].html.contains("between"));
}

#[test]
fn study_rejects_bad_params() {
    use bitsim::suite::studies::io;
    assert!(toml::from_str::<io::IoParams>("cache = [\"4KiB\"]").is_err());
    let table = bitsim::hw::energy::EnergyTable::load("energy-45nm").unwrap();
    let ctx = bitsim::suite::studies::StudyContext {
        energy: &table,
        base: std::path::Path::new("."),
        seed: 1,
        variants: &[],
    };
    let p = io::IoParams {
        caches: vec!["4QB".into()],
        ..io::IoParams::default()
    };
    assert!(io::run(&p, &ctx).unwrap_err().contains("4QB"));
    let p = io::IoParams {
        formats: vec!["e9m9".into()],
        n: 16,
        d: 8,
        ..io::IoParams::default()
    };
    assert!(io::run(&p, &ctx).unwrap_err().contains("e9m9"));
    // A size error names the key that is wrong, not a CLI flag.
    let p = io::IoParams {
        n: 2_000_000,
        ..io::IoParams::default()
    };
    assert_eq!(
        io::run(&p, &ctx).unwrap_err(),
        "n: 2000000 is too large for attention/standard (at most 1048576)"
    );
    let p = io::IoParams {
        format: "e9m9".into(),
        ..io::IoParams::default()
    };
    assert!(io::run(&p, &ctx).unwrap_err().starts_with("format: "));
}

/// Counts what a sweep reports, from several threads.
#[derive(Default)]
struct Tally {
    accesses: std::sync::atomic::AtomicU64,
    reports: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
}

impl bitsim::hw::io_sweep::SweepWatch for Tally {
    fn accesses(&self, n: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.accesses.fetch_add(n, Relaxed);
        self.reports.fetch_add(1, Relaxed);
    }
    fn cache_done(&self) {
        self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn a_watched_sweep_reports_every_access_and_cache_and_the_same_rows() {
    use bitsim::hw::io_sweep::{sweep_observed, REPORT_EVERY};
    use bitsim::hw::trace::CountingSink;
    use std::sync::atomic::Ordering::Relaxed;
    // Millions of accesses per cache: several reports each.
    let p = params("matmul/naive", 128, 128, 128, 0, None);
    let caches: Vec<_> = [4096u64, 16384, 65536]
        .iter()
        .map(|&s| CacheSpec::fully_associative(s))
        .collect();
    // The oracle: every access of the trace for each size, counted by the
    // trivial sink.
    let expected: u64 = caches
        .iter()
        .map(|c| {
            let mut q = p.clone();
            q.fast_bytes = Some(c.size);
            let mut n = CountingSink::default();
            tracegen::generate(&q, &mut n).unwrap();
            n.reads + n.writes
        })
        .sum();
    assert!(expected > 3 * REPORT_EVERY, "too short to report in chunks");
    let tally = Tally::default();
    let rows = sweep_observed(&p, &caches, &tally).unwrap();
    assert_eq!(tally.accesses.load(Relaxed), expected);
    assert_eq!(tally.done.load(Relaxed), caches.len() as u64);
    // Chunks of at least REPORT_EVERY, plus one remainder per cache.
    let reports = tally.reports.load(Relaxed);
    assert!(reports <= expected / REPORT_EVERY + caches.len() as u64);
    assert!(reports >= caches.len() as u64);
    // Watching changes nothing.
    assert_eq!(rows, sweep(&p, &caches).unwrap());
}

//! Address generators: access and byte counts against hand-derived
//! formulas, addresses inside the arrays of the documented layout, packed
//! sub-byte elements and block scales where a real layout puts them, the
//! generators' names, and the typed errors of `generate`.

use crate::seeded;

use bitsim::hw::tiles::{ElementSize, FlashTiles, MatmulTiles};
use bitsim::hw::trace::{Access, AccessKind, AccessSink, CountingSink};
use bitsim::hw::tracegen::layout::{Arena, Matrix};
use bitsim::hw::tracegen::{
    self, generate, Dim, DimError, DimProblem, Generator, TraceParams, MAX_DIM,
};

fn es(name: &str) -> ElementSize {
    ElementSize::parse(Some(name)).unwrap()
}

#[derive(Default)]
struct Record(Vec<Access>);

impl AccessSink for Record {
    fn access(&mut self, a: Access) {
        self.0.push(a);
    }
}

fn count(f: impl FnOnce(&mut CountingSink)) -> CountingSink {
    let mut c = CountingSink::default();
    f(&mut c);
    c
}

#[test]
fn flash_counts_f32() {
    // N = 64, d = 16 (one 64-byte line per row), B_c = B_r = 16: 4 × 4
    // steps. Each: K_j, V_j, Q_i (16 vector reads each); O_i (16), ℓ_i, m_i
    // (one 64-byte vector each) read on 3 of 4 outer steps, written on all.
    let t = FlashTiles { b_c: 16, b_r: 16 };
    let c = count(|s| tracegen::flash_attention_trace(64, 16, t, &ElementSize::f32(), s));
    assert_eq!(c.reads, 16 * 48 + 12 * 18);
    assert_eq!(c.writes, 16 * 18);
    assert_eq!(c.read_bytes, 64 * c.reads);
    assert_eq!(c.write_bytes, 64 * c.writes);
}

#[test]
fn flash_bytes_mxfp4() {
    // d = 64 mxfp4: 32 bytes of codes and 2 scale bytes per row, separate
    // accesses; N = 32, B_c = 32, B_r = 16: one outer step, two inner.
    let t = FlashTiles { b_c: 32, b_r: 16 };
    let c = count(|s| tracegen::flash_attention_trace(32, 64, t, &es("mxfp4"), s));
    // Per inner step: K, V (32 rows), Q (16 rows) read; O (16 rows), ℓ, m written.
    assert_eq!(c.read_bytes, 2 * (64 + 16) * 34);
    assert_eq!(c.reads, 2 * (64 + 16) * 2);
    assert_eq!(c.write_bytes, 2 * (16 * 34 + 2 * 64));
    assert_eq!(c.writes, 2 * (16 * 2 + 2));
}

#[test]
fn standard_counts() {
    // N = 32, d = 16 f32, Q blocks of 16, chunks of 16 (one line of S).
    // Phase 1: 2×2 steps of K_J, Q_I reads (16 + 16) and S writes (16).
    // Phase 2: 32 rows of S read and P written, 2 vectors each.
    // Phase 3: 2×2 steps of V_J, P tile reads, O_I read (when J > 0), O_I written.
    let c = count(|s| tracegen::standard_attention_trace(32, 16, 16, &ElementSize::f32(), s));
    assert_eq!(c.reads, 4 * 32 + 64 + (4 * 32 + 2 * 16));
    assert_eq!(c.writes, 4 * 16 + 64 + 4 * 16);
    assert_eq!(c.read_bytes, 64 * c.reads);
}

#[test]
fn matmul_counts() {
    // 32³ f32 in 16×16×16 tiles: 8 steps of A, B reads and C writes (16
    // vectors each) and C reads on the 4 steps with p > 0.
    let t = MatmulTiles {
        bm: 16,
        bn: 16,
        bk: 16,
    };
    let c = count(|s| tracegen::tiled_matmul_trace(32, 32, 32, t, &ElementSize::f32(), s));
    assert_eq!((c.reads, c.writes), (8 * 32 + 4 * 16, 8 * 16));
    // Naive 2×3×4: per C element one 16-byte row of A, 4 scalar reads of B,
    // one scalar write.
    let c = count(|s| tracegen::naive_matmul_trace(2, 3, 4, &ElementSize::f32(), s));
    assert_eq!((c.reads, c.writes), (6 * 5, 6));
    assert_eq!((c.read_bytes, c.write_bytes), (6 * 32, 24));
    // GEMV 32×64 in chunks of 32: per chunk and row, A's slice and x's chunk
    // (2 vectors each); y's two vectors written per chunk, read on the second.
    let c = count(|s| tracegen::gemv_trace(32, 64, 32, &ElementSize::f32(), s));
    assert_eq!((c.reads, c.writes), (2 * 32 * 4 + 2, 4));
    // e2m1 GEMV: 64 codes are 32 bytes, one access.
    let c = count(|s| tracegen::gemv_trace(32, 64, 64, &es("e2m1"), s));
    assert_eq!((c.reads, c.read_bytes), (64, 32 * 64));
    assert_eq!((c.writes, c.write_bytes), (1, 16));
}

#[test]
fn subbyte_layout_and_scales() {
    let mut a = Arena::new();
    let x = a.matrix(4, 64, &es("mxfp4"));
    let y = a.matrix(2, 10, &es("int4"));
    assert_eq!(
        (x.base, x.row_bytes, x.scale_base, x.scale_row_bytes),
        (0, 32, 4096, 2)
    );
    assert_eq!((y.base, y.row_bytes), (8192, 5));
    let mut r = Record::default();
    // Row 1, all columns: 32 code bytes at 32, two scale bytes at 4096 + 2.
    x.emit(1, 0, 64, AccessKind::Read, &mut r);
    // Row 0, columns 1..3: codes in bytes 0 and 1 (low nibble first), scale 0.
    x.emit(0, 1, 3, AccessKind::Write, &mut r);
    // Row 3, columns 32..64: second block, its scale alone.
    x.emit(3, 32, 64, AccessKind::Read, &mut r);
    // int4 row 1 (bytes 5..10), columns 3..7: bytes 6..9.
    y.emit(1, 3, 7, AccessKind::Read, &mut r);
    let want = [
        Access::read(32, 32),
        Access::read(4098, 2),
        Access::write(0, 2),
        Access::write(4096, 1),
        Access::read(96 + 16, 16),
        Access::read(4096 + 6 + 1, 1),
        Access::read(8192 + 6, 3),
    ];
    assert_eq!(r.0, want);
}

#[test]
fn accesses_split_at_line_boundaries() {
    let mut a = Arena::new();
    let m = a.matrix(3, 40, &es("bf16")); // 80-byte rows
    let mut r = Record::default();
    m.emit(1, 0, 40, AccessKind::Read, &mut r); // bytes 80..160
    assert_eq!(r.0, [Access::read(80, 48), Access::read(128, 32)]);
}

fn arrays(p: &TraceParams) -> Vec<Matrix> {
    let e = &p.format;
    let (m, n, k, d) = (p.m as u64, p.n as u64, p.k as u64, p.d as u64);
    let mut a = Arena::new();
    match p.generator {
        Generator::MatmulNaive | Generator::MatmulTiled => {
            vec![a.matrix(m, k, e), a.matrix(k, n, e), a.matrix(m, n, e)]
        }
        Generator::MatmulGemv => vec![a.matrix(m, k, e), a.matrix(1, k, e), a.matrix(1, m, e)],
        g => {
            let mut x: Vec<_> = (0..4).map(|_| a.matrix(n, d, e)).collect();
            if g == Generator::AttentionStandard {
                x.push(a.matrix(n, n, e));
                x.push(a.matrix(n, n, e));
            } else {
                x.push(a.f32_vector(n));
                x.push(a.f32_vector(n));
            }
            x
        }
    }
}

fn inside(a: &Access, m: &Matrix) -> bool {
    let end = a.addr + a.size as u64;
    let codes = a.addr >= m.base && end <= m.base + m.rows * m.row_bytes;
    let scales = m.scale_row_bytes > 0
        && a.addr >= m.scale_base
        && end <= m.scale_base + m.rows * m.scale_row_bytes;
    codes || scales
}

#[test]
fn addresses_stay_in_their_arrays() {
    let mut g = seeded::Rng(0x10_5eed);
    let formats = [
        None,
        Some("bf16"),
        Some("e4m3"),
        Some("e2m1"),
        Some("mxfp4"),
        Some("nvfp4"),
        Some("int3"),
    ];
    for round in 0..60 {
        let generator = Generator::ALL[round % Generator::ALL.len()];
        let p = TraceParams {
            generator,
            m: 1 + g.below(40) as usize,
            n: 1 + g.below(70) as usize,
            k: 1 + g.below(90) as usize,
            d: 1 + g.below(70) as usize,
            format: ElementSize::parse(formats[g.below(formats.len() as u64) as usize]).unwrap(),
            fast_bytes: Some(512 + 64 * g.below(64)),
        };
        let mut r = Record::default();
        generate(&p, &mut r).unwrap();
        assert!(!r.0.is_empty());
        let arr = arrays(&p);
        for a in &r.0 {
            assert!(a.size >= 1 && a.size <= 64, "{p:?}: {a:?}");
            assert_eq!(
                a.addr / 64,
                (a.addr + a.size as u64 - 1) / 64,
                "{p:?}: straddles {a:?}"
            );
            assert!(
                arr.iter().any(|m| inside(a, m)),
                "{p:?}: {a:?} outside every array"
            );
        }
        // Same parameters, same stream.
        let mut again = Record::default();
        generate(&p, &mut again).unwrap();
        assert_eq!(r.0, again.0);
    }
}

#[test]
fn generate_uses_chosen_tiles_and_names() {
    assert_eq!(Generator::ALL.len(), 5);
    let p = TraceParams {
        generator: Generator::AttentionFlash,
        m: 0,
        n: 64,
        k: 0,
        d: 16,
        format: ElementSize::f32(),
        fast_bytes: Some(8192),
    };
    let t = tracegen::flash_tiles(64, 16, &ElementSize::f32(), 8192);
    assert_eq!(t, FlashTiles { b_c: 32, b_r: 16 });
    let mut a = CountingSink::default();
    generate(&p, &mut a).unwrap();
    let b = count(|s| tracegen::flash_attention_trace(64, 16, t, &ElementSize::f32(), s));
    assert_eq!(a, b);
}

#[test]
fn generate_errors_name_the_size_not_a_flag() {
    let base = TraceParams {
        generator: Generator::AttentionFlash,
        m: 0,
        n: 8,
        k: 0,
        d: 0,
        format: ElementSize::f32(),
        fast_bytes: None,
    };
    let mut s = CountingSink::default();
    let e = generate(&base, &mut s).unwrap_err();
    assert_eq!(
        e,
        DimError {
            generator: Generator::AttentionFlash,
            problem: DimProblem::Zero(Dim::D)
        }
    );
    // The hw error says which size, never a CLI flag.
    assert_eq!(e.to_string(), "attention/flash: d must be at least 1");
    let big = TraceParams {
        generator: Generator::AttentionStandard,
        n: 2_000_000,
        d: 8,
        ..base.clone()
    };
    let e = generate(&big, &mut s).unwrap_err();
    assert_eq!(
        e.problem,
        DimProblem::TooLarge {
            dim: Dim::N,
            value: 2_000_000
        }
    );
    assert!(!e.to_string().contains("--"), "{e}");
    let work = TraceParams {
        n: MAX_DIM,
        d: MAX_DIM,
        ..base.clone()
    };
    let e = generate(&work, &mut s).unwrap_err();
    assert!(matches!(e.problem, DimProblem::TooMuchWork { .. }), "{e}");
    // GEMV ignores n; matmuls need m, n and k.
    let gemv = TraceParams {
        generator: Generator::MatmulGemv,
        m: 4,
        k: 4,
        n: 0,
        ..base.clone()
    };
    assert!(gemv.check().is_ok());
    let tiled = TraceParams {
        generator: Generator::MatmulTiled,
        ..gemv
    };
    assert_eq!(tiled.check().unwrap_err().problem, DimProblem::Zero(Dim::N));
    assert_eq!(s, CountingSink::default());
}

#[test]
fn generator_names_round_trip() {
    let names = Generator::names();
    assert_eq!(
        names,
        [
            "matmul/naive",
            "matmul/tiled",
            "matmul/gemv",
            "attention/standard",
            "attention/flash"
        ]
    );
    for &g in Generator::ALL {
        assert_eq!(Generator::parse(g.name()), Ok(g));
        assert_eq!(g.name().parse::<Generator>(), Ok(g));
        assert_eq!(g.to_string(), g.name());
    }
    let e = Generator::parse("matmul/strassen").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "'matmul/strassen': unknown generator (expected one of {})",
            names.join(", ")
        )
    );
    // What each needs, in the order the CLI asks for it.
    assert_eq!(Generator::MatmulGemv.dims(), [Dim::M, Dim::K]);
    assert_eq!(Generator::MatmulNaive.dims(), [Dim::M, Dim::N, Dim::K]);
    assert_eq!(Generator::AttentionFlash.dims(), [Dim::N, Dim::D]);
}

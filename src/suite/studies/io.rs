//! I/O study: memory traffic of attention and matmul variants versus cache size (closed forms and simulation) and by element format.
//!
//! For each cache size, standard attention and FlashAttention run through
//! one fully associative LRU cache of that size (tiles chosen for it); the
//! study records the exact closed form of each schedule, the simulated
//! traffic, their ratio and the Saha–Ye bound; FlashAttention again for
//! several element formats; and the energy of moving those bytes beside the
//! energy of the attention's arithmetic.

use super::StudyContext;
use crate::hw::cost::OpKind;
use crate::hw::io_sweep::{band, sweep, CacheSpec, SweepError, SweepRow};
use crate::hw::tiles::ElementSize;
use crate::hw::trace::CountingSink;
use crate::hw::tracegen::{generate, DimError, DimProblem, Generator, TraceParams, MAX_DIM};
use crate::size::parse_size;
use serde::{Deserialize, Serialize};

/// Parameters (`[studies.io]` keys; all optional).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IoParams {
    /// Sequence length N (default 1024).
    pub n: u64,
    /// Head dimension d (default 64).
    pub d: u64,
    /// Cache sizes (default 4KiB … 512KiB, 8 sizes).
    pub caches: Vec<String>,
    /// Operand format of the cache-size sweep and the energy section (default bf16).
    pub format: String,
    /// Formats compared in the traffic-by-format section (default bf16, e4m3, e2m1, mxfp4).
    pub formats: Vec<String>,
    /// Line size of the simulated caches, bytes (default 64).
    pub line: u32,
}

impl Default for IoParams {
    fn default() -> Self {
        IoParams {
            n: 1024,
            d: 64,
            caches: [
                "4KiB", "8KiB", "16KiB", "32KiB", "64KiB", "128KiB", "256KiB", "512KiB",
            ]
            .map(String::from)
            .to_vec(),
            format: "bf16".into(),
            formats: ["bf16", "e4m3", "e2m1", "mxfp4"].map(String::from).to_vec(),
            line: 64,
        }
    }
}

/// One cache size of one generator and format.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IoRow {
    /// Cache size, bytes.
    pub cache_bytes: u64,
    /// Fast memory M in words of the format.
    pub m_words: u64,
    /// Tiles chosen for this size.
    pub tiles: String,
    /// Regime of the schedule (`fits`, `re-stream`).
    pub schedule: String,
    /// Saha–Ye regime (`M>=d^2`, `M<d^2`).
    pub regime: String,
    /// Closed form, reads + writes, bytes.
    pub closed_bytes: f64,
    /// Closed form with write-allocate fills, bytes.
    pub closed_cached_bytes: f64,
    /// Lower bound, bytes.
    pub bound_bytes: f64,
    /// Simulated traffic to and from memory, bytes.
    pub simulated_bytes: u64,
    /// simulated / closed form with fills.
    pub ratio: f64,
    /// Bytes the schedule reads and writes in the cache (every access).
    pub access_bytes: u64,
}

/// A sweep over cache sizes of one generator in one format.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IoSweep {
    /// Generator (`attention/standard`, `attention/flash`); the key keeps
    /// its old name so earlier results files still read.
    pub variant: String,
    /// Operand format.
    pub format: String,
    /// Bits per element, block scale included.
    pub bits_per_element: f64,
    /// One row per cache size.
    pub rows: Vec<IoRow>,
    /// Smallest and largest simulated / closed ratio.
    pub band: (f64, f64),
}

/// Energy of one variant at one cache size.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EnergyRow {
    /// Variant.
    pub variant: String,
    /// Cache size, bytes.
    pub cache_bytes: u64,
    /// Bytes between cache and DRAM (simulated).
    pub dram_bytes: u64,
    /// Bytes between the arithmetic and the cache (every access).
    pub sram_bytes: u64,
    /// DRAM energy, pJ.
    pub dram_pj: f64,
    /// SRAM energy, pJ.
    pub sram_pj: f64,
    /// Arithmetic energy, pJ.
    pub compute_pj: f64,
}

/// What the study found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IoStudy {
    /// Sequence length.
    pub n: u64,
    /// Head dimension.
    pub d: u64,
    /// Format of the cache-size sweep and the energy rows.
    pub format: String,
    /// Line size, bytes.
    pub line: u32,
    /// Standard attention and FlashAttention versus cache size.
    pub variants: Vec<IoSweep>,
    /// FlashAttention versus cache size, one sweep per format.
    pub formats: Vec<IoSweep>,
    /// Multiply-accumulates of one attention (2N²d: QKᵀ and PV).
    pub macs: f64,
    /// Energy of one MAC, pJ (multiply in the operand format, add in f32).
    pub mac_pj: f64,
    /// Energy rows (both variants, every cache size).
    pub energy: Vec<EnergyRow>,
    /// DRAM energy per byte, pJ, with its derivation.
    pub dram_pj_per_byte: f64,
    /// Notes on the energy numbers (sources, scaling, assumptions).
    pub energy_notes: Vec<String>,
}

/// The multiply of a format's elements (block formats: their element).
fn mul_kind(es: &ElementSize) -> OpKind {
    OpKind::mul_of(&es.element)
}

/// A format named by the key `key`, parsed once here.
fn format_at(key: &str, name: &str) -> Result<ElementSize, String> {
    ElementSize::parse(Some(name)).map_err(|e| format!("{key}: {e}"))
}

/// A sweep error located at the key that is wrong: `n: 2000000 is too large
/// for attention/standard (at most 1048576)`; a cache error at `caches`.
fn sweep_error(e: SweepError) -> String {
    match e {
        SweepError::Dims(e) => dim_error(&e),
        SweepError::Cache { reason, .. } => format!("caches: {reason}"),
    }
}

fn dim_error(e: &DimError) -> String {
    let g = e.generator;
    match e.problem {
        DimProblem::Zero(d) => format!("{d}: must be at least 1 for {g}"),
        DimProblem::TooLarge { dim, value } => {
            format!("{dim}: {value} is too large for {g} (at most {MAX_DIM})")
        }
        // Both sizes make the loop nest; name both keys.
        DimProblem::TooMuchWork { .. } => {
            format!("n, d: {g}: {}", e.problem.reason(|d| d.to_string()))
        }
    }
}

fn run_sweep(
    generator: Generator,
    p: &IoParams,
    format: &ElementSize,
    caches: &[CacheSpec],
) -> Result<IoSweep, String> {
    let tp = TraceParams {
        generator,
        m: 0,
        n: p.n as usize,
        k: 0,
        d: p.d as usize,
        format: format.clone(),
        fast_bytes: None,
    };
    tp.check().map_err(|e| dim_error(&e))?;
    let rows: Vec<SweepRow> = sweep(&tp, caches).map_err(sweep_error)?;
    let mut out = Vec::new();
    for r in &rows {
        let mut count = CountingSink::default();
        generate(
            &TraceParams {
                fast_bytes: Some(r.cache.size),
                ..tp.clone()
            },
            &mut count,
        )
        .map_err(|e| dim_error(&e))?;
        out.push(IoRow {
            cache_bytes: r.cache.size,
            m_words: r.closed.m_words,
            tiles: r.closed.tiles.clone(),
            schedule: r.closed.count.regime.to_string(),
            regime: r.closed.bound.regime.to_string(),
            closed_bytes: r.closed.count.bytes(),
            closed_cached_bytes: r.closed.count.cached_bytes(),
            bound_bytes: r.closed.bound.bytes,
            simulated_bytes: r.simulated_bytes,
            ratio: r.ratio,
            access_bytes: count.read_bytes + count.write_bytes,
        });
    }
    Ok(IoSweep {
        variant: generator.name().into(),
        format: format.name.clone(),
        bits_per_element: format.bits_per_element(),
        band: band(&rows),
        rows: out,
    })
}

/// Checks the parameters; returns the caches and the main format.
fn check(p: &IoParams) -> Result<(Vec<CacheSpec>, ElementSize), String> {
    if p.n == 0 || p.d == 0 {
        return Err("n and d must be at least 1".into());
    }
    if p.caches.is_empty() || p.formats.is_empty() {
        return Err("caches and formats must not be empty".into());
    }
    let mut caches = Vec::new();
    for s in &p.caches {
        let c = CacheSpec {
            size: parse_size(s).map_err(|e| format!("caches: {e}"))?,
            line: p.line,
            ways: 0,
        };
        c.check().map_err(|e| format!("caches: {e}"))?;
        caches.push(c);
    }
    // Each format is parsed once, here, and named by its key on error.
    let format = format_at("format", &p.format)?;
    for f in &p.formats {
        format_at("formats", f)?;
    }
    Ok((caches, format))
}

/// Runs the study.
pub fn run(params: &IoParams, ctx: &StudyContext) -> Result<IoStudy, String> {
    let p = params;
    let (caches, format) = check(p)?;
    let mut variants = Vec::new();
    for g in [Generator::AttentionStandard, Generator::AttentionFlash] {
        variants.push(run_sweep(g, p, &format, &caches)?);
    }
    let mut formats = Vec::new();
    for f in &p.formats {
        // The sweep of the main format is already there.
        if *f == p.format {
            formats.push(variants[1].clone());
            continue;
        }
        let es = format_at("formats", f)?;
        formats.push(run_sweep(Generator::AttentionFlash, p, &es, &caches)?);
    }

    // Energy: DRAM bytes × DRAM pJ/B, cache bytes × SRAM pJ/B for that
    // size, and 2N²d MACs × (multiply in the format + f32 add).
    let e = ctx.energy;
    let (dram, dram_note) = e.dram_pj_per_byte();
    let (mul_pj, mul_note) = e.pj(mul_kind(&format));
    let (add_pj, add_note) = e.pj(OpKind::F32_ADD);
    let macs = 2.0 * (p.n as f64).powi(2) * p.d as f64;
    let mut notes = vec![dram_note];
    notes.extend(mul_note);
    notes.extend(add_note);
    let mut energy = Vec::new();
    for s in &variants {
        for r in &s.rows {
            let (sram, sram_note) = e.sram_pj_per_byte_sized(r.cache_bytes);
            if !notes.contains(&sram_note) {
                notes.push(sram_note);
            }
            energy.push(EnergyRow {
                variant: s.variant.clone(),
                cache_bytes: r.cache_bytes,
                dram_bytes: r.simulated_bytes,
                sram_bytes: r.access_bytes,
                dram_pj: r.simulated_bytes as f64 * dram,
                sram_pj: r.access_bytes as f64 * sram,
                compute_pj: macs * (mul_pj + add_pj),
            });
        }
    }
    Ok(IoStudy {
        n: p.n,
        d: p.d,
        format: p.format.clone(),
        line: p.line,
        variants,
        formats,
        macs,
        mac_pj: mul_pj + add_pj,
        energy,
        dram_pj_per_byte: dram,
        energy_notes: notes,
    })
}

/// The study of memory traffic versus cache size and format (registered in `with_studies`).
pub struct Io;

impl super::Study for Io {
    type Params = IoParams;
    type Output = IoStudy;
    fn validate(params: &IoParams, ctx: &StudyContext) -> Result<(), String> {
        let _ = ctx;
        check(params).map(drop)
    }
    fn run(params: &IoParams, ctx: &StudyContext) -> Result<IoStudy, String> {
        run(params, ctx)
    }
}

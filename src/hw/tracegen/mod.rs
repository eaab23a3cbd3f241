//! Address generators: the load/store stream of each matmul and attention
//! loop structure, emitted into an [`AccessSink`] without computing
//! anything and without materializing the trace.
//!
//! Memory layout (row-major, packed sub-byte codes, block scales in their
//! own arrays) and access granularity (one access per 64-byte vector, split
//! at line boundaries) are described in [`layout`]. Operands that a schedule
//! keeps in fast memory (a C tile, FlashAttention's K_j and V_j) are
//! accessed again at each use, so a cache of the size the tiles were chosen
//! for keeps them as the schedule does; [`crate::hw::iomodel`] has the
//! matching closed forms.

mod attention;
pub mod layout;
mod matmul;
mod tiles;

pub use attention::{flash_attention, standard_attention};
pub use matmul::{gemv, naive_matmul, tiled_matmul};
pub use tiles::{flash_tiles, gemv_chunk, matmul_tiles, standard_block, standard_chunk};

use super::iomodel::ElementSize;
use super::trace::AccessSink;

/// Fast-memory size tiles are chosen for when [`TraceParams::fast_bytes`] is `None`.
pub const DEFAULT_FAST_BYTES: u64 = 64 * 1024;

/// A loop structure and its sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceParams {
    /// Generator name (`matmul/naive`, `matmul/tiled`, `matmul/gemv`,
    /// `attention/standard`, `attention/flash`).
    pub variant: String,
    /// Matmul: rows of A (tokens).
    pub m: usize,
    /// Matmul: columns of the output; attention: sequence length N.
    pub n: usize,
    /// Matmul: reduction length.
    pub k: usize,
    /// Attention: head dimension.
    pub d: usize,
    /// Element format of the operands in the format grammar (`e4m3`, `bf16`,
    /// `mxfp4`); `None` means f32.
    pub format: Option<String>,
    /// Fast-memory size in bytes that tile sizes are chosen for; `None`
    /// picks the generator's default.
    pub fast_bytes: Option<u64>,
}

/// Names of the generators, as [`TraceParams::variant`] takes them.
pub fn names() -> &'static [&'static str] {
    &[
        "matmul/naive",
        "matmul/tiled",
        "matmul/gemv",
        "attention/standard",
        "attention/flash",
    ]
}

/// Largest accepted dimension (keeps products such as d² and 2N² far from u64 overflow).
pub const MAX_DIM: usize = 1 << 20;
/// Largest accepted loop-nest size (m·n·k, m·k or N²·d).
const MAX_WORK: f64 = (1u64 << 40) as f64;

/// The sizes a generator needs, checked: `(m, n, k)` for matmuls (GEMV:
/// m×k, n unused), `(n, d)` for attention; each at most [`MAX_DIM`], their
/// loop nest at most 2^40 iterations.
pub(crate) fn check_dims(p: &TraceParams) -> Result<(), String> {
    let need = |v: usize, name: &str| {
        if v == 0 {
            Err(format!("{}: --{name} must be at least 1", p.variant))
        } else if v > MAX_DIM {
            Err(format!(
                "{}: --{name} {v} is too large (at most {MAX_DIM})",
                p.variant
            ))
        } else {
            Ok(())
        }
    };
    let known = match p.variant.as_str() {
        "matmul/naive" | "matmul/tiled" => {
            need(p.m, "m")?;
            need(p.n, "n")?;
            need(p.k, "k")
        }
        "matmul/gemv" => {
            need(p.m, "m")?;
            need(p.k, "k")
        }
        "attention/standard" | "attention/flash" => {
            need(p.n, "n")?;
            need(p.d, "d")
        }
        other => Err(format!(
            "--variant {other}: unknown generator (expected one of {})",
            names().join(", ")
        )),
    };
    known?;
    // The loop nest's size bounds the trace length (and keeps the closed forms' u64 counts exact).
    let work = match p.variant.as_str() {
        "matmul/naive" | "matmul/tiled" => p.m as f64 * p.n as f64 * p.k as f64,
        "matmul/gemv" => p.m as f64 * p.k as f64,
        _ => p.n as f64 * p.n as f64 * p.d as f64,
    };
    if work > MAX_WORK {
        return Err(format!(
            "{}: the loop nest has {work:.3e} iterations, more than the 2^40 this model handles",
            p.variant
        ));
    }
    Ok(())
}

/// Runs the generator named by `p.variant`, emitting every access into `sink`.
pub fn generate<S: AccessSink>(p: &TraceParams, sink: &mut S) -> Result<(), String> {
    check_dims(p)?;
    let es = ElementSize::parse(p.format.as_deref())?;
    let fast = p.fast_bytes.unwrap_or(DEFAULT_FAST_BYTES);
    let (m, n, k, d) = (p.m as u64, p.n as u64, p.k as u64, p.d as u64);
    match p.variant.as_str() {
        "matmul/naive" => naive_matmul(m, n, k, &es, sink),
        "matmul/tiled" => tiled_matmul(m, n, k, matmul_tiles(m, n, k, &es, fast), &es, sink),
        "matmul/gemv" => gemv(m, k, gemv_chunk(m, k, &es, fast), &es, sink),
        "attention/standard" => {
            standard_attention(n, d, standard_block(n, d, &es, fast), &es, sink)
        }
        "attention/flash" => flash_attention(n, d, flash_tiles(n, d, &es, fast), &es, sink),
        other => return Err(format!("--variant {other}: unknown generator")),
    }
    Ok(())
}

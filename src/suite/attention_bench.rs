//! Benching one attention variant's native kernel on one shape against a
//! ceiling measured in the same process (`bitsim kernels bench
//! attention/...`).
//!
//! - **Operands**: seeded plain-Gaussian Q, K, V
//!   ([`crate::workload::attention::gaussian`]; the kernels' speed does not
//!   depend on the values).
//! - **Run**: one untimed warm-up, then `reps` timed calls of the native
//!   kernel (any packing of K inside); the median is the figure.
//! - **Work**: 4·d flops per visible query–key pair (2·d for Q·Kᵀ, 2·d for
//!   P·V; the softmax not counted), so 4·N²·d per head non-causal and about
//!   half that causal (exactly N(N+1)/2 pairs). KV bytes: every cached key
//!   and value once, at the variant's stored element width.
//! - **Ceiling**: prefill is bound by compute — the peak of the kernel's
//!   base instruction ([`NativeAttention::base`]) on as many threads;
//!   decode (one query) is bound by reading the KV cache — a plain read loop
//!   over as many bytes, the fraction being KV bytes/s over the loop's.
//!   Either loop runs once after each timed call (the peak loop about a
//!   tenth of the ceiling budget) and the ceiling is the median run, so the
//!   kernel and its ceiling see the same machine. Approximate and sparse
//!   methods ([`AttentionVariant::emulation_scales_by_rows`] false) count their own
//!   work instead: 2 flops per MAC of [`AttentionVariant::cost_on`].
//! - **Emulation** (the "× emulation" figure): timed once on head 0 and the
//!   last query rows only when the full shape exceeds
//!   [`EMULATION_WORK_LIMIT`], scaled by the ratio of visible pairs (the
//!   emulation's work is linear in them), with a note saying so; methods
//!   whose work is not linear in the visible pairs are timed whole.

use std::time::Instant;

use serde::Serialize;

use super::kernel_bench::{median, time_calls, BenchOptions, CeilingKind, CeilingLoop};
use crate::attention::{AttentionVariant, AttnShape, NativeAttention, Qkv};
use crate::isa;
use crate::workload::attention::gaussian;

/// Largest emulation (visible pairs × d) timed on the full shape.
pub const EMULATION_WORK_LIMIT: f64 = 1.0e8;

/// One attention kernel's figures on one shape.
#[derive(Debug, Clone, Serialize)]
pub struct AttnBench {
    /// Variant name.
    pub variant: String,
    /// `[heads, nq, nk, d]`.
    pub shape: [usize; 4],
    /// Causal mask.
    pub causal: bool,
    /// `prefill` or `decode`.
    pub phase: String,
    /// Threads.
    pub threads: usize,
    /// ISA level the kernel ran at.
    pub isa: String,
    /// The instruction the kernel is built on.
    pub base: String,
    /// Median time, seconds.
    pub median_s: f64,
    /// Every repetition's time, seconds.
    pub times_s: Vec<f64>,
    /// GFLOP/s at the median (4·d per visible pair).
    pub gflops: f64,
    /// KV-cache bytes one call reads.
    pub kv_bytes: usize,
    /// KV GB/s at the median.
    pub kv_gbps: f64,
    /// Prefill: the base's peak; decode: a read loop.
    pub ceiling_kind: CeilingKind,
    /// The loop that set the ceiling.
    pub ceiling_what: String,
    /// The ceiling in GFLOP/s (prefill) or GB/s (decode).
    pub ceiling: f64,
    /// gflops / peak (prefill) or kv_gbps / read loop (decode).
    pub ceiling_fraction: f64,
    /// Emulation time for the whole shape, seconds (scaled when timed on fewer rows).
    pub emulation_s: Option<f64>,
    /// emulation_s / median_s.
    pub speedup_vs_emulation: Option<f64>,
    /// Prefill, kernels with a separately runnable Q·Kᵀ phase
    /// ([`NativeAttention::qk_phase`]): that phase's median time, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qk_s: Option<f64>,
    /// The Q·Kᵀ phase's GFLOP/s at its median (`2·d` per visible pair).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qk_gflops: Option<f64>,
    /// `qk_gflops / ceiling` (the same peak).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qk_fraction: Option<f64>,
    /// What to know about the figures.
    pub notes: Vec<String>,
}

/// Parses `HxNxD` (heads, tokens, head dim; each a positive integer).
pub fn parse_attn_shape(s: &str) -> Result<(usize, usize, usize), String> {
    let parts: Vec<&str> = s.split(['x', 'X']).collect();
    let dims: Option<Vec<usize>> = parts
        .iter()
        .map(|p| p.trim().parse::<usize>().ok().filter(|&d| d > 0))
        .collect();
    match dims.as_deref() {
        Some(&[h, n, d]) if parts.len() == 3 => Ok((h, n, d)),
        _ => Err("expected HxNxD with three positive integers (heads x tokens x head dim, e.g. 8x4096x128)".into()),
    }
}

/// Flops of one call: 4·d per visible pair.
pub fn flops(shape: AttnShape) -> f64 {
    4.0 * shape.d as f64 * shape.pairs()
}

/// KV-cache bytes of one call at the variant's element widths.
pub fn kv_bytes(v: &dyn AttentionVariant, shape: AttnShape) -> usize {
    let info = v.info();
    let elems = shape.heads * shape.nk * shape.d;
    elems * (info.k.bits + info.v.bits) as usize / 8
}

/// Head 0 with its last `rows` queries (all keys): the emulation's sample.
fn sample(x: &Qkv, rows: usize) -> Qkv {
    let s = x.shape;
    let shape = AttnShape {
        heads: 1,
        nq: rows,
        ..s
    };
    let q = x.q_head(0)[(s.nq - rows) * s.d..].to_vec();
    Qkv::new(shape, q, x.k_head(0).to_vec(), x.v_head(0).to_vec()).expect("a sub-tensor")
}

/// Benches `v`'s native kernel on `shape` (see the module docs). Errors: the
/// variant has no native kernel, or the thread pool cannot be built.
pub fn bench_attention(
    v: &dyn AttentionVariant,
    shape: AttnShape,
    opts: &BenchOptions,
) -> Result<AttnBench, String> {
    let kernel = v
        .native()
        .ok_or_else(|| format!("variant {} has no native kernel", v.name()))?;
    let threads = opts.threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("cannot start {threads} threads: {e}"))?;
    pool.install(|| Ok(bench_in_pool(v, &*kernel, shape, opts)))
}

fn bench_in_pool(
    v: &dyn AttentionVariant,
    kernel: &dyn NativeAttention,
    shape: AttnShape,
    opts: &BenchOptions,
) -> AttnBench {
    let threads = opts.threads.max(1);
    let x = gaussian(shape, opts.seed);
    let kv = kv_bytes(v, shape);
    let decode = shape.nq == 1;
    // The ceiling is measured alternately with the kernel (one pass after
    // each timed call, the median pass), as the matmul bench does: a shared
    // machine's bandwidth and issue rate drift within seconds.
    let ceiling_pass = if decode {
        CeilingLoop::read(kv, threads)
    } else {
        CeilingLoop::peak(kernel.base(), threads, opts.ceiling_budget / 10)
    };
    let mut rates = Vec::new();
    let times_s = time_calls(
        opts.reps,
        || kernel.run(std::hint::black_box(&x)),
        || rates.push(ceiling_pass.pass()),
    );
    let median_s = median(&times_s).max(1e-12);

    // The Q·Kᵀ phase alone (prefill: its ceiling is the same peak, whose
    // runs after these calls join the median too).
    let qk_s = if decode {
        None
    } else {
        kernel.qk_phase(&x).map(|run| {
            let times = time_calls(opts.reps, &run, || rates.push(ceiling_pass.pass()));
            median(&times).max(1e-12)
        })
    };

    // Dense methods: 4·d flops per visible pair; the others count their
    // own work (the pairs they score, their sketches, their samples).
    let mut notes = Vec::new();
    let work_flops = if v.emulation_scales_by_rows() {
        flops(shape)
    } else {
        notes.push(
            "work: the variant's own MAC count on these operands (cost_on), 2 flops each".into(),
        );
        2.0 * v.cost_on(&x).macs
    };
    let gflops = work_flops / median_s / 1e9;
    let kv_gbps = kv as f64 / median_s / 1e9;

    let ceiling = median(&rates);
    let ceiling_what = ceiling_pass.what(rates.len(), "calls");
    let (ceiling_kind, ceiling_fraction) = if decode {
        (CeilingKind::Read, kv_gbps / ceiling)
    } else {
        (CeilingKind::Peak, gflops / ceiling)
    };

    let qk_gflops = qk_s.map(|t| 2.0 * shape.d as f64 * shape.pairs() / t / 1e9);

    let emulation_s = if opts.emulation {
        let work = shape.pairs() * shape.d as f64;
        let (xe, scale) = if work <= EMULATION_WORK_LIMIT || !v.emulation_scales_by_rows() {
            (None, 1.0)
        } else {
            let per_row = shape.nk as f64 * shape.d as f64;
            let rows = ((EMULATION_WORK_LIMIT / per_row) as usize).clamp(1, shape.nq);
            let sub = sample(&x, rows);
            let scale = shape.pairs() / sub.shape.pairs();
            notes.push(format!(
                "emulation timed on head 0, last {rows} of {} rows, scaled by visible pairs",
                shape.nq
            ));
            (Some(sub), scale)
        };
        let t = Instant::now();
        std::hint::black_box(v.emulate(xe.as_ref().unwrap_or(&x)));
        Some(t.elapsed().as_secs_f64() * scale)
    } else {
        notes.push("emulation not timed".into());
        None
    };

    AttnBench {
        variant: v.name().to_string(),
        shape: [shape.heads, shape.nq, shape.nk, shape.d],
        causal: shape.causal,
        phase: if decode { "decode" } else { "prefill" }.into(),
        threads,
        isa: isa::effective().min(kernel.top_isa()).name().to_string(),
        base: kernel.base().name().to_string(),
        median_s,
        times_s,
        gflops,
        kv_bytes: kv,
        kv_gbps,
        ceiling_kind,
        ceiling_what,
        ceiling,
        ceiling_fraction,
        emulation_s,
        speedup_vs_emulation: emulation_s.map(|e| e / median_s),
        qk_s,
        qk_gflops,
        qk_fraction: qk_gflops.map(|g| g / ceiling),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::Phase;

    #[test]
    fn shapes_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_attn_shape("8x4096x128"), Ok((8, 4096, 128)));
        for bad in ["", "8x4096", "1x2x3x4", "0x2x3", "ax2x3", "-1x2x3"] {
            assert!(parse_attn_shape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flops_by_hand() {
        // 2 heads, N = 3, d = 4: 9 pairs per head non-causal, 6 causal.
        let s = AttnShape::of(2, 3, 4, false, Phase::Prefill);
        assert_eq!(flops(s), 4.0 * 4.0 * 18.0);
        let s = AttnShape::of(2, 3, 4, true, Phase::Prefill);
        assert_eq!(flops(s), 4.0 * 4.0 * 12.0);
        // Decode: one query sees all 3 keys, causal or not.
        let s = AttnShape::of(2, 3, 4, true, Phase::Decode);
        assert_eq!(flops(s), 4.0 * 4.0 * 6.0);
    }
}

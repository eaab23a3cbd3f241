//! `bitsim kernels list` and `bitsim kernels bench`: the native kernels,
//! and their speed on one shape against a ceiling measured in the same
//! process (see [`crate::suite::kernel_bench`]).

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::common::{stdout_error, table, CliError};
use super::CliResult;
use crate::attention::{self, AttentionVariant, AttnShape, Phase};
use crate::isa::IsaLevel;
use crate::suite::attention_bench::{bench_attention, parse_attn_shape};
use crate::suite::kernel_bench::{
    bench, kernel_isa, parse_shape, BenchOptions, CeilingKind, KernelBench,
};
use crate::variants::{registry, MatmulVariant};

/// The `kernels` subcommands.
#[derive(Debug, Subcommand)]
pub enum KernelsCommand {
    /// List every native kernel: its variant, base instruction, the ISA
    /// levels this CPU can run it at and the one chosen.
    List,
    /// Time native kernels on one shape against a same-run ceiling.
    Bench(BenchArgs),
    /// The throughput gate's verdict: paired rounds of two builds' `bench
    /// --json` output; exit 1 when a kernel is slower beyond noise.
    Gate(GateArgs),
}

/// Arguments of `kernels gate`.
#[derive(Debug, Clone, Args)]
pub struct GateArgs {
    /// The base build's `kernels bench --json` lines, all rounds in order.
    #[arg(long, value_name = "FILE")]
    pub base: std::path::PathBuf,
    /// The head build's lines, the same rounds in the same order.
    #[arg(long, value_name = "FILE")]
    pub head: std::path::PathBuf,
    /// Slowdown threshold θ: a kernel regressed when head is more than
    /// (1 + θ)× slower than base beyond noise.
    #[arg(long, value_name = "F", default_value_t = crate::suite::kernel_gate::THRESHOLD)]
    pub threshold: f64,
    /// Significance level of the one-sided paired t test.
    #[arg(long, value_name = "P", default_value_t = crate::suite::kernel_gate::ALPHA)]
    pub alpha: f64,
}

/// Arguments of `kernels bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Variant names or globs (`matmul/w*`); globs select the variants with
    /// a native kernel.
    #[arg(required = true, value_name = "VARIANT")]
    pub variants: Vec<String>,
    /// Shape MxKxN (activations M × K, weights N × K); M ≤ 8 is GEMV.
    /// Attention variants: HxNxD (heads × tokens × head dim).
    #[arg(long, value_name = "MxKxN|HxNxD")]
    pub shape: String,
    /// Attention only: causal mask.
    #[arg(long)]
    pub causal: bool,
    /// Attention only: decode (one query over an N-token KV cache) instead
    /// of prefill (N queries).
    #[arg(long)]
    pub decode: bool,
    /// Threads (a rayon pool of this size; the ceiling uses as many).
    #[arg(
        long,
        value_name = "T",
        default_value = "1",
        allow_hyphen_values = true
    )]
    pub threads: String,
    /// Timed repetitions of the product (the median is reported).
    #[arg(
        long,
        value_name = "R",
        default_value = "10",
        allow_hyphen_values = true
    )]
    pub reps: String,
    /// Operand seed.
    #[arg(
        long,
        value_name = "SEED",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub seed: String,
    /// Skip timing the emulation (no × emulation figure).
    #[arg(long)]
    pub no_emulation: bool,
    /// Print one JSON object per variant, one per line, instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Highest instruction set the kernels may use: scalar, avx2 or avx512
    /// [default: BITSIM_ISA, else the best this CPU has] (own field, not
    /// `isa::IsaArgs`: `cli::isa` reads it, and siblings must not import in a circle).
    #[arg(long, value_name = "LEVEL")]
    pub isa: Option<String>,
}

/// Runs a `kernels` subcommand; the exit code is 1 when `gate` finds a regression.
pub fn run(cmd: &KernelsCommand, out: &mut dyn Write) -> Result<i32, CliError> {
    match cmd {
        KernelsCommand::List => list(out).map(|_| 0),
        KernelsCommand::Bench(a) => bench_cmd(a, out).map(|_| 0),
        KernelsCommand::Gate(a) => gate(a, out),
    }
}

fn gate(a: &GateArgs, out: &mut dyn Write) -> Result<i32, CliError> {
    use crate::suite::kernel_gate::{compare, pair_rounds, read_bench_lines};
    if !(a.threshold.is_finite() && a.threshold >= 0.0) {
        return Err(CliError::new(
            format!("--threshold {}", a.threshold),
            "expected a number >= 0",
        ));
    }
    if !(a.alpha > 0.0 && a.alpha < 1.0) {
        return Err(CliError::new(
            format!("--alpha {}", a.alpha),
            "expected a number in (0, 1)",
        ));
    }
    let read = |p: &std::path::Path| {
        let at = p.display().to_string();
        let text = std::fs::read_to_string(p).map_err(|e| CliError::new(&at, e))?;
        read_bench_lines(&text).map_err(|e| CliError::new(&at, e))
    };
    let pairs = pair_rounds(&read(&a.base)?, &read(&a.head)?);
    if pairs.is_empty() {
        return Err(CliError::new(
            a.base.display().to_string(),
            "no kernel in common with --head",
        ));
    }
    let verdicts = compare(&pairs, a.threshold, a.alpha);
    let mut rows = vec![[
        "kernel",
        "rounds",
        "head/base time",
        "p (slower > θ)",
        "verdict",
    ]
    .map(String::from)
    .to_vec()];
    for v in &verdicts {
        rows.push(vec![
            v.key.clone(),
            v.rounds.to_string(),
            format!("{:.3}", v.ratio),
            v.p_value.map_or("-".into(), |p| format!("{p:.2e}")),
            if v.regressed { "REGRESSED" } else { "ok" }.into(),
        ]);
    }
    table(out, &rows).map_err(stdout_error)?;
    let bad = verdicts.iter().filter(|v| v.regressed).count();
    writeln!(
        out,
        "threshold {:.0} %, one-sided paired t test on ln(head/base) per round, alpha {}: {}",
        100.0 * a.threshold,
        a.alpha,
        if bad == 0 {
            "no regression".to_string()
        } else {
            format!("{bad} kernel(s) regressed")
        }
    )
    .map_err(stdout_error)?;
    Ok(if bad == 0 { 0 } else { 1 })
}

/// Prints every native kernel.
fn list(out: &mut dyn Write) -> CliResult {
    let mut rows = vec![vec![
        "variant".to_string(),
        "base".into(),
        "isa levels".into(),
        "chosen".into(),
    ]];
    for v in registry() {
        let Some(k) = v.native() else { continue };
        let levels: Vec<&str> = IsaLevel::available()
            .into_iter()
            .filter(|l| *l <= k.top_isa())
            .map(IsaLevel::name)
            .collect();
        rows.push(vec![
            v.name().to_string(),
            k.base().name().to_string(),
            levels.join(","),
            kernel_isa(&*k).name().to_string(),
        ]);
    }
    for v in attention::registry() {
        let Some(k) = v.native() else { continue };
        let levels: Vec<&str> = IsaLevel::available()
            .into_iter()
            .filter(|l| *l <= k.top_isa())
            .map(IsaLevel::name)
            .collect();
        rows.push(vec![
            v.name().to_string(),
            k.base().name().to_string(),
            levels.join(","),
            crate::isa::effective().min(k.top_isa()).name().to_string(),
        ]);
    }
    table(out, &rows).map_err(stdout_error)
}

/// The variants `patterns` select: each name or glob's matches with a
/// native kernel, in registry order, no duplicates.
pub fn select(
    patterns: &[String],
    all: Vec<Box<dyn MatmulVariant>>,
) -> Result<Vec<Box<dyn MatmulVariant>>, CliError> {
    select_native(patterns, all, |v| v.name(), |v| v.native().is_some())
}

/// The items of `all` (a registry, in its order) that `patterns` select:
/// each name or glob's matches that `has_native`, no duplicates. A pattern
/// that matches nothing, or only items without a native kernel, is an error
/// naming it. Matmul and attention registries share this one rule.
fn select_native<T>(
    patterns: &[String],
    all: Vec<T>,
    name: impl Fn(&T) -> &str,
    has_native: impl Fn(&T) -> bool,
) -> Result<Vec<T>, CliError> {
    let mut picked = vec![false; all.len()];
    for p in patterns {
        let pat = glob::Pattern::new(p).map_err(|e| {
            CliError::new(format!("variant '{p}'"), format!("not a valid glob: {e}"))
        })?;
        let hits: Vec<usize> = (0..all.len())
            .filter(|&i| pat.matches(name(&all[i])))
            .collect();
        if hits.is_empty() {
            return Err(CliError::new(
                format!("variant '{p}'"),
                "matches no registered variant (see `bitsim variants list`)",
            ));
        }
        let native: Vec<usize> = hits.into_iter().filter(|&i| has_native(&all[i])).collect();
        if native.is_empty() {
            return Err(CliError::new(
                format!("variant '{p}'"),
                "has no native kernel (see `bitsim kernels list`)",
            ));
        }
        native.into_iter().for_each(|i| picked[i] = true);
    }
    Ok(all
        .into_iter()
        .zip(picked)
        .filter_map(|(v, p)| p.then_some(v))
        .collect())
}

/// A number flag in `lo..=hi`.
fn bounded(flag: &str, s: &str, lo: u64, hi: u64) -> Result<u64, CliError> {
    s.parse::<u64>()
        .ok()
        .filter(|n| (lo..=hi).contains(n))
        .ok_or_else(|| {
            CliError::new(
                format!("{flag} {s}"),
                format!("expected an integer in {lo}..={hi}"),
            )
        })
}

/// Bench options from the flags.
fn options(a: &BenchArgs) -> Result<BenchOptions, CliError> {
    Ok(BenchOptions {
        reps: bounded("--reps", &a.reps, 1, 100_000)? as u32,
        threads: bounded("--threads", &a.threads, 1, 1024)? as usize,
        seed: a.seed.parse().map_err(|_| {
            CliError::new(format!("--seed {}", a.seed), "expected an unsigned integer")
        })?,
        ceiling_budget: Duration::from_millis(300),
        emulation: !a.no_emulation,
    })
}

fn bench_cmd(a: &BenchArgs, out: &mut dyn Write) -> CliResult {
    let attn = a
        .variants
        .iter()
        .filter(|p| p.starts_with("attention/"))
        .count();
    if attn == a.variants.len() {
        return attention_bench_cmd(a, out);
    }
    if attn > 0 {
        return Err(CliError::new(
            format!(
                "variant '{}'",
                a.variants
                    .iter()
                    .find(|p| p.starts_with("attention/"))
                    .expect("one")
            ),
            "attention and matmul variants take different shapes; bench them in separate runs",
        ));
    }
    if a.causal || a.decode {
        return Err(CliError::new(
            if a.causal { "--causal" } else { "--decode" },
            "applies to attention variants only",
        ));
    }
    let shape =
        parse_shape(&a.shape).map_err(|e| CliError::new(format!("--shape {}", a.shape), e))?;
    let opts = options(a)?;
    let variants = select(&a.variants, registry())?;
    let mut rows = vec![header()];
    for v in &variants {
        let b = bench(&**v, shape, &opts).map_err(|e| CliError::new(v.name(), e))?;
        if a.json {
            let line = serde_json::to_string(&b).map_err(|e| CliError::new(v.name(), e))?;
            writeln!(out, "{line}").map_err(stdout_error)?;
            out.flush().map_err(stdout_error)?;
        } else {
            rows.push(row(&b));
        }
    }
    if !a.json {
        table(out, &rows).map_err(stdout_error)?;
    }
    Ok(())
}

/// The attention variants `patterns` select that have a native kernel, in
/// registry order.
fn select_attention(patterns: &[String]) -> Result<Vec<Box<dyn AttentionVariant>>, CliError> {
    select_native(
        patterns,
        attention::registry(),
        |v| v.name(),
        |v| v.native().is_some(),
    )
}

fn attention_bench_cmd(a: &BenchArgs, out: &mut dyn Write) -> CliResult {
    let (heads, n, d) =
        parse_attn_shape(&a.shape).map_err(|e| CliError::new(format!("--shape {}", a.shape), e))?;
    let phase = if a.decode {
        Phase::Decode
    } else {
        Phase::Prefill
    };
    let shape = AttnShape::of(heads, n, d, a.causal, phase);
    let opts = options(a)?;
    let variants = select_attention(&a.variants)?;
    let mut rows = vec![[
        "variant",
        "shape",
        "phase",
        "threads",
        "isa",
        "base",
        "median ms",
        "GFLOP/s",
        "KV GB/s",
        "ceiling",
        "of ceiling",
        "x emulation",
    ]
    .map(String::from)
    .to_vec()];
    let mut benches = Vec::new();
    for v in &variants {
        let b = bench_attention(&**v, shape, &opts).map_err(|e| CliError::new(v.name(), e))?;
        if a.json {
            let line = serde_json::to_string(&b).map_err(|e| CliError::new(v.name(), e))?;
            writeln!(out, "{line}").map_err(stdout_error)?;
            out.flush().map_err(stdout_error)?;
            continue;
        }
        let ceiling = match b.ceiling_kind {
            CeilingKind::Read => format!("read {:.1} GB/s", b.ceiling),
            CeilingKind::Peak => format!("{} {:.1} GFLOP/s", b.base, b.ceiling),
        };
        rows.push(vec![
            b.variant.clone(),
            format!("{heads}x{n}x{d}{}", if b.causal { " causal" } else { "" }),
            b.phase.clone(),
            b.threads.to_string(),
            b.isa.clone(),
            b.base.clone(),
            format!("{:.3}", b.median_s * 1e3),
            format!("{:.2}", b.gflops),
            format!("{:.2}", b.kv_gbps),
            ceiling,
            format!("{:.1}%", 100.0 * b.ceiling_fraction),
            b.speedup_vs_emulation
                .map_or("-".into(), |s| format!("{s:.1}")),
        ]);
        benches.push(b);
    }
    if !a.json {
        table(out, &rows).map_err(stdout_error)?;
        for (v, b) in variants.iter().zip(&benches) {
            if let (Some(t), Some(g), Some(f)) = (b.qk_s, b.qk_gflops, b.qk_fraction) {
                writeln!(
                    out,
                    "{}: Q·Kᵀ phase alone {:.3} ms, {g:.1} GFLOP/s, {:.1}% of the {} peak",
                    v.name(),
                    t * 1e3,
                    100.0 * f,
                    b.base
                )
                .map_err(stdout_error)?;
            }
        }
    }
    Ok(())
}

fn header() -> Vec<String> {
    [
        "variant",
        "shape",
        "threads",
        "isa",
        "base",
        "pack ms",
        "median ms",
        "GOP/s",
        "weight GB/s",
        "ceiling",
        "of ceiling",
        "x emulation",
    ]
    .map(String::from)
    .to_vec()
}

fn row(b: &KernelBench) -> Vec<String> {
    let ceiling = match b.ceiling_gbps {
        Some(gbps) => format!("read {gbps:.1} GB/s"),
        None => format!("{} {:.1} GOP/s", b.base, b.ceiling_gops),
    };
    vec![
        b.variant.clone(),
        format!("{}x{}x{}", b.shape[0], b.shape[1], b.shape[2]),
        b.threads.to_string(),
        b.isa.clone(),
        b.base.clone(),
        format!("{:.2}", b.pack_s * 1e3),
        format!("{:.3}", b.median_s * 1e3),
        format!("{:.2}", b.gops),
        format!("{:.2}", b.weight_gbps),
        ceiling,
        format!("{:.1}%", 100.0 * b.ceiling_fraction),
        b.speedup_vs_emulation
            .map_or("-".into(), |s| format!("{s:.1}")),
    ]
}

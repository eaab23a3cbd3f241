//! `bitsim calibrate`: measures this machine's compute and memory-bandwidth
//! ceilings for the roofline and writes them as a machine file
//! ([`crate::hw::roofline::Machine`]). The kernels and timing live in
//! [`crate::hw::roofline::calibrate`]; this file parses, runs and prints.
//!
//! Compute: independent chains of one instruction, enough of them (16
//! registers) to hide its latency on every current x86 core, chosen at run
//! time: f32 FMA (`vfmadd231ps` zmm with AVX-512, ymm with AVX2+FMA, else
//! portable scalar code), bf16 dot (`vdpbf16ps` zmm with AVX512-BF16) and
//! int8 VNNI (`vpdpbusd` zmm with AVX512-VNNI); the last two are reported
//! as unavailable without those features. Memory: reads of a buffer much
//! larger than the last-level cache (DRAM), and, where the cache sizes are
//! known (Linux sysfs), of buffers half the size of the L2 (one per thread)
//! and of the L3. Each is measured on one thread and on
//! `--threads` threads at once; a rate is the best of several timed runs
//! (the ceiling is what the machine can do, noise only slows it down).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::common::{stdout_error, write_atomically, CliError, CliResult};
use crate::hw::roofline::calibrate::{
    cache_bytes, compute_kernels, fill, rate, read_rate, unavailable_reason,
};
use crate::hw::roofline::{Ceiling, ComputeKind, Machine, MemLevel};

/// Arguments of `calibrate`.
#[derive(Debug, Clone, Args)]
pub struct CalibrateArgs {
    /// Total measuring time in seconds, shared by all measurements (buffer
    /// set-up comes on top).
    #[arg(
        long,
        value_name = "S",
        default_value = "2",
        allow_hyphen_values = true
    )]
    pub seconds: String,
    /// Write the ceilings as a machine TOML for the roofline (atomically).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Threads for the all-cores figures [default: the available parallelism].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub threads: Option<String>,
    /// Size of the DRAM bandwidth buffer in MiB; keep it far above the
    /// last-level cache.
    #[arg(
        long,
        value_name = "MIB",
        default_value = "256",
        allow_hyphen_values = true
    )]
    pub dram_mib: String,
    /// Instruction-set cap for the kernels (`--isa`).
    #[command(flatten)]
    pub isa: super::isa::IsaArgs,
}

/// Runs `calibrate`.
pub fn run(args: &CalibrateArgs, out: &mut dyn Write) -> CliResult {
    let seconds: f64 = args
        .seconds
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 3600.0)
        .ok_or_else(|| {
            CliError::new(
                format!("--seconds {}", args.seconds),
                "expected a number of seconds in (0, 3600]",
            )
        })?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // More threads than this measure the scheduler, not the machine (and
    // each one holds its own cache-sized buffers).
    let max_threads = (4 * cpus).min(1024);
    let threads = match &args.threads {
        None => cpus,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|&n| (1..=max_threads).contains(&n))
            .ok_or_else(|| {
                CliError::new(
                    format!("--threads {t}"),
                    format!(
                        "expected a whole number of threads from 1 to {max_threads} \
                         (4 × the {cpus} this machine has)"
                    ),
                )
            })?,
    };
    // The DRAM buffer must fit in memory with room to spare: at most half
    // of what is available now (65536 MiB where that cannot be read).
    let avail = available_mib();
    let max_dram = avail.map_or(65536, |a| (a / 2).clamp(1, 65536));
    let dram_mib: usize = args
        .dram_mib
        .parse()
        .ok()
        .filter(|&m| (1..=max_dram).contains(&m))
        .ok_or_else(|| {
            let why = match avail {
                Some(a) => format!(" (half of the {a} MiB of memory available)"),
                None => String::new(),
            };
            CliError::new(
                format!("--dram-mib {}", args.dram_mib),
                format!("expected a whole number of MiB from 1 to {max_dram}{why}"),
            )
        })?;
    // Check the output folder before spending seconds measuring.
    if let Some(path) = &args.out {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(CliError::new(
                path.display().to_string(),
                format!("cannot write output: no folder '{}'", dir.display()),
            ));
        }
        if path.is_dir() {
            return Err(CliError::new(
                path.display().to_string(),
                "cannot write output: it is a folder",
            ));
        }
    }

    let kernels = compute_kernels();
    // Budget: each compute kernel and memory level twice (1 and N threads).
    let slots = ((kernels.len() + 3) * 2) as f64;
    let slot = Duration::from_secs_f64(seconds / slots);
    let cpu = crate::suite::meta::cpu_model();
    let stamp = format!(
        "bitsim calibrate on {cpu} at {}",
        crate::suite::meta::rfc3339_utc(std::time::SystemTime::now())
    );

    let mut rows: Vec<Row> = Vec::new();
    let mut machine = Machine {
        name: "calibrated".into(),
        description: format!("{cpu}, {threads} threads, measured by bitsim calibrate"),
        cores: u32::try_from(threads).unwrap_or(u32::MAX),
        compute: Default::default(),
        bandwidth: Default::default(),
    };
    for k in &ComputeKind::ALL {
        match kernels.iter().find(|c| c.kind == *k) {
            Some(c) => {
                let one = rate(c.ops_per_iter, slot, 1, &|n| (c.run)(n));
                let all = rate(c.ops_per_iter, slot, threads, &|n| (c.run)(n));
                machine.compute.insert(
                    *k,
                    Ceiling {
                        per_core: one,
                        all_cores: all,
                        source: format!("{stamp}: {}", c.what),
                    },
                );
                rows.push(Row::new(c.kind.label(), c.what, one, all, c.kind.unit()));
            }
            None if *k != ComputeKind::F64Fma => {
                rows.push(Row::unavailable(k.label(), unavailable_reason(*k)));
            }
            None => {}
        }
    }
    let dram_words = dram_mib * (1 << 20) / 8;
    let buf = fill(dram_words);
    let one = read_rate(&buf, 1, slot);
    let all = read_rate(&buf, threads, slot);
    drop(buf);
    let what = format!("read of a {dram_mib} MiB buffer");
    rows.push(Row::new("DRAM read", &what, one, all, "GB/s"));
    machine.bandwidth.insert(
        MemLevel::Dram,
        Ceiling {
            per_core: one,
            all_cores: all,
            source: format!("{stamp}: {what}"),
        },
    );
    // Caches: half of each, so that the buffer stays resident; the L2 is per
    // core (one half-L2 slice per thread), the L3 shared.
    for (level, label) in [(MemLevel::L2, "L2 read"), (MemLevel::L3, "L3 read")] {
        let Some(bytes) = cache_bytes(if level == MemLevel::L2 { 2 } else { 3 }) else {
            rows.push(Row::unavailable(label, "unavailable: cache size unknown"));
            continue;
        };
        let half = (bytes / 2 / 8).max(64);
        let (buf, what) = if level == MemLevel::L2 {
            (
                fill(half * threads),
                format!("read of {} KiB per thread", half * 8 / 1024),
            )
        } else {
            (
                fill(half),
                format!("read of a {} KiB buffer", half * 8 / 1024),
            )
        };
        let one = read_rate(&buf[..half], 1, slot);
        let all = read_rate(&buf, threads, slot);
        rows.push(Row::new(label, &what, one, all, "GB/s"));
        machine.bandwidth.insert(
            level,
            Ceiling {
                per_core: one,
                all_cores: all,
                source: format!("{stamp}: {what}"),
            },
        );
    }

    // The file first: a failed write leaves nothing on stdout.
    if let Some(path) = &args.out {
        let text = machine.to_toml();
        let header = format!(
            "# Roofline ceilings measured by `bitsim calibrate --seconds {seconds} --threads {threads}`.\n\
             # Noisy on shared machines: the best of several runs per number.\n"
        );
        write_atomically(path, |f| {
            f.write_all(header.as_bytes())?;
            f.write_all(text.as_bytes())
        })?;
    }
    print_table(out, &cpu, threads, seconds, &rows).map_err(stdout_error)?;
    if let Some(path) = &args.out {
        writeln!(out, "wrote {}", path.display()).map_err(stdout_error)?;
    }
    Ok(())
}

/// One printed row.
struct Row {
    label: String,
    what: String,
    values: Option<(f64, f64, &'static str)>,
}

impl Row {
    fn new(label: &str, what: &str, one: f64, all: f64, unit: &'static str) -> Row {
        Row {
            label: label.into(),
            what: what.into(),
            values: Some((one, all, unit)),
        }
    }

    fn unavailable(label: &str, why: &str) -> Row {
        Row {
            label: label.into(),
            what: why.into(),
            values: None,
        }
    }
}

fn print_table(
    out: &mut dyn Write,
    cpu: &str,
    threads: usize,
    seconds: f64,
    rows: &[Row],
) -> std::io::Result<()> {
    writeln!(out, "calibrate: {cpu}, {threads} threads, {seconds} s")?;
    let all = format!("{threads} threads");
    writeln!(
        out,
        "{:<10} {:>10} {:>12}  {:<8} how",
        "ceiling", "1 thread", all, "unit"
    )?;
    for r in rows {
        match r.values {
            Some((one, all, unit)) => writeln!(
                out,
                "{:<10} {:>10.1} {:>12.1}  {:<8} {}",
                r.label, one, all, unit, r.what
            )?,
            None => writeln!(
                out,
                "{:<10} {:>10} {:>12}  {:<8} {}",
                r.label, "-", "-", "", r.what
            )?,
        }
    }
    Ok(())
}

/// Memory available to a new allocation, in MiB (`MemAvailable` of
/// `/proc/meminfo`; `None` where there is no such file).
fn available_mib() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

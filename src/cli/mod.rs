//! The `bitsim` command line: one module per subcommand.
//!
//! Every error, whatever its source, is one line on stderr,
//! `bitsim: error: <input>: <reason>`, with exit code 2; clap's own usage
//! errors also exit with 2. Nothing here panics on bad input, and output
//! files are written atomically (see [`common::write_atomically`]).

pub mod arith;
pub mod attention;
pub mod cachesim;
pub mod calibrate;
pub mod common;
pub mod compare;
pub mod embed;
pub mod explore;
pub mod formats;
pub mod io;
pub mod isa;
pub mod merge;
pub mod metrics;
mod progress;
mod sweep_progress;

pub mod kernels;
pub mod quantize;
pub mod report;
pub mod sim;
pub mod variants;

use std::ffi::OsString;
use std::io::Write;

use clap::{CommandFactory, Parser, Subcommand};

pub use common::{CliError, CliResult};

/// Exit code for every error (bad input, bad flags, I/O).
pub const EXIT_ERROR: i32 = 2;

/// bitsim: bit-exact emulation of low-bit number formats.
#[derive(Debug, Parser)]
#[command(name = "bitsim", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect number formats: list, show, encode, decode.
    #[command(subcommand)]
    Formats(formats::FormatsCommand),
    /// Quantize a .npy array to a format.
    Quantize(quantize::QuantizeArgs),
    /// Inspect matmul variants: list.
    #[command(subcommand)]
    Variants(variants::VariantsCommand),
    /// Run a benchmark suite and write results.csv, results.json and an HTML report.
    Report(report::ReportArgs),
    /// Compare two results.json files; exit 1 when a metric regressed.
    Compare(compare::CompareArgs),
    /// One operation of an arithmetic unit: exact result, unit result, bits, error.
    Arith(arith::ArithArgs),
    /// Cycles, utilisation and energy per layer of an accelerator model.
    Sim(sim::SimArgs),
    /// Closed-form and simulated memory traffic of an address generator per cache size.
    Io(io::IoArgs),
    /// Per-level statistics of a cache hierarchy on an address generator's accesses or a trace.
    Cachesim(cachesim::CachesimArgs),
    /// Measure this machine's compute and bandwidth ceilings (for the roofline).
    Calibrate(calibrate::CalibrateArgs),
    /// Explore the number-format design space: Pareto fronts of bits, error and energy.
    Explore(explore::ExploreArgs),
    /// Join the results of a sharded `report` or `explore` run (`--shard K/N`).
    Merge(merge::MergeArgs),
    /// The metric table of the results: name, unit, which way is better, timing or result.
    Metrics(metrics::MetricsArgs),

    /// Sentence embeddings from the real model (all-MiniLM-L6-v2) on chosen variants.
    Embed(embed::EmbedArgs),

    /// Attention variants on your own Q, K, V: run one.
    #[command(subcommand)]
    Attention(attention::AttentionCommand),
    /// Native SIMD kernels: list them, bench them against a same-run ceiling.
    #[command(subcommand)]
    Kernels(kernels::KernelsCommand),
}

/// Runs the CLI on the given arguments (including the program name) and
/// returns the process exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let cli = match Cli::try_parse_from(escape_negative_values(args)) {
        Ok(c) => c,
        // Help and version go to stdout with code 0, and a failed write of
        // them (`--help > /dev/full`) is an error like any other output's.
        Err(e) if !e.use_stderr() => {
            let mut stdout = std::io::stdout().lock();
            let written = write!(stdout, "{}", e.render()).and_then(|_| stdout.flush());
            return match written.map_err(common::stdout_error) {
                Ok(()) => e.exit_code(),
                Err(w) if w.reason == common::BROKEN_PIPE => 0,
                Err(w) => {
                    let _ = writeln!(std::io::stderr(), "bitsim: error: {w}");
                    EXIT_ERROR
                }
            };
        }
        // Usage errors go to stderr with code 2.
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = run(cli, &mut out).and_then(|code| {
        out.flush().map_err(common::stdout_error)?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        // A closed pipe (`bitsim formats show fp16 | head`) is not an error.
        Err(e) if e.input == "stdout" && e.reason == common::BROKEN_PIPE => 0,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "bitsim: error: {e}");
            EXIT_ERROR
        }
    }
}

/// Runs a parsed command, writing its report to `out`; returns the exit code
/// of a command that succeeded (0, or 1 for `compare` with a regression, 130
/// for an interrupted `report`).
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<i32, CliError> {
    isa::apply(&cli.command)?;
    match cli.command {
        Command::Formats(c) => formats::run(c, out).map(|_| 0),
        Command::Quantize(a) => quantize::run(&a, out).map(|_| 0),
        Command::Variants(c) => variants::run(c, out).map(|_| 0),
        Command::Report(a) => report::run(&a, out),
        Command::Compare(a) => compare::run(&a, out),
        Command::Arith(a) => arith::run(&a, out).map(|_| 0),
        Command::Sim(a) => sim::run(&a, out).map(|_| 0),
        Command::Io(a) => io::run(&a, out).map(|_| 0),
        Command::Cachesim(a) => cachesim::run(&a, out).map(|_| 0),
        Command::Calibrate(a) => calibrate::run(&a, out).map(|_| 0),
        Command::Merge(a) => merge::run(&a, out),
        Command::Metrics(a) => metrics::run(&a, out).map(|_| 0),
        Command::Explore(a) => explore::run(&a, out),
        Command::Embed(a) => embed::run(&a, out).map(|_| 0),

        Command::Attention(c) => attention::run(&c, out).map(|_| 0),
        Command::Kernels(c) => kernels::run(&c, out),
    }
}

/// Lets `formats encode` take values that start with `-` (`-0`, `-1e-9`,
/// `-inf`, `-nan`) anywhere among its flags.
///
/// clap alone cannot: `allow_negative_numbers` misses `-inf` and `-1e-9`, and
/// `allow_hyphen_values` on the values also swallows the flags that follow
/// them. So the arguments after `formats encode` are reordered into flags
/// (with their values), then `--`, then the positional arguments in their
/// original order; a token starting with `-` that parses as a number is
/// positional. Which flags take a value is read from the clap definition.
pub fn escape_negative_values(args: Vec<OsString>) -> Vec<OsString> {
    let is = |i: usize, s: &str| args.get(i).is_some_and(|a| a == s);
    if !(is(1, "formats") && is(2, "encode")) {
        return args;
    }
    let cmd = Cli::command();
    let Some(enc) = cmd
        .find_subcommand("formats")
        .and_then(|f| f.find_subcommand("encode"))
    else {
        return args;
    };
    let takes_value = |tok: &str| {
        enc.get_arguments().any(|a| {
            let named = match tok.strip_prefix("--") {
                Some(long) => a.get_long() == Some(long),
                None => {
                    tok.len() == 2 && a.get_short().map(|c| format!("-{c}")).as_deref() == Some(tok)
                }
            };
            named && a.get_action().takes_values()
        })
    };
    let (mut flags, mut positional) = (Vec::new(), Vec::new());
    let mut rest = args[3..].iter();
    while let Some(a) = rest.next() {
        let Some(tok) = a.to_str() else {
            positional.push(a.clone());
            continue;
        };
        if tok == "--" {
            positional.extend(rest.by_ref().cloned());
        } else if tok.starts_with('-') && tok.len() > 1 && tok.parse::<f64>().is_err() {
            flags.push(a.clone());
            if !tok.contains('=') && takes_value(tok) {
                flags.extend(rest.next().cloned());
            }
        } else {
            positional.push(a.clone());
        }
    }
    let mut out = args[..3].to_vec();
    out.extend(flags);
    if !positional.is_empty() {
        out.push("--".into());
        out.extend(positional);
    }
    out
}

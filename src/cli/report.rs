//! `bitsim report`: run a suite (the built-in default unless `--suite`),
//! write `results.csv` / `results.json`, and render `index.html`; or render
//! an existing results file (`--from`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use clap::Args;

use super::common::{stdout_error, CliError};
use super::compare::load;
use crate::report::write_report;
use crate::suite::files::{CSV_NAME, JSON_NAME};
use crate::suite::record::Results;
use crate::suite::{self, spec, RunOptions, Suite};
use crate::variants::registry;

/// Exit code of a run stopped by Ctrl-C (128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Arguments of `report`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Runs every cell (variant x workload x shape x seed) of the suite, writing\n\
DIR/results.csv and DIR/results.json as cells complete, then DIR/index.html.\n\
Ctrl-C stops starting new cells, keeps every finished one on disk and exits with 130;\n\
--resume then runs only the missing cells."
)]
pub struct ReportArgs {
    /// Suite spec (TOML) [default: the built-in bench-suites/default.toml].
    #[arg(long, value_name = "FILE")]
    pub suite: Option<PathBuf>,
    /// Output folder [default: the suite's `out`; with --from, the results file's folder].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// An earlier results.json to compare with in the report.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// Render this results.json instead of running a suite.
    #[arg(long, value_name = "RESULTS.json", conflicts_with_all = ["suite", "resume"])]
    pub from: Option<PathBuf>,
    /// Keep the cells already in DIR/results.json and run only the others.
    #[arg(long)]
    pub resume: bool,
    /// Run only shard K of N (0-based; `auto` reads SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT
    /// or JOB_COMPLETION_INDEX/BITSIM_SHARD_COUNT); join the shards with `bitsim merge`.
    #[arg(long, value_name = "K/N|auto", conflicts_with = "from")]
    pub shard: Option<String>,
    /// Instruction-set cap for the kernels (`--isa`).
    #[command(flatten)]
    pub isa: super::isa::IsaArgs,
}

/// Parses a `--shard` value (reading the scheduler's environment for `auto`).
pub fn parse_shard(arg: Option<&str>) -> Result<Option<suite::Shard>, CliError> {
    arg.map(|s| {
        suite::Shard::parse(s, |k| std::env::var(k).ok())
            .map_err(|e| CliError::new(format!("--shard {s}"), e))
    })
    .transpose()
}

/// Set by Ctrl-C: the runner starts no new cell.
static STOP: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler once: the first Ctrl-C asks the run to stop
/// after the cells in flight, a second one exits at once.
pub(crate) fn install_ctrlc() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // If another handler is installed already, runs are simply not interruptible.
        let _ = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                std::process::exit(EXIT_INTERRUPTED);
            }
        });
    });
}

/// The flag Ctrl-C sets (for other long-running commands).
pub(crate) fn stop_flag() -> &'static AtomicBool {
    &STOP
}

/// A suite error as a CLI error (same input, same reason).
fn run_error(e: suite::RunError) -> CliError {
    CliError::new(e.input, e.reason)
}

/// Loads the suite and checks everything it needs before anything is written.
fn load_suite(args: &ReportArgs, names: &[&str]) -> Result<Suite, CliError> {
    let s = match &args.suite {
        Some(p) => spec::load(p, names),
        None => spec::default_suite(names),
    };
    s.map_err(|e| CliError::new(e.location(), e.message()))
}

/// Runs `report`; returns the exit code (0, or [`EXIT_INTERRUPTED`]).
pub fn run(args: &ReportArgs, out: &mut dyn Write) -> Result<i32, CliError> {
    if let Some(from) = &args.from {
        let results = load(from)?;
        let baseline = args.baseline.as_deref().map(load).transpose()?;
        let dir = match &args.out {
            Some(d) => d.clone(),
            None => match from.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            },
        };
        check_out_dir(&dir)?;
        let index = render(&results, baseline.as_ref(), &dir)?;
        writeln!(out, "wrote {}", index.display()).map_err(stdout_error)?;
        writeln!(out, "{}", summary_line(&results)).map_err(stdout_error)?;
        return Ok(0);
    }

    let shard = parse_shard(args.shard.as_deref())?;
    let variants = registry();
    // Attention variants run on the suite's attention workloads.
    let attention = crate::attention::registry();
    let names: Vec<&str> = variants
        .iter()
        .map(|v| v.name())
        .chain(attention.iter().map(|v| v.name()))
        .collect();
    let suite = load_suite(args, &names)?;
    let table = suite::energy_table(&suite).map_err(run_error)?;
    let baseline = args.baseline.as_deref().map(load).transpose()?;
    let dir = args.out.clone().unwrap_or_else(|| suite.out.clone());
    check_out_dir(&dir)?;

    install_ctrlc();
    let mut opts = RunOptions::new(&dir);
    opts.resume = args.resume;
    opts.stop = Some(&STOP);
    opts.shard = shard;
    let s = suite::run(&suite, &variants, &table, &opts).map_err(run_error)?;
    if s.interrupted {
        eprintln!(
            "bitsim: interrupted: {} of {} cells done, kept in {}; `{}` runs the rest",
            s.cells_run + s.cells_resumed,
            s.cells,
            dir.join(JSON_NAME).display(),
            resume_command(args, &dir)
        );
        return Ok(EXIT_INTERRUPTED);
    }
    if let Some(shard) = shard {
        writeln!(
            out,
            "shard {shard}: wrote {}, {} ({} of {} cells; join the shards with `bitsim merge`)",
            dir.join(CSV_NAME).display(),
            dir.join(JSON_NAME).display(),
            s.cells_run + s.cells_resumed,
            s.cells
        )
        .map_err(stdout_error)?;
        return Ok(0);
    }
    let index = render(&s.results, baseline.as_ref(), &dir)?;
    writeln!(
        out,
        "wrote {}, {}, {}",
        index.display(),
        dir.join(CSV_NAME).display(),
        dir.join(JSON_NAME).display()
    )
    .map_err(stdout_error)?;
    let resumed = if s.cells_resumed > 0 {
        format!(" ({} resumed)", s.cells_resumed)
    } else {
        String::new()
    };
    writeln!(
        out,
        "{}{resumed}; ran in {:.1} s",
        summary_line(&s.results),
        s.elapsed.as_secs_f64()
    )
    .map_err(stdout_error)?;
    Ok(0)
}

/// The command that resumes this run: the same suite, folder and shard.
fn resume_command(args: &ReportArgs, dir: &Path) -> String {
    let mut c = String::from("bitsim report");
    if let Some(p) = &args.suite {
        c += &format!(" --suite {}", p.display());
    }
    c += &format!(" --out {} --resume", dir.display());
    if let Some(sh) = &args.shard {
        c += &format!(" --shard {sh}");
    }
    c
}

/// The output folder must be a folder (or not exist yet).
fn check_out_dir(dir: &Path) -> Result<(), CliError> {
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::new(
            format!("--out {}", dir.display()),
            "exists and is not a folder",
        ));
    }
    Ok(())
}

/// Writes `DIR/index.html` for `results` (creating DIR).
pub fn render(
    results: &Results,
    baseline: Option<&Results>,
    dir: &Path,
) -> Result<PathBuf, CliError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::new(
            dir.display().to_string(),
            format!("cannot create folder: {e}"),
        )
    })?;
    write_report(results, baseline, dir)
        .map_err(|e| CliError::new(dir.join("index.html").display().to_string(), e))
}

/// `suite NAME: V variants x W workloads x S shapes x N seeds = C cells, R rows`.
pub fn summary_line(r: &Results) -> String {
    let count = |f: fn(&crate::suite::record::Measurement) -> String| {
        let mut v: Vec<String> = r.rows.iter().map(f).collect();
        v.sort();
        v.dedup();
        v.len()
    };
    let cells = {
        let mut v: Vec<_> = r.rows.iter().map(|m| m.cell_key()).collect();
        v.sort();
        v.dedup();
        v.len()
    };
    format!(
        "suite {}: {} variants, {} workloads, {} shapes, {} seeds: {} cells, {} rows",
        r.meta.suite,
        count(|m| m.variant.clone()),
        count(|m| m.workload.clone()),
        count(|m| m.shape.clone()),
        count(|m| m.seed.to_string()),
        cells,
        r.rows.len()
    )
}

//! `bitsim explore`: the format design-space explorer. Measures every
//! configuration of a space (the built-in `bench-suites/explore.toml`
//! unless `--spec`) and writes `results.csv`, `results.json` and
//! `index.html` with the Pareto fronts.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::common::{stdout_error, CliError};
use crate::hw::energy::EnergyTable;
use crate::suite::explore::{self, spec};
use crate::suite::files::{CSV_NAME, JSON_NAME};

/// Arguments of `explore`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The space, constraint and tensors come from the [explore] table of the spec\n\
(see bench-suites/explore.toml). Results are written as configurations complete;\n\
Ctrl-C keeps every finished one and --resume runs the rest."
)]
pub struct ExploreArgs {
    /// Spec file with an [explore] table [default: the built-in bench-suites/explore.toml].
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Output folder [default: the spec's `out`].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Keep the configurations already complete in DIR/results.json and run only the others.
    #[arg(long)]
    pub resume: bool,
    /// Run only shard K of N (0-based; `auto` reads the scheduler's environment); join with `bitsim merge`.
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<String>,
    /// Print the configurations and exit without measuring.
    #[arg(long)]
    pub list: bool,
}

/// Runs `explore`; returns the exit code (0, or 130 when interrupted).
pub fn run(args: &ExploreArgs, out: &mut dyn Write) -> Result<i32, CliError> {
    let shard = super::report::parse_shard(args.shard.as_deref())?;
    let spec = match &args.spec {
        Some(p) => spec::load(p),
        None => spec::default_spec(),
    }
    .map_err(|e| match e.split_once(": ") {
        Some((a, b)) => CliError::new(a, b),
        None => CliError::new("explore", e),
    })?;
    if args.list {
        for c in &spec.configs {
            writeln!(out, "{c}").map_err(stdout_error)?;
        }
        writeln!(out, "{} configurations", spec.configs.len()).map_err(stdout_error)?;
        return Ok(0);
    }
    let table = EnergyTable::load(&spec.energy)
        .map_err(|e| CliError::new(format!("{}: explore.energy", spec.file), e))?;
    let dir = args.out.clone().unwrap_or_else(|| spec.out.clone());
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::new(
            format!("--out {}", dir.display()),
            "exists and is not a folder",
        ));
    }
    super::report::install_ctrlc();
    let opts = explore::ExploreOptions {
        out_dir: dir.clone(),
        resume: args.resume,
        progress: true,
        stop: Some(super::report::stop_flag()),
        shard,
    };
    let s = explore::run(&spec, &table, &spec.energy, &opts)
        .map_err(|e| CliError::new(e.input, e.reason))?;
    if s.interrupted {
        eprintln!(
            "bitsim: interrupted: {} of {} configurations done, kept in {}; `bitsim explore --resume` runs the rest",
            s.run + s.resumed,
            s.owned,
            dir.join(JSON_NAME).display()
        );
        return Ok(super::report::EXIT_INTERRUPTED);
    }
    let what = format!(
        "{} configurations x {} values ({} run, {} resumed) in {:.1} s",
        s.owned,
        s.values,
        s.run,
        s.resumed,
        s.elapsed.as_secs_f64()
    );
    let model = match (&s.model_skipped, &spec.model) {
        (Some(why), _) => format!("; model scores skipped: {why}"),
        (None, Some(t)) => format!(
            "; model {}: {} candidates scored ({} resumed)",
            t.written, s.model_run, s.model_resumed
        ),
        (None, None) => String::new(),
    };
    let what = format!("{what}{model}");
    if let Some(shard) = shard {
        writeln!(
            out,
            "shard {shard}: wrote {}, {}; {what} (join the shards with `bitsim merge`)",
            dir.join(CSV_NAME).display(),
            dir.join(JSON_NAME).display()
        )
        .map_err(stdout_error)?;
        return Ok(0);
    }
    let index = super::report::render(&s.results, None, &dir)?;
    writeln!(
        out,
        "wrote {}, {}, {}",
        index.display(),
        dir.join(CSV_NAME).display(),
        dir.join(JSON_NAME).display()
    )
    .map_err(stdout_error)?;
    writeln!(out, "explore {}: {what}", spec.name).map_err(stdout_error)?;
    Ok(0)
}

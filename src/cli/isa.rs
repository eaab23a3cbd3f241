//! `--isa`: the user's cap on the instruction-set level the kernels and fast
//! paths run at (see [`crate::isa`]), shared by the commands that run them
//! (`report`, `quantize`, `calibrate`), and the `BITSIM_ISA` check.

use clap::Args;

use super::common::CliError;
use super::Command;
use crate::isa::{self, IsaLevel};

/// The `--isa` flag, flattened into the arguments of the commands that run kernels.
#[derive(Debug, Clone, Default, Args)]
pub struct IsaArgs {
    /// Highest instruction set the kernels may use: scalar, avx2 or avx512
    /// [default: BITSIM_ISA, else the best this CPU has]. A level above the
    /// CPU's is no error: the kernels run at the lower of the two. Outputs are
    /// the same at every level; only speed differs.
    #[arg(long, value_name = "LEVEL")]
    pub isa: Option<String>,
}

/// The `--isa` value of a parsed command, if it has the flag and it was given.
fn flag(cmd: &Command) -> Option<&str> {
    match cmd {
        Command::Report(a) => a.isa.isa.as_deref(),
        Command::Quantize(a) => a.isa.isa.as_deref(),
        Command::Calibrate(a) => a.isa.isa.as_deref(),
        Command::Embed(a) => a.isa.isa.as_deref(),
        Command::Kernels(super::kernels::KernelsCommand::Bench(a)) => a.isa.as_deref(),
        _ => None,
    }
}

/// Sets the cap for this run: `--isa` if given, else `BITSIM_ISA`, else none.
/// A bad value of either is a one-line error; the flag wins over the variable
/// (a bad `BITSIM_ISA` is then not consulted).
pub fn apply(cmd: &Command) -> Result<(), CliError> {
    let level = match flag(cmd) {
        Some(name) => IsaLevel::from_name(name).ok_or_else(|| {
            CliError::new(format!("--isa {name}"), "expected scalar, avx2 or avx512")
        })?,
        None => isa::cap_from_env()
            .map_err(|e| {
                CliError::new(
                    format!("BITSIM_ISA '{}'", e.0),
                    "expected scalar, avx2 or avx512",
                )
            })?
            .unwrap_or(IsaLevel::Avx512),
    };
    // Set even without a flag, so one process running several commands (the
    // tests) gives each its own cap.
    isa::set_cap(level);
    Ok(())
}

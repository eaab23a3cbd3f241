//! The pipeline's one owner: a parsed suite in, the results files out. It
//! loads the energy table, runs the cells (see [`super::runner`]), then the
//! studies, and writes `results.csv` / `results.json` as cells complete and
//! once at the end.

use super::error::RunError;
use super::measure::Toolkit;
use super::runner::{progress_bar, run_cells, RunOptions, RunSummary};
use super::spec::Suite;
use super::studies::{self, StudyContext};
use crate::hw::energy::EnergyTable;
use crate::variants::MatmulVariant;

/// The energy table the suite names; the error names the spec line of `energy`.
pub fn energy_table(suite: &Suite) -> Result<EnergyTable, RunError> {
    EnergyTable::load(&suite.energy).map_err(|e| {
        let at = match suite.energy_line {
            Some(l) => format!("{} line {l}", suite.file),
            None => suite.file.clone(),
        };
        // The table's errors mostly start with its name already: not twice.
        let reason = if e.starts_with(suite.energy.as_str()) {
            format!("energy: {e}")
        } else {
            format!("energy '{}': {e}", suite.energy)
        };
        RunError::new(at, reason)
    })
}

/// Runs `suite`: checks its studies' values (an error names the spec line),
/// then every cell with the variants of `registry` and energy from
/// `table`, then (unless stopped) its studies, writing the results files into
/// `opts.out_dir`. A stopped run keeps its completed cells on disk and reports
/// `interrupted`; `opts.resume` runs only the missing cells.
pub fn run(
    suite: &Suite,
    registry: &[Box<dyn MatmulVariant>],
    table: &EnergyTable,
    opts: &RunOptions,
) -> Result<RunSummary, RunError> {
    let toolkit = Toolkit::standard(table);
    // The studies that take the suite's variants take its matmul variants
    // (the attention study chooses its own).
    let matmul: Vec<String> = suite
        .variants
        .iter()
        .filter(|v| !super::spec::is_attention(v))
        .cloned()
        .collect();
    let ctx = StudyContext {
        energy: table,
        base: &suite.base,
        seed: suite.seeds[0],
        variants: &matmul,
    };
    // Every study value is checked before the first cell: a bad one must not
    // cost the run (nor leave results without their studies).
    studies::validate(&suite.studies, &ctx).map_err(|(name, e)| {
        RunError::new(
            suite.study_error_at(name, &e),
            format!("studies.{name}: {e}"),
        )
    })?;
    let studies_here = opts.shard.is_none_or(|s| s.index == 0);
    run_cells(suite, registry, &toolkit, opts, |results| {
        if !studies_here {
            return Ok(()); // the studies run in shard 0 of a sharded run
        }
        let bar = progress_bar(opts.progress, studies::enabled(&suite.studies), "studies");
        let mut started = 0;
        let ran = studies::run_watched(&suite.studies, &ctx, &mut |name| {
            bar.set_position(started); // the studies before this one are done
            bar.set_message(name);
            started += 1;
        });
        bar.finish_and_clear();
        results.studies = ran.map_err(|e| RunError::new(suite.file.clone(), e))?;
        Ok(())
    })
}

//! `bitsim sim SPEC.toml`: cycles, utilisation and energy per layer of an accelerator model (BitMoD, Stripes, Loom).
//!
//! A `bitmod` file prints, for every design and phase (prefill, decode), one
//! row per layer and a `total` row, then each design's speedup and energy
//! ratio against the file's baseline. A `stripes` file prints each layer's
//! baseline, Stripes and Loom cycles and their speedups. `--csv` prints the
//! same rows as CSV (one header line).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::common::{num, stdout_error, table, CliError, CliResult};
use crate::hw::accel::bitmod::{simulate, Design, LayerResult, Model, Phase, Totals};
use crate::hw::accel::config::{BitmodFile, StripesFile};
use crate::hw::accel::{load, stripes, SimFile};

/// Arguments of `sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Scenario file: `sims/bitmod.toml` (BitMoD array model) or `sims/stripes.toml` (Stripes/Loom).
    #[arg(value_name = "SPEC.toml")]
    pub file: PathBuf,
    /// Model (network) of the file to simulate [default: the file's first].
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Print CSV instead of an aligned table.
    #[arg(long)]
    pub csv: bool,
}

/// Splits a loader error `origin[:line]: reason` into the CLI's input and reason.
fn load_error(origin: &str, e: &str) -> CliError {
    match e
        .get(origin.len()..)
        .and_then(|rest| rest.find(": ").map(|i| origin.len() + i))
    {
        Some(i) if e.starts_with(origin) => CliError::new(&e[..i], &e[i + 2..]),
        _ => CliError::new(origin, e),
    }
}

/// Runs `sim`.
pub fn run(args: &SimArgs, out: &mut dyn Write) -> CliResult {
    let origin = args.file.display().to_string();
    let file = load(&args.file).map_err(|e| load_error(&origin, &e))?;
    let rows = match &file {
        SimFile::Bitmod(f) => bitmod_rows(f, args.model.as_deref())?,
        SimFile::Stripes(f) => stripes_rows(f, args.model.as_deref())?,
    };
    if args.csv {
        for r in &rows {
            writeln!(out, "{}", r.join(",")).map_err(stdout_error)?;
        }
        Ok(())
    } else {
        table(out, &rows).map_err(stdout_error)
    }
}

fn pick<'a, T>(
    items: &'a [T],
    name_of: impl Fn(&T) -> &str,
    wanted: Option<&str>,
) -> Result<&'a T, CliError> {
    match wanted {
        None => items
            .first()
            .ok_or_else(|| CliError::new("--model", "the file has no models")),
        Some(w) => items.iter().find(|m| name_of(m) == w).ok_or_else(|| {
            let names: Vec<&str> = items.iter().map(&name_of).collect();
            CliError::new(
                format!("--model {w}"),
                format!("unknown model (the file has: {})", names.join(", ")),
            )
        }),
    }
}

/// µJ from pJ.
fn uj(pj: f64) -> String {
    num((pj / 1e6 * 1000.0).round() / 1000.0)
}

/// [`simulate`], its overflow a one-line error naming model, design and phase
/// (files loaded from disk are checked at load time, with the line).
fn sim_checked(
    d: &Design,
    f: &BitmodFile,
    m: &Model,
    phase: Phase,
) -> Result<(Vec<LayerResult>, Totals), CliError> {
    simulate(d, &f.memory, m, phase).map_err(|e| {
        CliError::new(
            format!(
                "{} model '{}' design '{}' {}",
                f.name,
                m.name,
                d.name,
                phase.name()
            ),
            e.to_string(),
        )
    })
}

/// The header and rows of a BitMoD-file run.
pub fn bitmod_rows(f: &BitmodFile, model: Option<&str>) -> Result<Vec<Vec<String>>, CliError> {
    let m = pick(&f.models, |m| m.name.as_str(), model)?;
    let mut rows = vec![[
        "model",
        "design",
        "phase",
        "layer",
        "repeat",
        "compute_cycles",
        "dram_cycles",
        "cycles",
        "utilisation",
        "compute_uj",
        "dram_uj",
        "energy_uj",
        "speedup",
        "energy_ratio",
    ]
    .map(String::from)
    .to_vec()];
    for phase in Phase::ALL {
        let base = f
            .designs
            .iter()
            .find(|d| d.name == f.baseline)
            .map(|d| sim_checked(d, f, m, phase).map(|r| r.1))
            .transpose()?
            .unwrap_or_default();
        for d in &f.designs {
            let (layers, t) = sim_checked(d, f, m, phase)?;
            for l in &layers {
                rows.push(vec![
                    m.name.clone(),
                    d.name.clone(),
                    phase.name().into(),
                    l.layer.clone(),
                    l.repeat.to_string(),
                    l.compute_cycles.to_string(),
                    l.dram_cycles.to_string(),
                    l.cycles.to_string(),
                    format!("{:.3}", l.utilisation),
                    uj(l.compute_pj),
                    uj(l.dram_pj),
                    uj(l.compute_pj + l.dram_pj),
                    String::new(),
                    String::new(),
                ]);
            }
            rows.push(total_row(&m.name, &d.name, phase, d, &t, &base));
        }
    }
    Ok(rows)
}

fn total_row(
    model: &str,
    design: &str,
    phase: Phase,
    d: &Design,
    t: &Totals,
    base: &Totals,
) -> Vec<String> {
    let [r, c] = d.array(phase);
    let peak = r as f64 * c as f64 * d.dp as f64 / d.latency(phase) as f64;
    let util = if t.cycles == 0 {
        0.0
    } else {
        t.macs / (peak * t.cycles as f64)
    };
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.3}", a / b)
        } else {
            String::new()
        }
    };
    vec![
        model.into(),
        design.into(),
        phase.name().into(),
        "total".into(),
        String::new(),
        t.compute_cycles.to_string(),
        t.dram_cycles.to_string(),
        t.cycles.to_string(),
        format!("{util:.3}"),
        uj(t.compute_pj),
        uj(t.dram_pj),
        uj(t.energy_pj()),
        ratio(base.cycles as f64, t.cycles as f64),
        ratio(t.energy_pj(), base.energy_pj()),
    ]
}

/// The header and rows of a Stripes-file run.
pub fn stripes_rows(f: &StripesFile, model: Option<&str>) -> Result<Vec<Vec<String>>, CliError> {
    let net = pick(&f.models, |m| m.name.as_str(), model)?;
    let mut rows = vec![[
        "model",
        "layer",
        "kind",
        "p_a",
        "p_w",
        "parallel_cycles",
        "stripes_cycles",
        "loom_cycles",
        "stripes_speedup",
        "loom_speedup",
    ]
    .map(String::from)
    .to_vec()];
    let res = stripes::simulate(net, f.parallel_macs_per_cycle);
    let (mut tp, mut ts, mut tl) = (0.0, 0.0, 0.0);
    let sp = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.3}", a / b)
        } else {
            String::new()
        }
    };
    for r in &res {
        tp += r.parallel;
        ts += r.stripes;
        tl += r.loom;
        rows.push(vec![
            net.name.clone(),
            r.layer.clone(),
            r.kind.name().into(),
            r.p_a.to_string(),
            r.p_w.to_string(),
            num(r.parallel),
            num(r.stripes),
            num(r.loom),
            sp(r.parallel, r.stripes),
            sp(r.parallel, r.loom),
        ]);
    }
    rows.push(vec![
        net.name.clone(),
        "total".into(),
        String::new(),
        String::new(),
        String::new(),
        num(tp),
        num(ts),
        num(tl),
        sp(tp, ts),
        sp(tp, tl),
    ]);
    Ok(rows)
}

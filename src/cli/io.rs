//! `bitsim io`: closed-form and simulated memory traffic of an address generator, side by side, per cache size.
//!
//! For each cache size the generator's tiles are chosen for that size; the
//! row shows the exact count of that schedule (reads + writes, and with the
//! fills of a write-allocate cache), the lower bound and its regime, the
//! bytes one simulated LRU level of that size moves to and from memory, and
//! simulated / closed form (with fills).

use std::io::Write;

use clap::Args;

use super::common::{parse_uint, stdout_error, CliError, CliResult};
use super::sweep_progress::SweepProgress;
use crate::hw::io_sweep::{band, sweep_observed, CacheSpec, SweepError, SweepRow};
use crate::hw::tiles::ElementSize;
use crate::hw::tracegen::{Dim, DimError, Generator, TraceParams};
use crate::size::{parse_size_list, size_label};

/// Arguments of `io`.
#[derive(Debug, Clone, Args)]
pub struct IoArgs {
    /// Address generator: matmul/naive, matmul/tiled, matmul/gemv, attention/standard, attention/flash.
    #[arg(long, value_name = "NAME", required_unless_present = "variant")]
    pub generator: Option<String>,
    /// The old name of --generator, still accepted.
    #[arg(long, value_name = "NAME", conflicts_with = "generator")]
    pub variant: Option<String>,
    /// Attention: sequence length N; matmul: columns of the output.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub n: Option<String>,
    /// Attention: head dimension.
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    pub d: Option<String>,
    /// Matmul and GEMV: rows of A.
    #[arg(long, value_name = "M", allow_hyphen_values = true)]
    pub m: Option<String>,
    /// Matmul and GEMV: reduction length.
    #[arg(long, value_name = "K", allow_hyphen_values = true)]
    pub k: Option<String>,
    /// Cache sizes, comma-separated (`64KiB,256KiB,1MiB`; K, KB and KiB all mean 1024).
    #[arg(long, value_name = "LIST", default_value = "16KiB,64KiB,256KiB,1MiB")]
    pub cache: String,
    /// Element format of the operands [default: f32].
    #[arg(long, value_name = "F")]
    pub format: Option<String>,
    /// Line size of the simulated cache, bytes.
    #[arg(
        long,
        value_name = "BYTES",
        default_value = "64",
        allow_hyphen_values = true
    )]
    pub line: String,
    /// Associativity of the simulated cache; 0 = fully associative.
    #[arg(
        long,
        value_name = "W",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub ways: String,
    /// Print CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
}

/// The generator named by `--generator` or its old name `--variant`, with the
/// flag that named it (errors name the flag the user typed).
pub(super) fn generator_flag<'a>(
    generator: &'a Option<String>,
    variant: &'a Option<String>,
) -> Option<(&'static str, &'a str)> {
    match (generator, variant) {
        (Some(g), _) => Some(("--generator", g)),
        (None, Some(v)) => Some(("--variant", v)),
        (None, None) => None,
    }
}

/// "--m, --n and --k": the flags of the sizes `g` needs.
fn needs(g: Generator) -> String {
    let flags: Vec<String> = g.dims().iter().map(|d| format!("--{d}")).collect();
    match flags.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Refuses a size flag the generator does not use (`--m` for
/// attention/flash), which would otherwise be ignored without a word.
pub(super) fn refuse_unused_dims(
    g: Generator,
    given: [(Dim, Option<&str>); 4],
) -> Result<(), CliError> {
    let used = g.dims();
    match given.iter().find(|(d, v)| v.is_some() && !used.contains(d)) {
        Some((d, Some(v))) => Err(CliError::new(
            format!("--{d} {v}"),
            format!("{g} does not use it (it takes {})", needs(g)),
        )),
        _ => Ok(()),
    }
}

fn dim(flag: &str, v: &Option<String>, g: Generator) -> Result<usize, CliError> {
    let Some(s) = v else {
        return Err(CliError::new(
            format!("--{flag}"),
            format!("missing: {g} needs {}", needs(g)),
        ));
    };
    let n = parse_uint(s).map_err(|e| CliError::new(format!("--{flag} {s}"), e))?;
    if n == 0 {
        return Err(CliError::new(format!("--{flag} {s}"), "must be at least 1"));
    }
    usize::try_from(n).map_err(|_| CliError::new(format!("--{flag} {s}"), "too large"))
}

/// A size the generator rejects, located at its flag: `attention/standard:
/// --n 2000000 is too large (at most 1048576)`.
fn dim_error(e: &DimError) -> CliError {
    CliError::new(e.generator.name(), e.problem.reason(|d| format!("--{d}")))
}

/// The flag to blame for a cache `c` whose geometry [`CacheSpec::check`]
/// refuses: `--line` for a line that is no power of two or larger than the
/// cache, `--ways` for ways that do not divide the lines, else `--cache`
/// (the sizes may be the default, which the user never typed).
fn cache_flag(c: &CacheSpec, args: &IoArgs) -> String {
    let line = c.line as u64;
    if line == 0 || !line.is_power_of_two() || c.size < line {
        format!("--line {}", args.line)
    } else if c.size.is_multiple_of(line) {
        format!("--ways {}", args.ways)
    } else {
        format!("--cache {}", args.cache)
    }
}

/// Runs `io`.
pub fn run(args: &IoArgs, out: &mut dyn Write) -> CliResult {
    let (flag, name) = generator_flag(&args.generator, &args.variant)
        .ok_or_else(|| CliError::new("io", "no generator: give --generator NAME"))?;
    let g = Generator::parse(name).map_err(|_| {
        // The reason says "variant" after the old flag, so its errors stay as they were.
        let what = flag.trim_start_matches("--");
        CliError::new(
            format!("{flag} {name}"),
            format!(
                "unknown {what} (expected one of {})",
                Generator::names().join(", ")
            ),
        )
    })?;
    let mut p = TraceParams {
        generator: g,
        m: 0,
        n: 0,
        k: 0,
        d: 0,
        format: ElementSize::f32(),
        fast_bytes: None,
    };
    refuse_unused_dims(
        g,
        [
            (Dim::M, args.m.as_deref()),
            (Dim::N, args.n.as_deref()),
            (Dim::K, args.k.as_deref()),
            (Dim::D, args.d.as_deref()),
        ],
    )?;
    for d in g.dims() {
        let given = match d {
            Dim::M => &args.m,
            Dim::N => &args.n,
            Dim::K => &args.k,
            Dim::D => &args.d,
        };
        d.set(&mut p, dim(d.name(), given, g)?);
    }
    if let Some(f) = &args.format {
        p.format =
            ElementSize::parse(Some(f)).map_err(|e| CliError::new(format!("--format {f}"), e))?;
    }
    let sizes = parse_size_list(&args.cache)
        .map_err(|e| CliError::new(format!("--cache {}", args.cache), e))?;
    // Each size is one simulation of the whole trace.
    if sizes.len() > MAX_CACHE_SIZES {
        return Err(CliError::new(
            "--cache",
            format!(
                "{} sizes given; at most {MAX_CACHE_SIZES} (each one simulates the whole trace)",
                sizes.len()
            ),
        ));
    }
    let line = parse_uint(&args.line)
        .ok()
        .and_then(|l| u32::try_from(l).ok())
        .ok_or_else(|| {
            CliError::new(format!("--line {}", args.line), "not a line size in bytes")
        })?;
    let ways = parse_uint(&args.ways)
        .ok()
        .and_then(|w| u32::try_from(w).ok())
        .ok_or_else(|| CliError::new(format!("--ways {}", args.ways), "not a way count"))?;
    let caches: Vec<CacheSpec> = sizes
        .iter()
        .map(|&size| CacheSpec { size, line, ways })
        .collect();
    for c in &caches {
        c.check()
            .map_err(|e| CliError::new(cache_flag(c, args), e))?;
    }
    p.check().map_err(|e| dim_error(&e))?;
    p.check_simulated_work()
        .map_err(|e| CliError::new(g.name(), e))?;
    // Sweeps of more than a few seconds show a bar (on a terminal); it is
    // cleared before the table is written.
    let rows =
        sweep_observed(&p, &caches, &SweepProgress::new(caches.len())).map_err(|e| match e {
            SweepError::Dims(e) => dim_error(&e),
            SweepError::Cache { reason, .. } => CliError::new(g.name(), reason),
        })?;
    let text = if args.csv {
        csv(&rows)
    } else {
        table(&p, &rows)
    };
    out.write_all(text.as_bytes()).map_err(stdout_error)
}

/// Most cache sizes one `io` run simulates.
pub const MAX_CACHE_SIZES: usize = 64;

/// CSV columns, in order.
pub const CSV_HEADER: &str = "cache_bytes,line,ways,m_words,tiles,schedule,regime,bound_term,closed_bytes,closed_cached_bytes,lower_bound_bytes,simulated_bytes,ratio";

fn csv(rows: &[SweepRow]) -> String {
    let mut s = format!("{CSV_HEADER}\n");
    for r in rows {
        s += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.cache.size,
            r.cache.line,
            r.cache.ways,
            r.closed.m_words,
            r.closed.tiles,
            r.closed.count.regime,
            r.closed.bound.regime,
            bound_term(r),
            r.closed.count.bytes(),
            r.closed.count.cached_bytes(),
            r.closed.bound.bytes,
            r.simulated_bytes,
            r.ratio
        );
    }
    s
}

fn table(p: &TraceParams, rows: &[SweepRow]) -> String {
    let mut s = format!(
        "{} ({}), {}; one {} LRU level, {}-byte lines; bytes to and from memory\n",
        p.generator,
        p.describe(),
        p.format.name,
        match rows.first().map(|r| r.cache.ways) {
            Some(0) | None => "fully associative".to_string(),
            Some(w) => format!("{w}-way"),
        },
        rows.first().map(|r| r.cache.line).unwrap_or(64),
    );
    let head = [
        "cache",
        "M words",
        "tiles",
        "schedule",
        "regime",
        "bound term",
        "closed",
        "closed+fills",
        "bound",
        "simulated",
        "sim/closed",
    ];
    let body: Vec<[String; 11]> = rows
        .iter()
        .map(|r| {
            [
                size_label(r.cache.size),
                r.closed.m_words.to_string(),
                r.closed.tiles.clone(),
                r.closed.count.regime.to_string(),
                r.closed.bound.regime.to_string(),
                bound_term(r).to_string(),
                format!("{:.0}", r.closed.count.bytes()),
                format!("{:.0}", r.closed.count.cached_bytes()),
                format!("{:.0}", r.closed.bound.bytes),
                r.simulated_bytes.to_string(),
                format!("{:.3}", r.ratio),
            ]
        })
        .collect();
    let width: Vec<usize> = (0..head.len())
        .map(|i| {
            body.iter()
                .map(|r| r[i].len())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                l += "  ";
            }
            if i >= 6 || i == 1 {
                l += &format!("{c:>w$}", w = width[i]);
            } else {
                l += &format!("{c:<w$}", w = width[i]);
            }
        }
        l.trim_end().to_string() + "\n"
    };
    s += &line(head.to_vec());
    for r in &body {
        s += &line(r.iter().map(String::as_str).collect());
    }
    let (lo, hi) = band(rows);
    s += &format!("simulated / closed form (with fills): {lo:.3} .. {hi:.3}\n");
    s
}

/// Which term of the bound is larger: the regime's leading term or the compulsory traffic.
fn bound_term(r: &SweepRow) -> &'static str {
    if r.closed.bound.compulsory {
        "compulsory"
    } else {
        "leading"
    }
}

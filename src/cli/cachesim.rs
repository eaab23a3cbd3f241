//! `bitsim cachesim`: per-level statistics of a cache hierarchy replaying an address generator's accesses or a trace file.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;

use super::common::{parse_uint, table, write_atomically, CliError, CliResult};
use crate::hw::cache::config::parse_policy;
use crate::hw::cache::opt::belady;
use crate::hw::cache::reference::ReferenceHierarchy;
use crate::hw::cache::tracefile::MAX_ACCESS_BYTES;
use crate::hw::cache::tracefile::{
    read_bin, read_din_reference, read_trace_threaded, BinWriter, DinWriter, TraceFormat,
};
use crate::hw::cache::{
    parse_level, parse_size, Hierarchy, HierarchyConfig, Inclusion, LevelConfig, LevelStats,
    WritePolicy,
};
use crate::hw::tiles::ElementSize;
use crate::hw::trace::{Access, AccessSink, Tee};
use crate::hw::tracegen::{generate, Dim, Generator, TraceParams};

/// Arguments of `cachesim`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "HIERARCHY: --hierarchy takes a TOML file or a built-in name (cache-zen5, cache-gpu-sm,\n\
cache-tiny); --level (repeatable, fastest level first) takes NAME:SIZE:WAYS:LINE:POLICY[:wt|:wb],\n\
e.g. --level L1:48KiB:12:64:lru --level L2:1MiB:16:64:lru. WAYS is a count, or 0 / full for a\n\
fully associative level; POLICY is lru, fifo, random (random=SEED for another seed) or plru;\n\
levels are write-back with write-allocate unless :wt (write-through, no write-allocate).\n\
--inclusion inclusive|nine|exclusive (default: the file's `inclusion` key, else inclusive):\n\
inclusive back-invalidates copies above a line a level replaces; nine (non-inclusive,\n\
non-exclusive, as pycachesim and Dinero) fills every level that missed and evicts\n\
independently; exclusive keeps each line in one level (victims move down, hits below move\n\
up; write-back levels with one line size). --policy overrides every level's policy; --policy opt runs Belady's\n\
ideal replacement on a single level (the whole trace is held in memory for it).\n\n\
ACCESSES: --trace FILE reads a Dinero IV din trace (`<label> <hex address>` per line; 0 read,\n\
1 write, 2 fetch; the rest of a line is ignored; every access is --access-size bytes) or a\n\
binary trace (.bin/.bstrace, or --trace-format bin; see the rustdoc of hw::cache::tracefile).\n\
--generator NAME runs an address generator (matmul/naive, matmul/tiled, matmul/gemv,\n\
attention/standard, attention/flash) with --m --n --k --d and the element --format;\n\
--variant NAME is its old name, still accepted.\n\
--dump-trace FILE also writes the accesses (binary for .bin/.bstrace, else din; din has no\n\
size field, so a din dump is refused when sizes are mixed and names the size to replay with).\n\n\
OUTPUT: one row per level: accesses (line requests reaching the level), hits, misses, hit\n\
rate, evictions, write-backs, bytes in and out; the last level's bytes are memory traffic.\n\
--csv prints level,accesses,hits,misses,evictions,writebacks,bytes_in,bytes_out instead.\n\
--flush writes dirty lines back at the end (counted)."
)]
pub struct CachesimArgs {
    /// Hierarchy TOML file or built-in name (cache-zen5, cache-gpu-sm, cache-tiny).
    #[arg(long, value_name = "FILE")]
    pub hierarchy: Option<String>,
    /// One level, NAME:SIZE:WAYS:LINE:POLICY[:wt|:wb]; repeat, fastest first.
    #[arg(long, value_name = "SPEC")]
    pub level: Vec<String>,
    /// Replacement policy for every level: lru, fifo, random, plru, or opt (one level only).
    #[arg(long, value_name = "P")]
    pub policy: Option<String>,
    /// How levels share lines: inclusive, nine or exclusive [default: the hierarchy's, else inclusive].
    #[arg(long, value_name = "I")]
    pub inclusion: Option<String>,
    /// Trace file to replay.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Trace format: din or bin [default: bin for .bin/.bstrace, else din].
    #[arg(long = "trace-format", value_name = "F")]
    pub trace_format: Option<String>,
    /// Bytes per access of a din trace [default: 8].
    #[arg(long = "access-size", value_name = "N")]
    pub access_size: Option<String>,
    /// Address generator (matmul/naive, matmul/tiled, matmul/gemv, attention/standard, attention/flash).
    #[arg(long, value_name = "NAME")]
    pub generator: Option<String>,
    /// The old name of --generator, still accepted.
    #[arg(long, value_name = "NAME", conflicts_with = "generator")]
    pub variant: Option<String>,
    /// Matmul rows of A [default: 64].
    #[arg(long, value_name = "M")]
    pub m: Option<String>,
    /// Matmul output columns; attention sequence length [default: 64].
    #[arg(long, value_name = "N")]
    pub n: Option<String>,
    /// Matmul reduction length [default: 64].
    #[arg(long, value_name = "K")]
    pub k: Option<String>,
    /// Attention head dimension [default: 64].
    #[arg(long, value_name = "D")]
    pub d: Option<String>,
    /// Element format of the generator's operands [default: f32].
    #[arg(long, value_name = "F")]
    pub format: Option<String>,
    /// Fast-memory bytes the generator tiles for [default: the first level's size].
    #[arg(long = "fast-bytes", value_name = "SIZE")]
    pub fast_bytes: Option<String>,
    /// Also write the accesses to this trace file.
    #[arg(long = "dump-trace", value_name = "FILE")]
    pub dump_trace: Option<PathBuf>,
    /// Write dirty lines back at the end (and count them).
    #[arg(long)]
    pub flush: bool,
    /// CSV output: level,accesses,hits,misses,evictions,writebacks,bytes_in,bytes_out.
    #[arg(long)]
    pub csv: bool,
    /// Run the slow reference simulator and trace reader instead (same
    /// statistics; for cross-checks and speed comparisons).
    #[arg(long)]
    pub reference: bool,
}

/// Runs `cachesim`.
pub fn run(args: &CachesimArgs, out: &mut dyn Write) -> CliResult {
    let (cfg, opt) = hierarchy(args)?;
    let source = Source::new(args, &cfg)?;
    let (stats, count, din_size) = if opt {
        let mut trace: Vec<Access> = Vec::new();
        let (count, din_size) = feed_with_dump(args, &source, &mut trace)?;
        let stats = belady(&cfg.levels[0], &trace, args.flush)
            .map_err(|e| CliError::new("--policy opt", e))?;
        (vec![stats], count, din_size)
    } else if args.reference {
        let mut sim = ReferenceHierarchy::new(&cfg).map_err(|e| CliError::new("cachesim", e))?;
        let (count, din_size) = feed_with_dump(args, &source, &mut sim)?;
        if args.flush {
            sim.flush();
        }
        (sim.stats(), count, din_size)
    } else {
        // Split into parts where exact (see `Hierarchy::parallel`), on the
        // pool's threads less the one a trace file's reader parses on: on
        // two cores, two parts beside the reader made the whole process
        // 1.2-1.4x slower than one part (BENCHMARKS.md).
        let reader = usize::from(matches!(source, Source::Trace { .. }));
        let threads = rayon::current_num_threads().saturating_sub(reader).max(1);
        let mut sim =
            Hierarchy::parallel(&cfg, threads).map_err(|e| CliError::new("cachesim", e))?;
        let (count, din_size) = feed_with_dump(args, &source, &mut sim)?;
        if args.flush {
            sim.flush();
        }
        (sim.stats(), count, din_size)
    };
    print(args, &cfg, &source, opt, &stats, count, out).map_err(super::common::stdout_error)?;
    if let (Some(size), false, Some(path)) = (din_size, args.csv, &args.dump_trace) {
        // din drops sizes: say which one a replay needs.
        writeln!(
            out,
            "trace {}: din keeps no sizes; every access was {size} bytes (replay with --access-size {size})",
            path.display()
        )
        .map_err(super::common::stdout_error)?;
    }
    Ok(())
}

/// The hierarchy from `--hierarchy` or `--level`, with `--policy` applied;
/// `true` when the policy is OPT.
fn hierarchy(args: &CachesimArgs) -> Result<(HierarchyConfig, bool), CliError> {
    let mut cfg = match (&args.hierarchy, args.level.is_empty()) {
        (Some(_), false) => {
            return Err(CliError::new(
                "--hierarchy",
                "give either --hierarchy or --level, not both",
            ))
        }
        (None, true) => {
            return Err(CliError::new(
                "cachesim",
                "no hierarchy: give --hierarchy FILE or --level NAME:SIZE:WAYS:LINE:POLICY",
            ))
        }
        (Some(h), true) => HierarchyConfig::load(h).map_err(|e| CliError::new("--hierarchy", e))?,
        (None, false) => {
            let levels = args
                .level
                .iter()
                .map(|s| parse_level(s).map_err(|e| CliError::new(format!("--level {s}"), e)))
                .collect::<Result<Vec<LevelConfig>, _>>()?;
            HierarchyConfig {
                name: "inline".into(),
                levels,
                inclusion: Inclusion::default(),
            }
        }
    };
    if let Some(i) = &args.inclusion {
        cfg.inclusion =
            Inclusion::parse(i).map_err(|e| CliError::new(format!("--inclusion {i}"), e))?;
    }
    let mut opt = false;
    if let Some(p) = &args.policy {
        let flag = || format!("--policy {p}");
        if p.trim().eq_ignore_ascii_case("opt") {
            if cfg.levels.len() != 1 {
                return Err(CliError::new(
                    flag(),
                    format!(
                        "OPT simulates one level; the hierarchy has {}",
                        cfg.levels.len()
                    ),
                ));
            }
            if cfg.levels[0].write == WritePolicy::WriteThrough {
                return Err(CliError::new(flag(), "OPT models write-back levels only"));
            }
            opt = true;
        } else {
            let seed = |l: &LevelConfig| match l.policy {
                crate::hw::cache::Policy::Random { seed } => seed,
                _ => 0,
            };
            for l in &mut cfg.levels {
                l.policy = parse_policy(p, seed(l))
                    .map_err(|e| CliError::new(flag(), format!("{e}, or opt")))?;
            }
        }
    }
    cfg.validate().map_err(|e| CliError::new("cachesim", e))?;
    Ok((cfg, opt))
}

/// Where the accesses come from.
enum Source {
    Trace {
        path: PathBuf,
        format: TraceFormat,
        access_size: u32,
    },
    /// An address generator, with the flag that named it.
    Generator {
        /// `--generator` or its old name `--variant`.
        flag: &'static str,
        /// The generator, its sizes and format.
        params: TraceParams,
    },
}

impl Source {
    fn new(args: &CachesimArgs, cfg: &HierarchyConfig) -> Result<Self, CliError> {
        let generator = super::io::generator_flag(&args.generator, &args.variant);
        match (&args.trace, generator) {
            (Some(_), Some((flag, _))) => Err(CliError::new(
                "--trace",
                format!("give either --trace or {flag}, not both"),
            )),
            (None, None) => Err(CliError::new(
                "cachesim",
                "no accesses: give --trace FILE or --generator NAME",
            )),
            (Some(path), None) => {
                // A trace carries its own addresses: the generator's flags
                // would be ignored, so they are refused.
                let generator_only = [
                    ("--m", args.m.as_deref()),
                    ("--n", args.n.as_deref()),
                    ("--k", args.k.as_deref()),
                    ("--d", args.d.as_deref()),
                    ("--format", args.format.as_deref()),
                    ("--fast-bytes", args.fast_bytes.as_deref()),
                ];
                if let Some((f, Some(v))) = generator_only.iter().find(|(_, v)| v.is_some()) {
                    return Err(CliError::new(
                        format!("{f} {v}"),
                        "applies to --generator only (a trace carries its own addresses)",
                    ));
                }
                let format = match &args.trace_format {
                    Some(f) => f
                        .parse()
                        .map_err(|e| CliError::new(format!("--trace-format {f}"), e))?,
                    None => TraceFormat::from_path(path),
                };
                let size_text = args.access_size.as_deref().unwrap_or("8");
                if format == TraceFormat::Bin && args.access_size.is_some() {
                    return Err(CliError::new(
                        format!("--access-size {size_text}"),
                        "applies to din traces only (a binary trace records each access's size)",
                    ));
                }
                let access_size = parse_uint(size_text)
                    .ok()
                    .filter(|&n| (1..=MAX_ACCESS_BYTES as u64).contains(&n))
                    .ok_or_else(|| {
                        CliError::new(
                            format!("--access-size {size_text}"),
                            format!("expected a positive integer, at most {MAX_ACCESS_BYTES}"),
                        )
                    })? as u32;
                Ok(Source::Trace {
                    path: path.clone(),
                    format,
                    access_size,
                })
            }
            (None, Some((flag, name))) => {
                for (f, v) in [
                    ("--access-size", &args.access_size),
                    ("--trace-format", &args.trace_format),
                ] {
                    if let Some(v) = v {
                        return Err(CliError::new(
                            format!("{f} {v}"),
                            format!("applies to --trace only ({flag} makes its own accesses)"),
                        ));
                    }
                }
                let dim = |flag: &str, s: &Option<String>| {
                    let s = s.as_deref().unwrap_or("64");
                    parse_uint(s)
                        .ok()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| {
                            CliError::new(format!("--{flag} {s}"), "expected an unsigned integer")
                        })
                };
                let fast_bytes =
                    match &args.fast_bytes {
                        Some(s) => match parse_size(s) {
                            Ok(0) => return Err(CliError::new(
                                format!("--fast-bytes {s}"),
                                "must be positive (the generator tiles for this much fast memory)",
                            )),
                            Ok(b) => b,
                            // The reason names the value ('64x': …).
                            Err(e) => return Err(CliError::new("--fast-bytes", e)),
                        },
                        None => cfg.levels[0].size,
                    };
                let (m, n, k, d) = (
                    dim("m", &args.m)?,
                    dim("n", &args.n)?,
                    dim("k", &args.k)?,
                    dim("d", &args.d)?,
                );
                // Generator errors are located at the generator's flag and
                // value; their reason names the size's own flag.
                let at = || format!("{flag} {name}");
                let generator = Generator::parse(name).map_err(|_| {
                    CliError::new(
                        at(),
                        format!(
                            "unknown generator (expected one of {})",
                            Generator::names().join(", ")
                        ),
                    )
                })?;
                super::io::refuse_unused_dims(
                    generator,
                    [
                        (Dim::M, args.m.as_deref()),
                        (Dim::N, args.n.as_deref()),
                        (Dim::K, args.k.as_deref()),
                        (Dim::D, args.d.as_deref()),
                    ],
                )?;
                let mut params = TraceParams {
                    generator,
                    m,
                    n,
                    k,
                    d,
                    format: ElementSize::f32(),
                    fast_bytes: Some(fast_bytes),
                };
                // `at()` names the generator already: the reason does not repeat it.
                params
                    .check()
                    .map_err(|e| CliError::new(at(), e.problem.reason(|d| format!("--{d}"))))?;
                params
                    .check_simulated_work()
                    .map_err(|e| CliError::new(at(), e))?;
                if let Some(f) = &args.format {
                    params.format = ElementSize::parse(Some(f))
                        .map_err(|e| CliError::new(format!("--format {f}"), e))?;
                }
                Ok(Source::Generator { flag, params })
            }
        }
    }

    /// Sends every access into `sink`; returns how many.
    /// With `reference`, a din trace goes through the slow twin reader.
    fn feed(&self, sink: &mut dyn AccessSink, reference: bool) -> Result<u64, CliError> {
        match self {
            Source::Trace {
                path,
                format,
                access_size,
            } => {
                let name = path.display().to_string();
                let f = File::open(path).map_err(|e| CliError::new(&name, e))?;
                let r = BufReader::with_capacity(1 << 20, f);
                match (reference, format) {
                    (true, TraceFormat::Din) => read_din_reference(r, *access_size, sink),
                    (true, TraceFormat::Bin) => read_bin(r, sink),
                    (false, _) => read_trace_threaded(*format, r, *access_size, sink),
                }
                .map_err(|e| CliError::new(&name, e))
            }
            Source::Generator { flag, params } => {
                let mut counted = Counted { sink, n: 0 };
                // The sizes were checked when the source was built.
                generate(params, &mut counted)
                    .map_err(|e| CliError::new(format!("{flag} {}", params.generator), e))?;
                Ok(counted.n)
            }
        }
    }
}

/// Counts what passes through.
struct Counted<'a> {
    sink: &'a mut dyn AccessSink,
    n: u64,
}

impl AccessSink for Counted<'_> {
    fn access(&mut self, a: Access) {
        self.n += 1;
        self.sink.access(a);
    }
}

/// Feeds `sink`, and the `--dump-trace` writer if any (written atomically);
/// returns the access count and, for a din dump, the one access size its
/// replay needs. A din dump of mixed access sizes is refused (din has no
/// size field) and leaves no file.
fn feed_with_dump(
    args: &CachesimArgs,
    source: &Source,
    sink: &mut dyn AccessSink,
) -> Result<(u64, Option<u32>), CliError> {
    // Runs of more than a few seconds show a progress line (on a terminal).
    let mut progress = super::progress::Progress::new(sink);
    let sink: &mut dyn AccessSink = &mut progress;
    let Some(path) = &args.dump_trace else {
        return source.feed(sink, args.reference).map(|n| (n, None));
    };
    let mut result = None;
    let written = write_atomically(path, |f| {
        let w = BufWriter::with_capacity(1 << 20, f);
        let r = match TraceFormat::from_path(path) {
            TraceFormat::Din => {
                let mut dw = DinWriter::new(w);
                let r = source.feed(&mut Tee(&mut *sink, &mut dw), args.reference);
                match (r, dw.sizes()) {
                    (Ok(_), (Some(a), Some(b))) => Err(CliError::new(
                        path.display().to_string(),
                        format!(
                            "din has no size field, and these accesses are {a} and {b} bytes: \
                             dump to a .bin or .bstrace trace, which keeps sizes"
                        ),
                    )),
                    (r, (size, _)) => r.map(|n| (n, size, dw.finish().map(drop))),
                }
            }
            TraceFormat::Bin => {
                let mut bw = BinWriter::new(w);
                let r = source.feed(&mut Tee(&mut *sink, &mut bw), args.reference);
                r.map(|n| (n, None, bw.finish().map(drop)))
            }
        };
        match r {
            Ok((n, size, io)) => {
                result = Some(Ok((n, size)));
                io
            }
            Err(e) => {
                result = Some(Err(e));
                Err(io::Error::other("input failed"))
            }
        }
    });
    match (result, written) {
        (Some(Err(e)), _) => Err(e),
        (_, Err(e)) => Err(e),
        (Some(Ok(r)), Ok(())) => Ok(r),
        (None, Ok(())) => Ok((0, None)),
    }
}

/// `48KiB`, `1MiB`, `100` (bytes).
fn size_text(b: u64) -> String {
    crate::size::size_text(b, crate::size::SizeStyle::ExactBare)
}

fn print(
    args: &CachesimArgs,
    cfg: &HierarchyConfig,
    source: &Source,
    opt: bool,
    stats: &[LevelStats],
    count: u64,
    out: &mut dyn Write,
) -> io::Result<()> {
    if args.csv {
        writeln!(out, "level,{}", LevelStats::COUNT_NAMES.join(","))?;
        for s in stats {
            write!(out, "{}", s.name)?;
            for c in s.counts() {
                write!(out, ",{c}")?;
            }
            writeln!(out)?;
        }
        return Ok(());
    }
    let what = match source {
        Source::Trace { path, .. } => format!("trace {}", path.display()),
        // "variant" is the word this line has always printed; scripts may match it.
        Source::Generator { params, .. } => format!("variant {}", params.generator),
    };
    // The default policy is left out, so the line reads as it always has.
    let inclusion = match cfg.inclusion {
        Inclusion::Inclusive => String::new(),
        i => format!(" ({})", i.name()),
    };
    writeln!(
        out,
        "hierarchy {}{inclusion}: {count} accesses from {what}",
        cfg.name
    )?;
    let mut rows = vec![[
        "level",
        "size",
        "ways",
        "line",
        "policy",
        "accesses",
        "hits",
        "misses",
        "hit rate",
        "evictions",
        "writebacks",
        "bytes in",
        "bytes out",
    ]
    .map(String::from)
    .to_vec()];
    for (l, s) in cfg.levels.iter().zip(stats) {
        let ways = if l.ways == 0 || l.sets() == 1 {
            "full".to_string()
        } else {
            l.ways.to_string()
        };
        let mut policy = if opt { "opt" } else { l.policy.name() }.to_string();
        if l.write == WritePolicy::WriteThrough {
            policy.push_str("+wt");
        }
        rows.push(vec![
            s.name.clone(),
            size_text(l.size),
            ways,
            l.line.to_string(),
            policy,
            s.accesses.to_string(),
            s.hits.to_string(),
            s.misses.to_string(),
            format!("{:.2}%", 100.0 * s.hit_rate()),
            s.evictions.to_string(),
            s.writebacks.to_string(),
            s.bytes_in.to_string(),
            s.bytes_out.to_string(),
        ]);
    }
    table(out, &rows)?;
    if let Some(last) = stats.last() {
        writeln!(
            out,
            "memory: {} bytes read, {} bytes written{}",
            last.bytes_in,
            last.bytes_out,
            if args.flush {
                ""
            } else {
                " (dirty lines still cached are not counted; see --flush)"
            }
        )?;
    }
    Ok(())
}

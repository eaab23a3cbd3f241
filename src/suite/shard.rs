//! Sharded runs: a run split into `N` shards (`--shard K/N`), each writing
//! its own results, and [`merge`], which joins them into the results of the
//! unsharded run.
//!
//! Shard `K` of `N` owns the work items whose position in the run's canonical
//! order (suite order of cases, seeds and variants; the explorer's order of
//! configurations) is `K` modulo `N`, so shards get equal shares whatever `N`
//! is (a shard may own nothing when `N` exceeds the items). The studies run
//! in shard 0 only. Every shard records a [`ShardInfo`]: its index, the
//! count, a fingerprint of what was run (spec, version, commit) and the
//! canonical order, so `merge` can sort the joined rows exactly as the
//! unsharded run writes them, and refuse shards of another run.
//!
//! Deterministic rows depend only on their cell (seeded inputs), never on
//! which shard ran them, so the merged non-timing rows are byte-identical to
//! an unsharded run's; timings are whatever each machine measured.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::error::RunError;
use super::files::{read_results, JSON_NAME};
use super::order::Order;
use super::record::Results;

/// Which part of a run this process does: shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0 ≤ index < count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole run (one shard).
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether this shard owns the work item at canonical position `i`.
    pub fn owns(&self, i: usize) -> bool {
        i % self.count == self.index
    }

    /// Parses `K/N` (0 ≤ K < N), or `auto`, which reads the scheduler's
    /// environment through `env` (see [`Shard::from_env`]).
    pub fn parse(s: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        if s == "auto" {
            return Shard::from_env(env);
        }
        // The caller's label names the value (`--shard 1/0: not K/N …`).
        let bad = || "not K/N with 0 <= K < N (or auto)".to_string();
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k >= n {
            return Err(bad());
        }
        Ok(Shard { index: k, count: n })
    }

    /// The shard a scheduler assigned: Slurm job arrays
    /// (`SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`; the array must run
    /// `0-(N-1)`) or a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, with
    /// the count in `BITSIM_SHARD_COUNT`, which the manifest sets to its
    /// `completions`: Kubernetes does not export it).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let num = |var: &str| -> Result<Option<usize>, String> {
            match env(var) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{var}='{v}' is not a whole number")),
            }
        };
        let pair = if let Some(k) = num("SLURM_ARRAY_TASK_ID")? {
            let n = num("SLURM_ARRAY_TASK_COUNT")?
                .ok_or("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")?;
            (k, n, "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT")
        } else if let Some(k) = num("JOB_COMPLETION_INDEX")? {
            let n = num("BITSIM_SHARD_COUNT")?
                .ok_or("JOB_COMPLETION_INDEX is set but BITSIM_SHARD_COUNT is not (set it to the Job's completions)")?;
            (k, n, "JOB_COMPLETION_INDEX/BITSIM_SHARD_COUNT")
        } else {
            return Err("neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set".to_string());
        };
        let (k, n, vars) = pair;
        if n == 0 || k >= n {
            return Err(format!("{vars} = {k}/{n} is not a shard (0 <= K < N)"));
        }
        Ok(Shard { index: k, count: n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

pub use super::record::ShardInfo;

/// The row order of a shard's run.
pub fn order_of(info: &ShardInfo) -> Order {
    Order::from_names(&info.variants, &info.cases, &info.seeds)
}

/// FNV-1a (64 bits) of `text`, as 16 hex digits: a stable fingerprint
/// (the std hasher is not stable across builds).
pub fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The results file of a shard argument: `DIR/results.json`, or the file itself.
pub fn results_path(arg: &Path) -> PathBuf {
    if arg.is_dir() {
        arg.join(JSON_NAME)
    } else {
        arg.to_path_buf()
    }
}

/// Reads shard results (folders or `results.json` files, in any order) and
/// joins them into the results of the unsharded run: rows in the run's
/// order, the metadata of shard 0 with every shard's energy notes, the
/// studies of shard 0. Errors name the file: not a shard, an unfinished
/// shard, a shard of another run (fingerprint, count or kind), a shard given
/// twice, and the missing shards.
pub fn merge(args: &[PathBuf]) -> Result<Results, RunError> {
    if args.is_empty() {
        return Err(RunError::new("merge", "no shard folders given"));
    }
    let mut shards: Vec<(String, Results, ShardInfo)> = Vec::new();
    for a in args {
        let path = results_path(a);
        let at = path.display().to_string();
        let r = read_results(&path).map_err(|e| RunError::new(&at, e))?;
        let info = r.meta.shard.clone().ok_or_else(|| {
            RunError::new(
                &at,
                "not a shard's results (no shard metadata); run with --shard K/N",
            )
        })?;
        if !info.complete {
            return Err(RunError::new(
                &at,
                format!(
                    "shard {}/{} did not finish (rerun it with --resume)",
                    info.index, info.count
                ),
            ));
        }
        if let Some((first_at, _, first)) = shards.first() {
            let what = if info.kind != first.kind {
                Some(format!("a {} shard, not {}", info.kind, first.kind))
            } else if info.count != first.count {
                Some(format!("one of {} shards, not {}", info.count, first.count))
            } else if info.fingerprint != first.fingerprint {
                Some(format!(
                    "a shard of another run (fingerprint {} differs from {}'s {}: other spec, version or commit)",
                    info.fingerprint, first_at, first.fingerprint
                ))
            } else {
                None
            };
            if let Some(w) = what {
                return Err(RunError::new(&at, format!("foreign shard: {w}")));
            }
        }
        if let Some((other, _, _)) = shards.iter().find(|(_, _, s)| s.index == info.index) {
            return Err(RunError::new(
                &at,
                format!(
                    "duplicated shard {}/{}: {other} holds it too",
                    info.index, info.count
                ),
            ));
        }
        shards.push((at, r, info));
    }
    let count = shards[0].2.count;
    let missing: Vec<String> = (0..count)
        .filter(|k| !shards.iter().any(|(_, _, s)| s.index == *k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(RunError::new(
            "merge",
            format!(
                "missing shard {} (got {} of {count})",
                missing.join(", "),
                shards.len()
            ),
        ));
    }
    shards.sort_by_key(|(_, _, s)| s.index);
    let order = order_of(&shards[0].2);
    let mut notes = BTreeSet::new();
    let mut rows = Vec::new();
    let mut merged: Option<Results> = None;
    for (_, r, _) in shards {
        notes.extend(r.meta.energy_notes.iter().cloned());
        rows.extend(r.rows.iter().cloned());
        if merged.is_none() {
            merged = Some(r);
        }
    }
    let mut m = merged.expect("at least one shard");
    order.sort(&mut rows);
    m.rows = rows;
    m.meta.energy_notes = notes.into_iter().collect();
    m.meta.shard = None;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn parses_k_of_n_and_the_environment() {
        assert_eq!(
            Shard::parse("2/4", env(&[])),
            Ok(Shard { index: 2, count: 4 })
        );
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", ""] {
            assert!(Shard::parse(bad, env(&[])).is_err(), "{bad}");
        }
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "7"),
        ];
        assert_eq!(
            Shard::parse("auto", env(&slurm)),
            Ok(Shard { index: 3, count: 7 })
        );
        let k8s = [("JOB_COMPLETION_INDEX", "1"), ("BITSIM_SHARD_COUNT", "2")];
        assert_eq!(
            Shard::parse("auto", env(&k8s)),
            Ok(Shard { index: 1, count: 2 })
        );
        assert!(Shard::parse("auto", env(&[])).is_err());
        assert!(Shard::parse("auto", env(&[("JOB_COMPLETION_INDEX", "1")])).is_err());
        let past = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert!(Shard::parse("auto", env(&past)).is_err());
    }

    #[test]
    fn every_item_has_exactly_one_owner() {
        for n in 1..9 {
            for i in 0..50 {
                let owners = (0..n)
                    .filter(|k| {
                        Shard {
                            index: *k,
                            count: n,
                        }
                        .owns(i)
                    })
                    .count();
                assert_eq!(owners, 1, "item {i} of {n} shards");
            }
        }
    }

    #[test]
    fn fingerprint_is_fnv1a() {
        // FNV-1a test vectors (Fowler, Noll, Vo).
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
    }
}

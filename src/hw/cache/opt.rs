//! Belady's OPT (MIN): the ideal replacement of one cache level, which
//! evicts the line whose next use is furthest in the future. It needs the
//! whole trace, so it takes a materialized one; its miss count is a lower
//! bound for every demand-fetch policy of the same geometry.
//!
//! Same request and counting rules as [`super::Hierarchy`] with one
//! write-back, write-allocate level (every request allocates; no bypass).
//! Ties between lines never used again are broken by the larger line
//! number, which makes the run deterministic.

use std::collections::{BTreeSet, HashMap};

use super::{split_lines, LevelConfig, LevelStats, WritePolicy};
use crate::hw::trace::{Access, AccessKind};

/// Next use of a line never used again (the index keeps the order strict).
const NEVER: u64 = u64::MAX;

/// Runs OPT for one level (its policy is ignored) over `trace`; with
/// `flush`, dirty lines left at the end are written back and counted.
pub fn belady(level: &LevelConfig, trace: &[Access], flush: bool) -> Result<LevelStats, String> {
    level.validate()?;
    if level.write == WritePolicy::WriteThrough {
        return Err(format!(
            "level {}: write: OPT models write-back levels only",
            level.name
        ));
    }
    let shift = level.line.trailing_zeros();
    // Line-granular requests: (line, write).
    let reqs: Vec<(u64, bool)> = trace
        .iter()
        .flat_map(|a| {
            let w = a.kind == AccessKind::Write;
            split_lines(a.addr, a.size, shift).map(move |(addr, _)| (addr >> shift, w))
        })
        .collect();
    // next[t]: index of the next request to the same line, or NEVER.
    let mut next = vec![NEVER; reqs.len()];
    let mut seen: HashMap<u64, u64> = HashMap::new();
    for t in (0..reqs.len()).rev() {
        if let Some(&n) = seen.get(&reqs[t].0) {
            next[t] = n;
        }
        seen.insert(reqs[t].0, t as u64);
    }
    let ways = level.effective_ways() as usize;
    let sets = level.sets();
    // Per set: resident lines ordered by (next use, line); plus line → (next use, dirty).
    let mut order: Vec<BTreeSet<(u64, u64)>> = vec![BTreeSet::new(); sets as usize];
    let mut resident: HashMap<u64, (u64, bool)> = HashMap::new();
    let line_bytes = level.line as u64;
    let mut st = LevelStats {
        name: level.name.clone(),
        ..Default::default()
    };
    for (t, &(line, write)) in reqs.iter().enumerate() {
        let set = &mut order[(line % sets) as usize];
        st.accesses += 1;
        if let Some(e) = resident.get_mut(&line) {
            st.hits += 1;
            set.remove(&(e.0, line));
            e.0 = next[t];
            e.1 |= write;
            set.insert((e.0, line));
            continue;
        }
        st.misses += 1;
        if set.len() == ways {
            let (_, victim) = set.pop_last().expect("a full set is not empty");
            let (_, dirty) = resident.remove(&victim).expect("resident victim");
            st.evictions += 1;
            if dirty {
                st.writebacks += 1;
                st.bytes_out += line_bytes;
            }
        }
        st.bytes_in += line_bytes;
        set.insert((next[t], line));
        resident.insert(line, (next[t], write));
    }
    if flush {
        let dirty = resident.values().filter(|e| e.1).count() as u64;
        st.writebacks += dirty;
        st.bytes_out += dirty * line_bytes;
    }
    Ok(st)
}

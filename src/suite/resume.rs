//! What resumed cells depend on: the run's configuration, recorded in
//! `results.json` (`meta.config`) and compared by `--resume` before any cell
//! is taken over.
//!
//! Cells are found again by variant, workload case and seed; everything else
//! that shapes a row is recorded here, one fingerprint per part: the bitsim
//! version and commit, the energy table (name and contents), the timing
//! repetitions, the run modes (`native`, `accuracy`, `emulation_rows`) and
//! each workload's definition (distribution and parameters, shapes, file,
//! tensors). A part that differs between the earlier run and this one makes
//! `--resume` refuse, naming the part, before anything is written. Adding
//! variants, workloads or seeds is not a difference: their cells are new.

use std::collections::BTreeMap;

use super::shard::fingerprint;
use super::spec::Suite;
use crate::hw::energy::EnergyTable;
use crate::workload::attention_spec::{AttnSource, AttnWorkload};
use crate::workload::spec::WorkloadKind;

/// The configuration key of a run of `suite` by `version` (and `commit`)
/// with energy from `table`: part name → its value or fingerprint.
pub fn config_key(
    suite: &Suite,
    version: &str,
    commit: Option<&str>,
    table: &str,
) -> BTreeMap<String, String> {
    let mut key = BTreeMap::new();
    let version = match commit {
        Some(c) => format!("{version} ({c})"),
        None => version.to_string(),
    };
    key.insert("version".to_string(), version);
    key.insert("energy".to_string(), table.to_string());
    key.insert("repetitions".to_string(), suite.repetitions.to_string());
    key.insert(
        "modes".to_string(),
        format!(
            "native={} accuracy={} emulation_rows={:?}",
            suite.native, suite.accuracy, suite.emulation_rows
        ),
    );
    for w in &suite.workloads {
        // Cases are named by their shape, so added shapes are new cells: a
        // generated workload is keyed by its distribution; a file workload by
        // the file, its tensors and the activation rows.
        let what = match &w.kind {
            WorkloadKind::Generated { dist, .. } => format!("{dist:?}"),
            WorkloadKind::Attention(AttnWorkload {
                source: AttnSource::Generated { dist, .. },
            }) => format!("attention {dist:?}"),
            file => format!("{file:?}"),
        };
        key.insert(format!("workload {}", w.name), fingerprint(&what));
    }
    key
}

/// The energy part of a key: the table's name and a fingerprint of its contents.
pub fn energy_key(table: &EnergyTable) -> String {
    format!("{} {}", table.name, fingerprint(&format!("{table:?}")))
}

/// Checks that an earlier run's key `old` matches `new`; the error names
/// every part that differs (parts only one side has are new or dropped
/// workloads, which are not differences).
pub fn check(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Result<(), String> {
    if old.is_empty() {
        return Err(
            "records no configuration (written by an older bitsim), so its cells cannot be checked"
                .to_string(),
        );
    }
    let differ: Vec<String> = new
        .iter()
        .filter_map(|(part, now)| match old.get(part) {
            Some(then) if then != now => Some(format!("{part}: {then} then, {now} now")),
            _ => None,
        })
        .collect();
    if differ.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "was run with another configuration ({})",
            differ.join("; ")
        ))
    }
}

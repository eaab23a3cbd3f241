//! Weight matrices for `file` workloads: 2-D tensors (`n × k`, as a linear
//! layer stores them) from a `.safetensors` checkpoint (f32, f16, bf16,
//! picked by name or glob) or a `.npy` file (float32/float64).
//!
//! The suite's own small reader; it keeps the spec's error rule
//! (the file and the tensor are named, the reason given).

use std::path::Path;

use super::{npy, safetensors};
use crate::tensor::Matrix;

/// Loads the weights a `file` workload names: `(tensor name, n × k matrix)`
/// in file order (safetensors: the order of the data in the file; `.npy`: the one array, named
/// by the file stem). Each pattern must match at least one tensor.
pub fn load(path: &Path, patterns: &[String]) -> Result<Vec<(String, Matrix)>, String> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext == "npy" {
        let a = npy::read(path).map_err(|e| e.to_string())?;
        let &[n, k] = a.shape.as_slice() else {
            return Err(format!(
                "expected a 2-D weight matrix (n × k), got shape {:?}",
                a.shape
            ));
        };
        let data: Vec<f32> = match a.data {
            npy::Data::F32(v) => v,
            npy::Data::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        };
        check_dims(n, k)?;
        let stem = path
            .file_stem()
            .map_or("weights".into(), |s| s.to_string_lossy().into_owned());
        return Ok(vec![(stem, Matrix::new(n, k, data))]);
    }
    // The workload loader names the file itself; the runner names it too.
    let prefix = format!("{}: ", path.display());
    let tensors = safetensors::load_tensors(path, patterns)
        .map_err(|e| e.strip_prefix(&prefix).map(str::to_string).unwrap_or(e))?;
    tensors
        .into_iter()
        .map(|t| {
            let name = t.name;
            let &[n, k] = t.shape.as_slice() else {
                return Err(format!(
                    "tensor '{name}': expected a 2-D weight matrix (n × k), got shape {:?}",
                    t.shape
                ));
            };
            check_dims(n, k).map_err(|e| format!("tensor '{name}': {e}"))?;
            Ok((name, Matrix::new(n, k, t.data)))
        })
        .collect()
}

fn check_dims(n: usize, k: usize) -> Result<(), String> {
    if n == 0 || k == 0 {
        return Err(format!("shape [{n}, {k}] has a zero dimension"));
    }
    Ok(())
}

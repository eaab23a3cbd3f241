//! Weight matrices for `file` workloads: 2-D tensors (`n × k`, as a linear
//! layer stores them) from a `.safetensors` checkpoint (f32, f16, bf16,
//! picked by name or glob) or a `.npy` file (float32/float64).
//!
//! This is the runner's own small reader; it keeps the spec's error rule
//! (the file and the tensor are named, the reason given).

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::workload::{npy, Matrix};

/// Loads the weights a `file` workload names: `(tensor name, n × k matrix)`
/// in file order (safetensors: sorted by name; `.npy`: the one array, named
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
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| format!("not a valid .safetensors file: {e}"))?;
    let mut names: Vec<&str> = st.names().into_iter().collect();
    names.sort_unstable();
    let mut picked: Vec<&str> = Vec::new();
    for p in patterns {
        let pat = glob::Pattern::new(p).map_err(|e| format!("tensor glob '{p}': {e}"))?;
        let hits: Vec<&str> = names.iter().copied().filter(|n| pat.matches(n)).collect();
        if hits.is_empty() {
            let mut have = names.iter().take(8).copied().collect::<Vec<_>>().join(", ");
            if names.len() > 8 {
                have.push_str(&format!(", … ({} tensors)", names.len()));
            }
            return Err(format!(
                "tensor '{p}' matches no tensor in the file (it has: {have})"
            ));
        }
        for h in hits {
            if !picked.contains(&h) {
                picked.push(h);
            }
        }
    }
    picked
        .into_iter()
        .map(|name| {
            let t = st
                .tensor(name)
                .map_err(|e| format!("tensor '{name}': {e}"))?;
            let &[n, k] = t.shape() else {
                return Err(format!(
                    "tensor '{name}': expected a 2-D weight matrix (n × k), got shape {:?}",
                    t.shape()
                ));
            };
            check_dims(n, k).map_err(|e| format!("tensor '{name}': {e}"))?;
            let data = to_f32(t.dtype(), t.data()).map_err(|e| format!("tensor '{name}': {e}"))?;
            Ok((name.to_string(), Matrix::new(n, k, data)))
        })
        .collect()
}

fn check_dims(n: usize, k: usize) -> Result<(), String> {
    if n == 0 || k == 0 {
        return Err(format!("shape [{n}, {k}] has a zero dimension"));
    }
    Ok(())
}

/// Little-endian f32 / f16 / bf16 bytes to f32 (exact: both 16-bit types widen exactly).
fn to_f32(dtype: Dtype, data: &[u8]) -> Result<Vec<f32>, String> {
    Ok(match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        other => return Err(format!("dtype {other:?} is not supported (f32, f16, bf16)")),
    })
}

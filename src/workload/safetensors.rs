//! Loading tensors from `.safetensors` checkpoints (f32, f16, bf16), picked by
//! name or glob.
//!
//! Only the header and the selected tensors are read (a checkpoint shard can
//! be many gigabytes). f16 and bf16 widen to f32 exactly. Shapes become
//! matrices as follows: 2-D as is; 1-D `[n]` as `1 × n`; 0-D as `1 × 1`;
//! higher rank `[d0, …, dr]` as `(d0·…·d(r−1)) × dr` (the last axis stays the
//! row, which for a linear layer stack keeps the input dimension `k` as
//! columns).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use safetensors::tensor::{Dtype, Metadata};

use crate::tensor::Matrix;

/// Largest header accepted, as in the `safetensors` crate (100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// How many names an error message lists before "…".
const LIST_NAMES: usize = 8;

/// Loads the tensors of `path` named by `patterns`, in file order.
///
/// A pattern selects the tensor of exactly that name if there is one, and
/// otherwise every tensor whose name matches it as a glob (`glob::Pattern`:
/// `*`, `?`, `[…]`). A tensor matched by several patterns is returned once.
/// An empty `patterns` selects every tensor. "File order" is the order of
/// the tensors' data in the file (deterministic, unlike the header's JSON
/// map order).
///
/// Errors (one line, naming the file): unreadable file, not a safetensors
/// file, an invalid glob, a pattern matching nothing (with a list of the
/// available names), a selected tensor of an unsupported dtype.
pub fn load(path: &Path, patterns: &[String]) -> Result<Vec<(String, Matrix)>, String> {
    Ok(load_tensors(path, patterns)?
        .into_iter()
        .map(|t| {
            let (rows, cols) = matrix_shape(&t.shape);
            (t.name, Matrix::new(rows, cols, t.data))
        })
        .collect())
}

/// A tensor as stored: name, original shape, values widened to f32.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Tensor name.
    pub name: String,
    /// Shape as stored in the file.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

/// Like [`load`], but keeps each tensor's stored shape (for callers that
/// need a particular rank, such as weight matrices).
pub fn load_tensors(path: &Path, patterns: &[String]) -> Result<Vec<Tensor>, String> {
    let shown = path.display();
    let mut file = File::open(path).map_err(|e| format!("{shown}: cannot open: {e}"))?;
    let file_len = file
        .metadata()
        .map_err(|e| format!("{shown}: cannot read: {e}"))?
        .len();
    let (header_len, meta) = read_header(&mut file, file_len)
        .map_err(|e| format!("{shown}: not a safetensors file: {e}"))?;
    let names = meta.offset_keys();

    let mut selected = vec![patterns.is_empty(); names.len()];
    for p in patterns {
        let hits: Vec<usize> = match names.iter().position(|n| n == p) {
            Some(i) => vec![i],
            None => {
                let g = glob::Pattern::new(p)
                    .map_err(|e| format!("{shown}: bad tensor pattern '{p}': {e}"))?;
                (0..names.len()).filter(|&i| g.matches(&names[i])).collect()
            }
        };
        if hits.is_empty() {
            return Err(format!(
                "tensor '{p}' not found in {shown}; available: {}",
                name_list(&names)
            ));
        }
        for i in hits {
            selected[i] = true;
        }
    }

    let data_start = 8 + header_len;
    let mut out = Vec::new();
    for (name, _) in names.iter().zip(&selected).filter(|(_, &s)| s) {
        let info = meta.info(name).expect("name comes from the header");
        let (s, e) = info.data_offsets;
        let mut bytes = vec![0u8; e - s];
        file.seek(SeekFrom::Start(data_start + s as u64))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|err| format!("{shown}: cannot read tensor '{name}': {err}"))?;
        let data = decode(info.dtype, &bytes).map_err(|dt| {
            format!(
                "{shown}: tensor '{name}' has unsupported dtype {dt} (supported: F32, F16, BF16)"
            )
        })?;
        out.push(Tensor {
            name: name.clone(),
            shape: info.shape.clone(),
            data,
        });
    }
    Ok(out)
}

/// Reads and checks the header: (header length, parsed metadata). The
/// metadata parser checks that the tensors tile the data section; the file
/// length must match it exactly.
fn read_header(file: &mut File, file_len: u64) -> Result<(u64, Metadata), String> {
    let mut n = [0u8; 8];
    file.read_exact(&mut n)
        .map_err(|_| "shorter than the 8-byte header length".to_string())?;
    let n = u64::from_le_bytes(n);
    if n > MAX_HEADER || n > file_len - 8 {
        return Err(format!(
            "header length {n} exceeds the file ({file_len} bytes) or the 100 MB limit"
        ));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header).map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&header).map_err(|_| "header is not UTF-8".to_string())?;
    let meta: Metadata = serde_json::from_str(text).map_err(|e| format!("bad header: {e}"))?;
    let expected = 8 + n + meta.data_len() as u64;
    if expected != file_len {
        return Err(format!(
            "header describes {expected} bytes but the file has {file_len}"
        ));
    }
    Ok((n, meta))
}

/// The matrix view of a tensor shape (see the module docs).
fn matrix_shape(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (1, *n),
        [lead @ .., last] => (lead.iter().product(), *last),
    }
}

/// Little-endian elements to f32; `Err(dtype name)` when unsupported.
fn decode(dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>, String> {
    Ok(match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|c| half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|c| half::bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
            .collect(),
        other => return Err(format!("{other:?}")),
    })
}

/// "a, b, c, … (N in all)" for error messages.
fn name_list(names: &[String]) -> String {
    if names.is_empty() {
        return "none (the file holds no tensors)".to_string();
    }
    let shown: Vec<&str> = names.iter().take(LIST_NAMES).map(String::as_str).collect();
    if names.len() > LIST_NAMES {
        format!("{}, … ({} in all)", shown.join(", "), names.len())
    } else {
        shown.join(", ")
    }
}

//! `bitsim attention run`: one attention variant on the user's own Q, K and
//! V (`.npy`, shapes `[heads, n, d]`), output to `.npy`.
//!
//! The output is the variant's emulation; where the variant has a native
//! kernel it runs that instead (the same bits, checked by the attention
//! tests at every ISA level). A query tensor of one row per head is decode
//! (one query over the KV cache); causal masking aligns the last query with
//! the last key.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::common::{stdout_error, write_atomically, CliError};
use super::CliResult;
use crate::attention::{self, AttnShape, Qkv};
use crate::workload::npy::{self, Data};

/// The `attention` subcommands.
#[derive(Debug, Subcommand)]
pub enum AttentionCommand {
    /// Run one attention variant on Q, K, V from .npy files; write O as .npy.
    Run(RunArgs),
}

/// Arguments of `attention run`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "INPUTS: float32 or float64 .npy arrays in C order: Q of shape [heads, nq, d], K and V of\n\
shape [heads, nk, d] (float64 values are rounded to the nearest float32). nq = 1 is decode.\n\
With --causal, query i sits at position nk - nq + i and sees keys up to it (nq <= nk).\n\
\n\
OUTPUT: O of shape [heads, nq, d], float32 (float64 for attention/f64), written atomically."
)]
pub struct RunArgs {
    /// Attention variant (`bitsim variants list` shows the `attention/*` ones).
    #[arg(value_name = "VARIANT")]
    pub variant: String,
    /// Queries, [heads, nq, d].
    #[arg(long, value_name = "Q.npy")]
    pub q: PathBuf,
    /// Keys, [heads, nk, d].
    #[arg(long, value_name = "K.npy")]
    pub k: PathBuf,
    /// Values, [heads, nk, d].
    #[arg(long, value_name = "V.npy")]
    pub v: PathBuf,
    /// Causal mask (query i sees keys up to position nk − nq + i).
    #[arg(long)]
    pub causal: bool,
    /// Output .npy file.
    #[arg(long, value_name = "O.npy")]
    pub out: PathBuf,
}

/// Runs an `attention` subcommand.
pub fn run(cmd: &AttentionCommand, out: &mut dyn Write) -> CliResult {
    match cmd {
        AttentionCommand::Run(a) => run_one(a, out),
    }
}

/// One input tensor: its `[heads, rows, d]` and its values as f32.
struct Tensor {
    dims: [usize; 3],
    data: Vec<f32>,
}

/// Reads a 3-d float tensor; every value must be a finite f32.
fn read_tensor(flag: &str, path: &Path) -> Result<Tensor, CliError> {
    let at = format!("{flag} {}", path.display());
    let arr = npy::read(path).map_err(|e| CliError::new(&at, e))?;
    let dims: [usize; 3] = arr.shape.as_slice().try_into().map_err(|_| {
        CliError::new(
            &at,
            format!(
                "shape {:?} has {} dimensions, expected 3: [heads, tokens, head dim]",
                arr.shape,
                arr.shape.len()
            ),
        )
    })?;
    if dims.contains(&0) {
        return Err(CliError::new(
            &at,
            format!("shape {dims:?} has an empty dimension (every one must be at least 1)"),
        ));
    }
    let data: Vec<f32> = match arr.data {
        Data::F32(v) => v,
        Data::F64(v) => v.iter().map(|&x| x as f32).collect(),
    };
    if let Some(i) = data.iter().position(|x| !x.is_finite()) {
        let d = dims[2];
        let r = i / d;
        let idx = [r / dims[1], r % dims[1], i % d];
        return Err(CliError::new(
            &at,
            format!(
                "element {idx:?} is {} as float32 (attention inputs must be finite)",
                data[i]
            ),
        ));
    }
    Ok(Tensor { dims, data })
}

/// Checks the three shapes against each other; the shape of the attention.
fn shape_of(q: &Tensor, k: &Tensor, v: &Tensor, a: &RunArgs) -> Result<AttnShape, CliError> {
    let name = |flag: &str, p: &Path| format!("{flag} {}", p.display());
    let [hq, nq, dq] = q.dims;
    if k.dims[0] != hq || v.dims[0] != hq {
        let (flag, p, h) = if k.dims[0] != hq {
            ("--k", &a.k, k.dims[0])
        } else {
            ("--v", &a.v, v.dims[0])
        };
        return Err(CliError::new(
            name(flag, p),
            format!(
                "{h} heads, but Q has {hq} (shapes {:?}, {:?})",
                k.dims, q.dims
            ),
        ));
    }
    if k.dims[2] != dq || v.dims[2] != dq {
        let (flag, p, d) = if k.dims[2] != dq {
            ("--k", &a.k, k.dims[2])
        } else {
            ("--v", &a.v, v.dims[2])
        };
        return Err(CliError::new(
            name(flag, p),
            format!("head dim {d}, but Q has {dq} (Q shape {:?})", q.dims),
        ));
    }
    if v.dims[1] != k.dims[1] {
        return Err(CliError::new(
            name("--v", &a.v),
            format!(
                "{} tokens, but K has {} (every key needs one value)",
                v.dims[1], k.dims[1]
            ),
        ));
    }
    let nk = k.dims[1];
    if a.causal && nq > nk {
        return Err(CliError::new(
            name("--q", &a.q),
            format!("--causal with {nq} queries over {nk} keys: the first queries would see no key (need nq <= nk)"),
        ));
    }
    Ok(AttnShape {
        heads: hq,
        nq,
        nk,
        d: dq,
        causal: a.causal,
    })
}

fn run_one(a: &RunArgs, out: &mut dyn Write) -> CliResult {
    let variant = attention::find(&a.variant).ok_or_else(|| {
        CliError::new(
            format!("variant '{}'", a.variant),
            "not a registered attention variant (see `bitsim variants list`)",
        )
    })?;
    // Replacing an input with the output would lose it; `quantize` refuses
    // the same way (there the user can opt in with --in-place).
    for (flag, input) in [("--q", &a.q), ("--k", &a.k), ("--v", &a.v)] {
        if crate::atomic_file::same_file(input, &a.out) {
            return Err(CliError::new(
                format!("--out {}", a.out.display()),
                format!("is the {flag} input file; write the output elsewhere"),
            ));
        }
    }
    let q = read_tensor("--q", &a.q)?;
    let k = read_tensor("--k", &a.k)?;
    let v = read_tensor("--v", &a.v)?;
    let shape = shape_of(&q, &k, &v, a)?;
    let x = Qkv::new(shape, q.data, k.data, v.data)
        .map_err(|e| CliError::new(format!("--q {}", a.q.display()), e))?;
    let (o, how) = match variant.native() {
        Some(kernel) => (kernel.run(&x), "native kernel"),
        None => (variant.emulate(&x), "emulation"),
    };
    if let Some(i) = o.iter().position(|x| !x.is_finite()) {
        let r = i / shape.d;
        return Err(CliError::new(
            variant.name(),
            format!(
                "output element [{}, {}, {}] is {}: the inputs exceed the range of the variant's formats",
                r / shape.nq,
                r % shape.nq,
                i % shape.d,
                o[i]
            ),
        ));
    }
    let dims = [shape.heads, shape.nq, shape.d];
    let dtype = if variant.name() == "attention/f64" {
        save(&a.out, &dims, &o)?;
        "float64"
    } else {
        let o32: Vec<f32> = o.iter().map(|&x| x as f32).collect();
        save(&a.out, &dims, &o32)?;
        "float32"
    };
    let phase = if shape.nq == 1 { "decode" } else { "prefill" };
    writeln!(
        out,
        "{}: {} {phase} {}x{}x{}x{}{} ({how}), O {}x{}x{} {dtype}",
        a.out.display(),
        variant.name(),
        shape.heads,
        shape.nq,
        shape.nk,
        shape.d,
        if shape.causal { " causal" } else { "" },
        shape.heads,
        shape.nq,
        shape.d,
    )
    .map_err(stdout_error)
}

/// Saves an array as .npy, atomically.
fn save<T: npy::Element>(path: &Path, shape: &[usize], data: &[T]) -> CliResult {
    write_atomically(path, |f: &mut File| {
        let mut w = BufWriter::new(f);
        npy::write(&mut w, shape, data)?;
        w.flush()
    })
}

//! `bitsim quantize`: a `.npy` array through a format, to `.npy` / `.npz`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use rayon::prelude::*;

use super::common::{num, parse_format, stdout_error, write_atomically, CliError, ConvertArgs};
use super::CliResult;
use crate::formats::{
    fast, mx, BlockFormat, ConvertOptions, ElementFormat, Format, FormatError, MiniFloat,
};
use crate::workload::npy::{self, Data};
use crate::workload::npy_map;

/// The fast path for element formats on float32 input (mapped input, parallel chunks, one write).
mod stream;

/// Elements per parallel work item; the stochastic-rounding index is the
/// flat element index, so results do not depend on the chunking.
pub(super) const CHUNK: usize = 1 << 16;

/// Arguments of `quantize`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "INPUT: a .npy array of float32 or float64 (any shape, C order, either byte order).\n\
float64 input is rounded once, straight from f64, for element formats. Block formats take\n\
float32 input; float64 input is accepted only if every value is exactly a float32 (otherwise\n\
it would be rounded twice: convert with .astype(np.float32) first).\n\n\
OUTPUT, element formats (e4m3, e2m1, int8, ...): the dequantized values as a float32 .npy of\n\
the input's shape; with --codes, the raw codes as uint8 (<= 8-bit formats), uint16 (<= 16\n\
bits) or uint32, same shape. A 0-d array is one value; an empty array gives an empty output.\n\n\
OUTPUT, block formats (mxfp8, mxfp6, mxfp4, mxint8, nvfp4, ...): blocks run along the last\n\
axis (a row is the last axis; its last block may be short). Without --codes: the dequantized\n\
values as float32 .npy, same shape. With --codes: an .npz archive (the output name must end\n\
in .npz) holding codes.npy (uint8, one code per element, input shape), scales.npy (uint8\n\
scale codes, shape = leading dims x ceil(last dim / block)) and, for nvfp4, tensor_scale.npy\n\
(float32, shape ()). 0-d and empty arrays are errors for block formats.\n\n\
Output files are written to a temporary file in the output's directory and renamed into\n\
place, so a failed run leaves no output. Same input, options and seed give the same bytes."
)]
pub struct QuantizeArgs {
    /// Format name (e.g. e4m3, e2m1, int8, mxfp4, nvfp4; see `bitsim formats list`).
    #[arg(long, value_name = "F")]
    pub format: String,
    /// Input .npy file (float32 or float64).
    #[arg(long, value_name = "IN.npy")]
    pub input: PathBuf,
    /// Output file (.npy; .npz for block formats with --codes).
    #[arg(long, value_name = "OUT")]
    pub output: PathBuf,
    /// Rounding, overflow, NaN policy, stochastic-rounding seed.
    #[command(flatten)]
    pub convert: ConvertArgs,
    /// Write the raw codes (and block scales) instead of dequantized values.
    #[arg(long)]
    pub codes: bool,
    /// Instruction-set cap for the kernels (`--isa`).
    #[command(flatten)]
    pub isa: super::isa::IsaArgs,
    /// Allow --output to be the --input file (replaced only when the run succeeds).
    #[arg(long)]
    pub in_place: bool,
    /// Run the slow in-memory reference path (whole input read and copied,
    /// codes array, then output), the twin of the streaming path; same bytes.
    #[arg(long)]
    pub reference: bool,
}

/// Element codes in the narrowest container that holds them.
enum Codes {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

/// Runs `quantize`.
pub fn run(args: &QuantizeArgs, out: &mut dyn Write) -> CliResult {
    if !args.in_place && crate::atomic_file::same_file(&args.input, &args.output) {
        return Err(CliError::new(
            format!("--output {}", args.output.display()),
            "is the input file; pass --in-place to replace it",
        ));
    }
    let fmt = parse_format("--format", &args.format)?;
    let opts = args.convert.options()?;
    match &fmt {
        Format::Element(e) => args.convert.check(e, &opts)?,
        Format::Block(b) => args.convert.check(&b.element, &opts)?,
    }
    if let Format::Block(b) = &fmt {
        let is_npz = args
            .output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
        if args.codes && !is_npz {
            return Err(CliError::new(
                format!("--output {}", args.output.display()),
                format!("{b} with --codes writes an .npz archive (codes, scales); name the output *.npz"),
            ));
        }
    }
    let input = args.input.display().to_string();
    let (shape, what) = if args.reference {
        let arr = npy::read(&args.input).map_err(|e| CliError::new(&input, e))?;
        let shape = arr.shape.clone();
        let what = match &fmt {
            Format::Element(e) => quantize_element(e, &opts, &arr, args)?,
            Format::Block(b) => quantize_block(b, &opts, arr, args)?,
        };
        (shape, what)
    } else {
        let src = npy_map::open(&args.input).map_err(|e| CliError::new(&input, e))?;
        let shape = src.layout().shape.clone();
        // Streaming for element formats on float32; float64 input and block
        // formats take the in-memory path (the array is materialized once).
        let what = match &fmt {
            Format::Element(e) if stream::applies(&src) => stream::quantize(e, &opts, &src, args)?,
            Format::Element(e) => quantize_element(e, &opts, &src.to_array(), args)?,
            Format::Block(b) => quantize_block(b, &opts, src.to_array(), args)?,
        };
        (shape, what)
    };
    let n: usize = shape.iter().product();
    let dims = if shape.is_empty() {
        "()".to_string()
    } else {
        shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x")
    };
    writeln!(
        out,
        "{}: {n} values of shape {dims} in {fmt}, {what}",
        args.output.display()
    )
    .map_err(stdout_error)
}

/// The multi-dimensional index of flat element `i`, for error messages.
fn nd_index(shape: &[usize], mut i: usize) -> String {
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[k] = i % d;
            i /= d;
        }
    }
    format!("{idx:?}")
}

/// The error for element `i` of the input.
pub(super) fn element_error(input: &Path, shape: &[usize], i: usize, e: FormatError) -> CliError {
    CliError::new(
        input.display().to_string(),
        format!("element {} (flat index {i}): {e}", nd_index(shape, i)),
    )
}

/// [`encode_scalar`] into the narrowest code container for `bits`.
fn encode_sized<T: Copy + Sync>(
    src: &[T],
    bits: u32,
    enc: impl Fn(T, u64) -> Result<u32, FormatError> + Sync,
) -> Result<Codes, (usize, FormatError)> {
    if bits <= 8 {
        encode_scalar(src, enc, |c| c as u8).map(Codes::U8)
    } else if bits <= 16 {
        encode_scalar(src, enc, |c| c as u16).map(Codes::U16)
    } else {
        encode_scalar(src, enc, |c| c).map(Codes::U32)
    }
}

/// Encodes every element with the scalar routine (one rounding from the
/// stored type), in parallel chunks; the error names the first bad element.
fn encode_scalar<T, C>(
    src: &[T],
    enc: impl Fn(T, u64) -> Result<u32, FormatError> + Sync,
    narrow: impl Fn(u32) -> C + Sync,
) -> Result<Vec<C>, (usize, FormatError)>
where
    T: Copy + Sync,
    C: Copy + Default + Send,
{
    let mut dst = vec![C::default(); src.len()];
    dst.par_chunks_mut(CHUNK)
        .zip(src.par_chunks(CHUNK))
        .enumerate()
        .map(|(k, (d, s))| {
            for (j, (d, &x)) in d.iter_mut().zip(s).enumerate() {
                let i = k * CHUNK + j;
                *d = narrow(enc(x, i as u64).map_err(|e| (i, e))?);
            }
            Ok(())
        })
        // The lowest failing chunk holds the first bad element.
        .collect::<Vec<Result<(), _>>>()
        .into_iter()
        .collect::<Result<(), _>>()?;
    Ok(dst)
}

/// f32 through the fast slice encoder (minifloats of ≤ 16 bits), in parallel chunks.
fn encode_fast<C: fast::Code>(
    m: &MiniFloat,
    opts: &ConvertOptions,
    src: &[f32],
) -> Result<Vec<C>, (usize, FormatError)> {
    let mut dst = vec![C::default(); src.len()];
    dst.par_chunks_mut(CHUNK)
        .zip(src.par_chunks(CHUNK))
        .enumerate()
        .map(|(k, (d, s))| {
            fast::encode_f32(m, opts, s, 0, (k * CHUNK) as u64, d).map_err(|e| {
                // The slice API does not say which element failed: find it.
                let j = s
                    .iter()
                    .enumerate()
                    .position(|(j, &x)| m.encode_f32(x, opts, (k * CHUNK + j) as u64).is_err())
                    .unwrap_or(0);
                (k * CHUNK + j, e)
            })
        })
        .collect::<Vec<Result<(), _>>>()
        .into_iter()
        .collect::<Result<(), _>>()?;
    Ok(dst)
}

fn quantize_element(
    fmt: &ElementFormat,
    opts: &ConvertOptions,
    arr: &npy::Array,
    args: &QuantizeArgs,
) -> Result<String, CliError> {
    let bits = fmt.bits();
    let codes = match (&arr.data, fmt) {
        (Data::F32(v), ElementFormat::Float(m)) if bits <= 8 => {
            encode_fast::<u8>(m, opts, v).map(Codes::U8)
        }
        (Data::F32(v), ElementFormat::Float(m)) if bits <= 16 => {
            encode_fast::<u16>(m, opts, v).map(Codes::U16)
        }
        (Data::F32(v), _) => encode_sized(v, bits, |x: f32, i| fmt.encode_f32(x, opts, i)),
        // f64 is rounded once, straight to the format (never through f32).
        (Data::F64(v), _) => encode_sized(v, bits, |x: f64, i| fmt.encode(x, opts, i)),
    }
    .map_err(|(i, e)| element_error(&args.input, &arr.shape, i, e))?;

    let shape = &arr.shape;
    if args.codes {
        let (dtype, res) = match &codes {
            Codes::U8(c) => ("uint8", save_npy(&args.output, shape, c)),
            Codes::U16(c) => ("uint16", save_npy(&args.output, shape, c)),
            Codes::U32(c) => ("uint32", save_npy(&args.output, shape, c)),
        };
        res?;
        return Ok(format!("codes as {dtype}"));
    }
    let values = match (&codes, fmt) {
        (Codes::U8(c), ElementFormat::Float(m)) => decode_fast(m, c),
        (Codes::U16(c), ElementFormat::Float(m)) => decode_fast(m, c),
        (Codes::U8(c), _) => c.par_iter().map(|&c| fmt.decode_f32(c as u32)).collect(),
        (Codes::U16(c), _) => c.par_iter().map(|&c| fmt.decode_f32(c as u32)).collect(),
        (Codes::U32(c), _) => c.par_iter().map(|&c| fmt.decode_f32(c)).collect(),
    };
    save_npy(&args.output, shape, &values)?;
    Ok("dequantized as float32".into())
}

fn decode_fast<C: fast::Code>(m: &MiniFloat, codes: &[C]) -> Vec<f32> {
    let mut v = vec![0f32; codes.len()];
    v.par_chunks_mut(CHUNK)
        .zip(codes.par_chunks(CHUNK))
        .for_each(|(d, s)| fast::decode_f32(m, s, d));
    v
}

fn quantize_block(
    b: &BlockFormat,
    opts: &ConvertOptions,
    arr: npy::Array,
    args: &QuantizeArgs,
) -> Result<String, CliError> {
    let input = || args.input.display().to_string();
    let Some(&row_len) = arr.shape.last() else {
        return Err(CliError::new(
            input(),
            format!("{b} needs an array with at least one axis (blocks run along the last axis); this one is 0-d"),
        ));
    };
    if arr.data.is_empty() {
        return Err(CliError::new(
            input(),
            format!(
                "empty array of shape {:?}: nothing to quantize in blocks",
                arr.shape
            ),
        ));
    }
    let data: Vec<f32> = match arr.data {
        Data::F32(v) => v,
        Data::F64(v) => {
            // The block API takes f32; only exact conversions keep "one rounding".
            if let Some(i) = v
                .iter()
                .position(|&x| !x.is_nan() && (x as f32) as f64 != x)
            {
                return Err(CliError::new(
                    input(),
                    format!(
                        "element {} = {} is not exactly a float32; block formats take float32 input, \
                         and narrowing first would round twice (convert with .astype(np.float32))",
                        nd_index(&arr.shape, i),
                        num(v[i])
                    ),
                ));
            }
            v.iter().map(|&x| x as f32).collect()
        }
    };
    let t = mx::quantize(b, opts, &data, row_len).map_err(|e| match e {
        FormatError::NanInput(_) => match data.iter().position(|x| x.is_nan()) {
            Some(i) => element_error(&args.input, &arr.shape, i, e),
            None => CliError::new(input(), e),
        },
        e => CliError::new(input(), e),
    })?;
    let rows = data.len() / row_len;
    let blocks_per_row = row_len.div_ceil(b.block_size);
    if t.codes.len() != data.len() || t.scales.len() != rows * blocks_per_row {
        return Err(CliError::new(
            input(),
            format!(
                "internal error: {b} produced {} codes and {} scales for {} elements in {rows} rows",
                t.codes.len(),
                t.scales.len(),
                data.len()
            ),
        ));
    }
    if !args.codes {
        let values = t.dequantize();
        save_npy(&args.output, &arr.shape, &values)?;
        return Ok("dequantized as float32".into());
    }
    let mut scale_shape = arr.shape.clone();
    *scale_shape.last_mut().expect("at least one axis") = blocks_per_row;
    write_atomically(&args.output, |f| {
        let mut z = npyz::zip::ZipWriter::new(BufWriter::new(f));
        add_npy(&mut z, "codes.npy", &arr.shape, &t.codes)?;
        add_npy(&mut z, "scales.npy", &scale_shape, &t.scales)?;
        if let Some(s) = t.tensor_scale {
            add_npy(&mut z, "tensor_scale.npy", &[], &[s])?;
        }
        z.finish()?.flush()
    })?;
    Ok(format!(
        "codes (uint8), scales (uint8, shape {scale_shape:?}){} in an .npz",
        if t.tensor_scale.is_some() {
            ", tensor_scale (float32)"
        } else {
            ""
        }
    ))
}

/// Adds one array to an .npz (stored, fixed timestamp: same input, same bytes).
fn add_npy<T: npy::Element, W: Write + io::Seek>(
    z: &mut npyz::zip::ZipWriter<W>,
    name: &str,
    shape: &[usize],
    data: &[T],
) -> io::Result<()> {
    let size = npy::header(T::DESCR, shape).len() + std::mem::size_of_val(data);
    let options = npyz::zip::write::FileOptions::default()
        .compression_method(npyz::zip::CompressionMethod::Stored)
        .last_modified_time(npyz::zip::DateTime::default())
        .unix_permissions(0o644)
        .large_file(size as u64 >= u32::MAX as u64);
    z.start_file(name, options)?;
    npy::write(z, shape, data)
}

/// Saves an array as .npy, atomically.
fn save_npy<T: npy::Element>(path: &Path, shape: &[usize], data: &[T]) -> CliResult {
    write_atomically(path, |f: &mut File| {
        let mut w = BufWriter::new(f);
        npy::write(&mut w, shape, data)?;
        w.flush()
    })
}

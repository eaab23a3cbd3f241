//! `bitsim embed`: sentence embeddings from the real model (all-MiniLM-L6-v2)
//! with its linears and attentions on chosen variants, as JSON or `.npy`,
//! or their cosine-similarity matrix.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::Args;

use super::common::{stdout_error, table, write_atomically, CliError, CliResult};
use crate::model::{self, LayerOverride, Model, ModelSpec};
use crate::tensor::Matrix;
use crate::workload::npy;

/// Arguments of `bitsim embed`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The model is read from DIR (fetch it with scripts/fetch-minilm); \
bitsim never touches the network.\n\
JSON output: {\"model\", \"layers\": [[matmul, attention] per layer], \"sentences\": \
[{\"text\", \"tokens\", \"embedding\"}]}; .npy output: float32, sentences x 384."
)]
pub struct EmbedArgs {
    /// Model directory (config.json, model.safetensors, tokenizer.json).
    #[arg(long, value_name = "DIR", default_value = model::DEFAULT_DIR)]
    pub model: PathBuf,
    /// Matmul variant of every linear layer.
    #[arg(long, value_name = "V", default_value = model::spec::DEFAULT_MATMUL)]
    pub variant: String,
    /// Attention variant of every layer.
    #[arg(long, value_name = "A", default_value = model::spec::DEFAULT_ATTENTION)]
    pub attention: String,
    /// One layer on another variant: L=matmul/… (its six linears) or
    /// L=attention/…; repeatable, a later one wins.
    #[arg(long = "layer-variant", value_name = "L=V")]
    pub layer_variant: Vec<String>,
    /// Run every variant's emulation, not its native kernel (same bits, slower).
    #[arg(long)]
    pub emulate: bool,
    /// Output format of the embeddings: json or npy (npy needs --out).
    #[arg(long, value_name = "F", default_value = "json")]
    pub format: String,
    /// Write the embeddings to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the cosine-similarity matrix of the sentences (the embeddings
    /// then go only to --out, if given).
    #[arg(long)]
    pub similarity: bool,
    /// Instruction-set cap for the kernels (`--isa`).
    #[command(flatten)]
    pub isa: super::isa::IsaArgs,
    /// The sentences to embed.
    #[arg(required = true, value_name = "SENTENCE")]
    pub sentences: Vec<String>,
}

/// Checks that every variant named on the command line is registered, the
/// error naming the flag that named it (before the model is loaded: a bad
/// name costs no time).
fn check_variants(args: &EmbedArgs, overrides: &[LayerOverride]) -> Result<(), CliError> {
    let unknown = |flag: &str, kind: &str| {
        CliError::new(
            flag,
            format!("unknown {kind} variant (see `bitsim variants list`)"),
        )
    };
    if crate::variants::find(&args.variant).is_none() {
        return Err(unknown(&format!("--variant {}", args.variant), "matmul"));
    }
    if crate::attention::find(&args.attention).is_none() {
        return Err(unknown(
            &format!("--attention {}", args.attention),
            "attention",
        ));
    }
    for (o, given) in overrides.iter().zip(&args.layer_variant) {
        let flag = format!("--layer-variant {given}");
        if o.variant.starts_with("matmul/") && crate::variants::find(&o.variant).is_none() {
            return Err(unknown(&flag, "matmul"));
        }
        if o.variant.starts_with("attention/") && crate::attention::find(&o.variant).is_none() {
            return Err(unknown(&flag, "attention"));
        }
    }
    Ok(())
}

/// Runs `bitsim embed`.
pub fn run(args: &EmbedArgs, out: &mut dyn Write) -> CliResult {
    let npy_out = match args.format.as_str() {
        "json" => false,
        "npy" => true,
        f => {
            return Err(CliError::new(
                format!("--format {f}"),
                "expected json or npy",
            ))
        }
    };
    if npy_out && args.out.is_none() {
        return Err(CliError::new(
            "--format npy",
            "needs --out FILE (binary output)",
        ));
    }
    let overrides = args
        .layer_variant
        .iter()
        .map(|s| {
            LayerOverride::parse(s).map_err(|e| CliError::new(format!("--layer-variant {s}"), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_variants(args, &overrides)?;
    let spec = ModelSpec {
        matmul: args.variant.clone(),
        attention: args.attention.clone(),
        overrides,
        native: !args.emulate,
        ..ModelSpec::default()
    };
    let err = |e: model::ModelError| CliError::new(e.input, e.reason);
    let model = Model::load(&args.model).map_err(err)?;
    let sentences: Vec<&str> = args.sentences.iter().map(String::as_str).collect();
    let batch = model.tokenize(&sentences).map_err(err)?;
    let prepared = model.prepare(&spec).map_err(err)?;
    let fwd = prepared.forward(&batch).map_err(|e| {
        CliError::new(
            format!("--variant {} --attention {}", spec.matmul, spec.attention),
            e,
        )
    })?;
    let e = &fwd.embeddings;

    let json = || {
        serde_json::json!({
            "model": args.model.display().to_string(),
            "layers": prepared.layer_names(),
            "sentences": sentences.iter().enumerate().map(|(s, t)| serde_json::json!({
                "text": t,
                "tokens": fwd.lens[s],
                "embedding": e.row(s),
            })).collect::<Vec<_>>(),
        })
    };
    match &args.out {
        Some(path) => write_atomically(path, |f| {
            let mut w = BufWriter::new(f);
            if npy_out {
                npy::write(&mut w, &[e.rows, e.cols], &e.data)?;
            } else {
                serde_json::to_writer(&mut w, &json())?;
                writeln!(w)?;
            }
            w.flush()
        })?,
        None if !args.similarity => {
            serde_json::to_writer(&mut *out, &json()).map_err(|e| stdout_error(e.into()))?;
            writeln!(out).map_err(stdout_error)?;
        }
        None => {}
    }
    if args.similarity {
        similarity(e, &sentences, out).map_err(stdout_error)?;
    }
    Ok(())
}

/// Cosine similarity of embedding rows `a` and `b` (in f64).
pub fn cosine(e: &Matrix, a: usize, b: usize) -> f64 {
    let (x, y) = (e.row(a), e.row(b));
    let dot: f64 = x.iter().zip(y).map(|(&p, &q)| p as f64 * q as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|&p| p as f64 * p as f64).sum::<f64>().sqrt();
    dot / (norm(x) * norm(y))
}

/// Prints the cosine matrix (4 decimals), then which sentence each index is.
fn similarity(e: &Matrix, sentences: &[&str], out: &mut dyn Write) -> std::io::Result<()> {
    let n = e.rows;
    let mut rows = vec![std::iter::once(String::new())
        .chain((0..n).map(|j| format!("[{j}]")))
        .collect::<Vec<_>>()];
    for i in 0..n {
        rows.push(
            std::iter::once(format!("[{i}]"))
                .chain((0..n).map(|j| format!("{:.4}", cosine(e, i, j))))
                .collect(),
        );
    }
    table(out, &rows)?;
    for (i, s) in sentences.iter().enumerate() {
        writeln!(out, "[{i}] {s}")?;
    }
    Ok(())
}

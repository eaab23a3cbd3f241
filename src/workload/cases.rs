//! Cases: the (workload, shape) pairs of a suite with where their matrices
//! come from, and the matrices of one case for one seed.

use std::path::Path;
use std::sync::Arc;

use super::attention::{self, AttnShape, Qkv};
use super::attention_spec::{check_size, AttnDist, AttnSource, TensorRef};
use super::gen::Distribution;
use super::spec::{Dist, Workload, WorkloadKind};
use super::weights;
use crate::rng::SplitMix64;
use crate::tensor::{Matrix, Shape};

/// Draws a `rows × cols` matrix from a distribution and a seed (see [`super::gen::generate`]).
pub type GenerateFn = fn(&Distribution, usize, usize, u64) -> Matrix;
/// LLM-like operands `(A: m × k, W: n × k)` from a seed (see [`super::gen::llm_like`]).
pub type LlmLikeFn = fn(usize, usize, usize, u64) -> (Matrix, Matrix);

/// A (workload, shape) pair with where its matrices come from.
#[derive(Debug, Clone)]
pub struct Case {
    /// Workload name in the results (`name:tensor` for one tensor of a multi-tensor file).
    pub workload: String,
    /// The matmul shape.
    pub shape: Shape,
    /// Where the matrices come from.
    pub source: Source,
}

/// Where a case's matrices come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Drawn from a distribution.
    Generated(Dist),
    /// Fixed weights; activations drawn Gaussian(0, 1).
    Weights(Arc<Matrix>),
}

/// The seed of the weights, derived from the workload seed (activations use
/// the seed itself) so that A and W are independent draws (one SplitMix64 step).
pub fn weight_seed(seed: u64) -> u64 {
    SplitMix64::new(seed).next_u64()
}

impl Case {
    /// The operands `(A: m × k, W: n × k)` for `seed`, drawn with the given
    /// generators (the suite passes the real ones; its tests pass fakes).
    pub fn matrices(
        &self,
        seed: u64,
        generate: GenerateFn,
        llm_like: LlmLikeFn,
    ) -> (Matrix, Matrix) {
        let Shape { m, k, n } = self.shape;
        match &self.source {
            Source::Generated(Dist::Plain(d)) => (
                generate(d, m, k, seed),
                generate(d, n, k, weight_seed(seed)),
            ),
            Source::Generated(Dist::LlmLike) => llm_like(m, k, n, seed),
            Source::Weights(w) => (
                generate(&Distribution::Gaussian { std: 1.0 }, m, k, seed),
                (**w).clone(),
            ),
        }
    }
}

/// A weight file that could not be read: the spec line of its workload and
/// the reason (`workloads 'NAME': file 'PATH': …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The spec line of the workload's table.
    pub line: usize,
    /// What is wrong, naming the workload and the file.
    pub message: String,
}

/// The cases of `workloads` in order (each workload's shapes, or each tensor
/// of its file), loading weight files.
pub fn cases(workloads: &[Workload]) -> Result<Vec<Case>, FileError> {
    let mut out = Vec::new();
    for w in workloads {
        match &w.kind {
            WorkloadKind::Generated { dist, shapes } => {
                out.extend(shapes.iter().map(|&shape| Case {
                    workload: w.name.clone(),
                    shape,
                    source: Source::Generated(dist.clone()),
                }))
            }
            // Attention workloads have their own cases (see [`attention_cases`]).
            WorkloadKind::Attention(_) => {}
            WorkloadKind::File { path, tensors, m } => {
                let loaded = weights::load(path, tensors).map_err(|e| FileError {
                    line: w.line,
                    message: format!("workloads '{}': file '{}': {e}", w.name, path.display()),
                })?;
                let single = loaded.len() == 1 && tensors.is_empty();
                for (tensor, mat) in loaded {
                    out.push(Case {
                        // One name per tensor so that cells stay distinct.
                        workload: if single {
                            w.name.clone()
                        } else {
                            format!("{}:{tensor}", w.name)
                        },
                        shape: Shape {
                            m: *m,
                            k: mat.cols,
                            n: mat.rows,
                        },
                        source: Source::Weights(Arc::new(mat)),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// An attention workload's case: its name, shape and where Q/K/V come from.
#[derive(Debug, Clone)]
pub struct AttnCase {
    /// Workload name in the results.
    pub workload: String,
    /// The attention's shape (its text is the results' `shape`).
    pub shape: AttnShape,
    /// Seeded, or loaded once from files.
    pub source: AttnCaseSource,
}

/// Where an attention case's Q/K/V come from.
#[derive(Debug, Clone)]
pub enum AttnCaseSource {
    /// Drawn for each seed.
    Generated(AttnDist),
    /// The same tensors for every seed.
    Loaded(Arc<Qkv>),
}

impl AttnCase {
    /// Q/K/V for `seed` (same seed, same bytes).
    pub fn qkv(&self, seed: u64) -> Qkv {
        match &self.source {
            AttnCaseSource::Generated(AttnDist::Realistic) => {
                attention::realistic(self.shape, seed)
            }
            AttnCaseSource::Generated(AttnDist::Gaussian) => attention::gaussian(self.shape, seed),
            AttnCaseSource::Generated(AttnDist::GloveLike) => {
                attention::glove_like(self.shape, seed)
            }
            AttnCaseSource::Loaded(x) => (**x).clone(),
        }
    }
}

/// How a model workload's Q/K/V are computed: `(model folder, layer,
/// sentence index or None for the longest)` → Q/K/V, or a one-line error.
/// The model sits above this layer; the suite passes the function in.
pub type ModelQkvFn<'a> = &'a dyn Fn(&Path, usize, Option<usize>) -> Result<Qkv, String>;

/// The attention cases of `workloads` in order (one per attention
/// workload), loading and checking their files (and computing a model's
/// Q/K/V with `model_qkv`).
pub fn attention_cases(
    workloads: &[Workload],
    model_qkv: ModelQkvFn,
) -> Result<Vec<AttnCase>, FileError> {
    let mut out = Vec::new();
    for w in workloads {
        let WorkloadKind::Attention(a) = &w.kind else {
            continue;
        };
        let (shape, source) = match &a.source {
            AttnSource::Generated { dist, shape } => (*shape, AttnCaseSource::Generated(*dist)),
            AttnSource::Files { qkv, causal } => {
                let x = load_qkv(qkv, *causal).map_err(|message| FileError {
                    line: w.line,
                    message: format!("workloads '{}': {message}", w.name),
                })?;
                (x.shape, AttnCaseSource::Loaded(Arc::new(x)))
            }
            AttnSource::Model {
                dir,
                layer,
                sentence,
            } => {
                let x = model_qkv(dir, *layer, *sentence).map_err(|message| FileError {
                    line: w.line,
                    message: format!("workloads '{}': {message}", w.name),
                })?;
                (x.shape, AttnCaseSource::Loaded(Arc::new(x)))
            }
        };
        out.push(AttnCase {
            workload: w.name.clone(),
            shape,
            source,
        });
    }
    Ok(out)
}

/// One of Q, K, V: its `[heads, tokens, d]` and values (errors name the key and file).
fn load_tensor(key: &str, r: &TensorRef) -> Result<([usize; 3], Vec<f32>), String> {
    let at = match &r.name {
        Some(n) => format!("{key}: tensor '{n}' of '{}'", r.path.display()),
        None => format!("{key}: '{}'", r.path.display()),
    };
    let (dims, data) = match &r.name {
        None => {
            let a = super::npy::read(&r.path).map_err(|e| format!("{at}: {e}"))?;
            let data = match a.data {
                super::npy::Data::F32(v) => v,
                super::npy::Data::F64(v) => v.iter().map(|&x| x as f32).collect(),
            };
            (a.shape, data)
        }
        Some(n) => {
            let mut t = super::safetensors::load_tensors(&r.path, std::slice::from_ref(n))
                .map_err(|e| format!("{key}: {e}"))?;
            if t.len() != 1 || &t[0].name != n {
                return Err(format!("{at}: no tensor of exactly that name"));
            }
            let t = t.remove(0);
            (t.shape, t.data)
        }
    };
    let dims: [usize; 3] = dims.as_slice().try_into().map_err(|_| {
        format!("{at}: shape {dims:?} is not [heads, tokens, head dim] (three dimensions)")
    })?;
    if dims.contains(&0) {
        return Err(format!("{at}: shape {dims:?} has an empty dimension"));
    }
    Ok((dims, data))
}

/// Q/K/V from files, their shapes checked against each other.
fn load_qkv(r: &[TensorRef; 3], causal: bool) -> Result<Qkv, String> {
    let (qd, q) = load_tensor("q", &r[0])?;
    let (kd, k) = load_tensor("k", &r[1])?;
    let (vd, v) = load_tensor("v", &r[2])?;
    for (key, dims) in [("k", kd), ("v", vd)] {
        if dims[0] != qd[0] {
            return Err(format!(
                "{key}: {} heads, but q has {} (shapes {dims:?}, {qd:?})",
                dims[0], qd[0]
            ));
        }
        if dims[2] != qd[2] {
            return Err(format!(
                "{key}: head dim {}, but q has {} (shapes {dims:?}, {qd:?})",
                dims[2], qd[2]
            ));
        }
    }
    if vd[1] != kd[1] {
        return Err(format!(
            "v: {} tokens, but k has {} (every key needs one value)",
            vd[1], kd[1]
        ));
    }
    if causal && qd[1] > kd[1] {
        return Err(format!(
            "causal: {} queries over {} keys: the first queries would see no key (need nq <= nk)",
            qd[1], kd[1]
        ));
    }
    let shape = AttnShape {
        heads: qd[0],
        nq: qd[1],
        nk: kd[1],
        d: qd[2],
        causal,
    };
    check_size(shape).map_err(|e| format!("q: {e}"))?;
    Qkv::new(shape, q, k, v).map_err(|e| format!("{}{}", e[..1].to_ascii_lowercase(), &e[1..]))
}

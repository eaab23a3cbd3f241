//! Cases: the (workload, shape) pairs of a suite with where their matrices
//! come from, and the matrices of one case for one seed.

use std::sync::Arc;

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

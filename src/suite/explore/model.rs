//! The model-level score of the explorer's best candidates (the
//! `[explore.model]` table): after the sweep, each configuration on the bits
//! × SQNR front (the report's first front; optionally thinned) and each known
//! format of the space is applied to every linear-layer weight of the model —
//! quantized and dequantized by the explorer's own quantizer ([`quant`]),
//! one tensor per weight matrix, rows = output channels — and the f32
//! forward (activations, attention and everything else in f32) runs over
//! the evaluation sentences. The figures are the real-model study's
//! ([`studies::model::score`]) against the forward on the original weights.
//!
//! Rows: workload [`MODEL`], shape `-`, one per [`metric`] the sentences
//! define (Spearman needs two pairs, retrieval a query whose document is
//! among the sentences); a value the forward leaves undefined (non-finite
//! embeddings) is NaN.
//!
//! [`studies::model::score`]: crate::suite::studies::model::score

use crate::suite::record::Measurement;
use crate::suite::studies::model::{score, Layout, ModelRow, Reference};
use crate::tensor::Matrix;
use crate::workload::eval_set::EvalSet;

use super::config::{known_name, Config};
use super::quant;
use super::spec::ModelTable;
use crate::model::{Batch, Model, ModelSpec};

/// Workload of the model-score rows.
pub const MODEL: &str = "model";

/// The model-score metrics (rows per scored configuration).
pub mod metric {
    /// Mean over sentences of the embedding's cosine to the f32 one.
    pub const COS_MEAN: &str = "model_cos_mean";
    /// The worst sentence's cosine.
    pub const COS_WORST: &str = "model_cos_worst";
    /// Spearman correlation of the pairs' similarities with the f32 model's.
    pub const SPEARMAN: &str = "model_spearman";
    /// Spearman correlation of the pairs' similarities with the set's scores.
    pub const SPEARMAN_SCORES: &str = "model_spearman_scores";
    /// Fraction of queries whose top-1 document is the f32 model's.
    pub const TOP1_AGREEMENT: &str = "model_top1_agreement";
    /// Fraction of queries whose top-1 document is the relevant one.
    pub const RECALL_AT_1: &str = "model_recall_at_1";
    /// SQNR of the last layer's output against the f32 run, dB.
    pub const FINAL_SQNR_DB: &str = "model_final_sqnr_db";
    /// The layer that adds the most error (from 0).
    pub const WORST_LAYER: &str = "model_worst_layer";
}

/// The model, its original linear weights, the tokenized sentences and the
/// f32 reference: what scores one configuration after another.
pub struct Scorer<'s> {
    model: Model,
    /// Per layer, the six linears' original weights ([`crate::model::weights::LayerWeights::linears`] order).
    originals: Vec<Vec<Matrix>>,
    layout: Layout<'s>,
    batch: Batch,
    reference: Reference,
}

impl<'s> Scorer<'s> {
    /// Loads the table's model, tokenizes the first `sentences` of `set`
    /// and runs the f32 reference forward. The error is the reason (the
    /// caller names the table).
    pub fn new(table: &ModelTable, set: &'s EvalSet) -> Result<Scorer<'s>, String> {
        let model = Model::load(&table.dir).map_err(|e| e.to_string())?;
        let layout = Layout::first(set, table.sentences.unwrap_or(usize::MAX));
        if layout.sentences().is_empty() {
            return Err("the evaluation set has no sentence".into());
        }
        let batch = model
            .tokenize(layout.sentences())
            .map_err(|e| e.to_string())?;
        let fwd = model
            .prepare(&ModelSpec::default())
            .map_err(|e| e.to_string())?
            .forward(&batch)
            .map_err(|e| format!("the f32 forward: {e}"))?;
        let reference = Reference::new(&layout, fwd);
        let originals = model
            .weights
            .layers
            .iter()
            .map(|l| l.linears().map(|(_, lin)| lin.w.clone()).to_vec())
            .collect();
        Ok(Scorer {
            model,
            originals,
            layout,
            batch,
            reference,
        })
    }

    /// The sentences, pairs, queries and documents scored.
    pub fn layout(&self) -> &Layout<'s> {
        &self.layout
    }

    /// The reference's own figures against the set's labels: Spearman with
    /// the human scores and recall@1 (`None` where the sentences define none).
    pub fn reference_figures(&self) -> (Option<f64>, Option<f64>) {
        (
            self.reference.spearman_scores(&self.layout),
            (self.layout.queries() > 0).then(|| self.reference.recall_at_1(&self.layout)),
        )
    }

    /// The metrics each scored configuration writes, in order.
    pub fn metrics(&self) -> Vec<&'static str> {
        let mut m = vec![metric::COS_MEAN, metric::COS_WORST];
        if self.layout.pairs() >= 2 {
            m.extend([metric::SPEARMAN, metric::SPEARMAN_SCORES]);
        }
        if self.layout.queries() > 0 {
            m.extend([metric::TOP1_AGREEMENT, metric::RECALL_AT_1]);
        }
        m.extend([metric::FINAL_SQNR_DB, metric::WORST_LAYER]);
        m
    }

    /// The study's figures with every linear weight of the model replaced
    /// by `cfg`'s quantized-and-dequantized values; `None` when the forward
    /// failed (non-finite values).
    pub fn score(&mut self, cfg: &Config) -> Result<Option<ModelRow>, String> {
        let deq = |w: &Matrix| -> Result<Matrix, String> {
            let (_, d) = quant::quantize(cfg, &w.data, w.rows, w.cols, w.rows)?;
            Ok(Matrix::new(w.rows, w.cols, d))
        };
        self.apply(&deq)
    }

    /// Scores the model with each linear weight replaced by `f(original)`
    /// (`f` is the quantizer; an identity `f` scores the reference itself).
    pub fn apply(
        &mut self,
        f: &dyn Fn(&Matrix) -> Result<Matrix, String>,
    ) -> Result<Option<ModelRow>, String> {
        for (lw, orig) in self.model.weights.layers.iter_mut().zip(&self.originals) {
            for ((name, lin), w) in lw.linears_mut().into_iter().zip(orig) {
                lin.w = f(w).map_err(|e| format!("{name}: {e}"))?;
            }
        }
        let fwd = self
            .model
            .prepare(&ModelSpec::default())
            .map_err(|e| e.to_string())?
            .forward(&self.batch);
        let fwd = match fwd {
            Ok(f) if f.embeddings.data.iter().all(|v| v.is_finite()) => f,
            _ => return Ok(None),
        };
        let mut row = ModelRow::default();
        score(&self.layout, &self.reference, &fwd, &mut row);
        Ok(Some(row))
    }
}

/// The rows of one scored configuration (`None`: the forward failed; every
/// figure NaN), through `row(workload, shape, metric, value, unit)`.
pub fn rows(
    scored: Option<&ModelRow>,
    metrics: &[&'static str],
    row: &dyn Fn(&str, &str, &str, f64, &str) -> Measurement,
) -> Vec<Measurement> {
    metrics
        .iter()
        .map(|&m| {
            let v = scored.map_or(f64::NAN, |r| match m {
                metric::COS_MEAN => r.cos_mean,
                metric::COS_WORST => r.cos_worst,
                metric::SPEARMAN => r.spearman.unwrap_or(f64::NAN),
                metric::SPEARMAN_SCORES => r.spearman_scores.unwrap_or(f64::NAN),
                metric::TOP1_AGREEMENT => r.top1_agreement,
                metric::RECALL_AT_1 => r.recall_at_1,
                // An exact last layer (`None`) has infinite SQNR.
                metric::FINAL_SQNR_DB => r
                    .layer_sqnr_db
                    .last()
                    .map_or(f64::NAN, |s| s.unwrap_or(f64::INFINITY)),
                metric::WORST_LAYER => r.worst_layer.map_or(f64::NAN, |l| l as f64),
                _ => f64::NAN,
            });
            let unit = if m == metric::FINAL_SQNR_DB { "dB" } else { "" };
            row(MODEL, "-", m, v, unit)
        })
        .collect()
}

/// The configurations to score, in the space's order: those on the Pareto
/// front of (bits per element, −SQNR) — `sqnr[i]` the pooled weight SQNR
/// when the run has weights, else the activations' — thinned to
/// `max` points evenly along the front (both ends kept; one: the fewest
/// bits), plus the known formats of the space when `known`.
pub fn candidates(
    names: &[String],
    bits: &[f64],
    sqnr: &[f64],
    max: Option<usize>,
    known: bool,
) -> Vec<usize> {
    let coords: Vec<(f64, f64)> = bits
        .iter()
        .zip(sqnr)
        .map(|(&b, &s)| {
            if b.is_finite() && s.is_finite() {
                (b, -s)
            } else {
                (f64::NAN, f64::NAN)
            }
        })
        .collect();
    let front = crate::metrics::pareto::pareto_front(&coords);
    let mut pick: Vec<usize> = match max {
        Some(n) if n < front.len() => {
            if n == 1 {
                vec![front[0]]
            } else {
                // i·(len − 1)/(n − 1) rounded: strictly increasing for n ≤ len.
                (0..n)
                    .map(|i| front[(i * (front.len() - 1) + (n - 1) / 2) / (n - 1)])
                    .collect()
            }
        }
        _ => front,
    };
    if known {
        pick.extend((0..names.len()).filter(|&i| known_name(&names[i]).is_some()));
    }
    pick.sort_unstable();
    pick.dedup();
    pick
}

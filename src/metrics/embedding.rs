//! Sentence-embedding metrics: how far a variant's embeddings are from the
//! reference's, whether the ranking of pair similarities survives, and
//! whether retrieval still picks the same documents.
//!
//! Embedding sets are row-major `f64` slices of `n` rows of `dim` values
//! (one row per sentence). Cosine and SQNR are the module's
//! [`accuracy`] figures, with its conventions: the cosine of
//! identical vectors is exactly 1 (two zero vectors included), of a zero and a
//! non-zero vector 0; SQNR is +inf when exact. Sums are compensated
//! ([`Neumaier`]).

use super::{accuracy, Neumaier};

/// Cosine similarity ⟨a, b⟩ / (‖a‖‖b‖) in f64, clamped to [−1, 1]; 1 for
/// identical vectors, 0 when exactly one of them is zero, NaN when an input
/// holds a NaN. Symmetric in its arguments.
///
/// # Panics
/// When the lengths differ.
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    accuracy(a, b).cosine
}

/// SQNR in dB of `approx` against `reference`:
/// `10·log10(‖reference‖² / ‖approx − reference‖²)` (+inf when exact, −inf
/// when only the reference is zero). Per-layer output SQNR of a model is this
/// on each layer's flattened output.
///
/// # Panics
/// When the lengths differ.
pub fn sqnr_db(reference: &[f64], approx: &[f64]) -> f64 {
    accuracy(reference, approx).sqnr_db
}

/// Row-by-row cosine between two embedding sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineSummary {
    /// Mean of the rows' cosines (1 for no rows).
    pub mean: f64,
    /// The smallest row cosine (1 for no rows; NaN if any row's is NaN).
    pub worst: f64,
    /// The row of the worst cosine (the first such row), `None` for no rows.
    pub worst_row: Option<usize>,
}

/// The row cosines of `approx` against `reference` (both `n × dim`,
/// row-major), in row order.
///
/// # Panics
/// When `dim` is 0, the lengths differ, or they are not a multiple of `dim`.
pub fn row_cosines(reference: &[f64], approx: &[f64], dim: usize) -> Vec<f64> {
    check_rows(reference, dim, "reference");
    assert_eq!(
        reference.len(),
        approx.len(),
        "embedding sets differ in length"
    );
    reference
        .chunks_exact(dim)
        .zip(approx.chunks_exact(dim))
        .map(|(r, x)| cosine(r, x))
        .collect()
}

/// Mean and worst row cosine of `approx` against `reference` (both
/// `n × dim`, row-major): the embedding drift of a variant.
///
/// # Panics
/// As [`row_cosines`].
pub fn cosine_summary(reference: &[f64], approx: &[f64], dim: usize) -> CosineSummary {
    let cos = row_cosines(reference, approx, dim);
    if cos.is_empty() {
        return CosineSummary {
            mean: 1.0,
            worst: 1.0,
            worst_row: None,
        };
    }
    let mut sum = Neumaier::new();
    let (mut worst, mut worst_row) = (cos[0], 0);
    for (i, &c) in cos.iter().enumerate() {
        sum.add(c);
        // A NaN row stays the worst once seen: `<` alone would skip it.
        if !worst.is_nan() && (c.is_nan() || c < worst) {
            (worst, worst_row) = (c, i);
        }
    }
    CosineSummary {
        mean: sum.total() / cos.len() as f64,
        worst,
        worst_row: Some(worst_row),
    }
}

/// 1-based ranks of `x` with tied values given the average of the ranks
/// they span (`[10, 20, 20, 30]` → `[1, 2.5, 2.5, 4]`). Values tie when
/// equal as numbers (−0 ties +0); NaNs rank after +inf and tie with each
/// other.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    let mut ranks = vec![0.0; x.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && same(x[order[start]], x[order[end]]) {
            end += 1;
        }
        // Positions start..end hold ranks start+1 ..= end; their mean:
        let r = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = r;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation of `x` and `y`: Pearson's correlation of
/// their [`average_ranks`] (the tie-corrected form, as `scipy.stats.spearmanr`
/// computes it). `None` when it is undefined: fewer than two items, a NaN in
/// either input, or either input constant (all ranks equal).
///
/// # Panics
/// When the lengths differ.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "spearman: inputs differ in length");
    if x.len() < 2 || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    let (rx, ry) = (average_ranks(x), average_ranks(y));
    // Both rank vectors have mean (n + 1) / 2 exactly (ranks sum to n(n+1)/2).
    let m = (x.len() + 1) as f64 / 2.0;
    let (mut sxy, mut sxx, mut syy) = (Neumaier::new(), Neumaier::new(), Neumaier::new());
    for (a, b) in rx.iter().zip(&ry) {
        let (da, db) = (a - m, b - m);
        sxy.add(da * db);
        sxx.add(da * da);
        syy.add(db * db);
    }
    let (sxy, sxx, syy) = (sxy.total(), sxx.total(), syy.total());
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// For each query (rows of `queries`, `q × dim`), the index of the document
/// (rows of `docs`, `d × dim`) with the highest [`cosine`]. Ties go to the
/// lowest index; a NaN cosine never wins over a number (a query whose
/// cosines are all NaN gets document 0).
///
/// # Panics
/// When `dim` is 0, a length is not a multiple of `dim`, or there are
/// queries but no documents.
pub fn top1(queries: &[f64], docs: &[f64], dim: usize) -> Vec<usize> {
    check_rows(queries, dim, "queries");
    check_rows(docs, dim, "docs");
    assert!(
        queries.is_empty() || !docs.is_empty(),
        "top1: queries but no documents"
    );
    queries
        .chunks_exact(dim)
        .map(|q| {
            let mut best = (0, f64::NAN);
            for (i, d) in docs.chunks_exact(dim).enumerate() {
                let c = cosine(q, d);
                // Strictly greater keeps the lowest index on ties.
                if !c.is_nan() && (best.1.is_nan() || c > best.1) {
                    best = (i, c);
                }
            }
            best.0
        })
        .collect()
}

/// Fraction of queries on which two runs' [`top1`] picks agree (1 for no
/// queries).
///
/// # Panics
/// When the lengths differ.
pub fn top1_agreement(a: &[usize], b: &[usize]) -> f64 {
    fraction_equal(a, b, "top1_agreement")
}

/// Recall@1: fraction of queries whose [`top1`] pick is the relevant
/// document `relevant[i]` (1 for no queries: none was missed).
///
/// # Panics
/// When the lengths differ.
pub fn recall_at_1(top1: &[usize], relevant: &[usize]) -> f64 {
    fraction_equal(top1, relevant, "recall_at_1")
}

fn fraction_equal(a: &[usize], b: &[usize], what: &str) -> f64 {
    assert_eq!(a.len(), b.len(), "{what}: inputs differ in length");
    if a.is_empty() {
        return 1.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

fn check_rows(data: &[f64], dim: usize, what: &str) {
    assert!(dim > 0, "embedding dimension 0");
    assert!(
        data.len().is_multiple_of(dim),
        "{what}: {} values are not rows of {dim}",
        data.len()
    );
}

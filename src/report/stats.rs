//! Small statistics on samples: mean, median, sample variance and Welch's
//! t-test (the noise test of run-to-run comparisons).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Median (mean of the two middle values for an even count); NaN for an
/// empty slice. NaN inputs sort last (`total_cmp`), so filter them first.
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Unbiased sample variance (divides by n − 1); NaN for fewer than 2 values.
pub fn sample_variance(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return f64::NAN;
    }
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64
}

/// The result of Welch's unequal-variance t-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// t = (mean(a) − mean(b)) / √(s²_a/n_a + s²_b/n_b).
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value from Student's t distribution with `df` degrees of freedom.
    pub p_value: f64,
}

/// Welch's t-test of `a` against `b`. `None` when either sample has fewer
/// than two values or a non-finite value (the test is undefined there).
///
/// When both samples have zero variance the standard error is zero: equal
/// means give t = 0 and p = 1, different means t = ±∞ and p = 0 (the
/// difference is certainly not noise), with df = n_a + n_b − 2.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|x| !x.is_finite()) {
        return None;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (sample_variance(a) / na, sample_variance(b) / nb);
    let diff = mean(a) - mean(b);
    let se2 = va + vb;
    if se2 == 0.0 {
        let df = na + nb - 2.0;
        return Some(if diff == 0.0 {
            Welch {
                t: 0.0,
                df,
                p_value: 1.0,
            }
        } else {
            Welch {
                t: diff.signum() * f64::INFINITY,
                df,
                p_value: 0.0,
            }
        });
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    // sf rather than 1 − cdf: keeps precision for small p.
    let p_value = (2.0 * dist.sf(t.abs())).min(1.0);
    Some(Welch { t, df, p_value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn variance_by_hand() {
        // mean 2.5, squared deviations 2.25+0.25+0.25+2.25 = 5, / 3
        assert!((sample_variance(&[1.0, 2.0, 3.0, 4.0]) - 5.0 / 3.0).abs() < 1e-15);
    }
}

//! The throughput gate's comparison: per kernel and shape, paired rounds of
//! a base build and a head build run interleaved on one machine; a kernel
//! regressed when head is slower than base by more than a threshold beyond
//! noise.
//!
//! **Test**: for each round i, d_i = ln(t_head,i / t_base,i) of the two
//! builds' median times in that round (pairing cancels the machine's drift:
//! both sides of a round ran back to back). H0: mean d ≤ ln(1 + θ) (head is
//! at most θ slower); H1: mean d > ln(1 + θ). A one-sided paired Student t
//! test on the d_i (n − 1 degrees of freedom, statrs); the kernel regressed
//! when p < α. With fewer than 3 rounds, or zero spread, no p-value exists
//! and the mean alone decides.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Default slowdown threshold θ: 20 % (the shared 2-core VMs vary by more
/// than 10 % run to run; a lost SIMD path costs several times).
pub const THRESHOLD: f64 = 0.20;
/// Default significance level α of the one-sided test.
pub const ALPHA: f64 = 0.01;

/// One kernel's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Variant and shape (`matmul/w8a8-int 1x2048x1024`).
    pub key: String,
    /// Rounds paired.
    pub rounds: usize,
    /// Geometric-mean time ratio head / base.
    pub ratio: f64,
    /// One-sided p-value of "slower by more than θ" (`None`: too few rounds or no spread).
    pub p_value: Option<f64>,
    /// Whether this kernel regressed.
    pub regressed: bool,
}

/// Compares paired times: `pairs` holds, per kernel key, the (base, head)
/// median times of every round.
pub fn compare(pairs: &[(String, Vec<(f64, f64)>)], threshold: f64, alpha: f64) -> Vec<Verdict> {
    let bound = (1.0 + threshold).ln();
    pairs
        .iter()
        .map(|(key, rounds)| {
            let d: Vec<f64> = rounds.iter().map(|(b, h)| (h / b).ln()).collect();
            let n = d.len() as f64;
            let mean = d.iter().sum::<f64>() / n;
            let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let p_value = if d.len() >= 3 && var > 0.0 {
                let t = (mean - bound) / (var / n).sqrt();
                StudentsT::new(0.0, 1.0, n - 1.0)
                    .ok()
                    .map(|dist| 1.0 - dist.cdf(t))
            } else {
                None
            };
            let regressed = match p_value {
                Some(p) => p < alpha,
                None => mean > bound,
            };
            Verdict {
                key: key.clone(),
                rounds: d.len(),
                ratio: mean.exp(),
                p_value,
                regressed,
            }
        })
        .collect()
}

/// Reads `kernels bench --json` output: (key, median_s) per line, key =
/// "variant MxKxN". Errors name the line.
pub fn read_bench_lines(text: &str) -> Result<Vec<(String, f64)>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let bad = |why: &str| format!("line {}: {why}", i + 1);
            let v: serde_json::Value = serde_json::from_str(l).map_err(|e| bad(&e.to_string()))?;
            let name = v["variant"].as_str().ok_or_else(|| bad("no variant"))?;
            let s = v["shape"].as_array().ok_or_else(|| bad("no shape"))?;
            let dims: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            let t = v["median_s"]
                .as_f64()
                .filter(|t| *t > 0.0)
                .ok_or_else(|| bad("no positive median_s"))?;
            Ok((format!("{name} {}", dims.join("x")), t))
        })
        .collect()
}

/// Pairs the rounds of two sides, each the (key, time) lines of all its
/// rounds in order: the r-th time of a key on one side pairs with the r-th
/// time of the same key on the other. Keys only one side has are left out
/// (a kernel new in head has no base to compare with).
pub fn pair_rounds(
    base: &[(String, f64)],
    head: &[(String, f64)],
) -> Vec<(String, Vec<(f64, f64)>)> {
    let times = |side: &[(String, f64)], key: &str| -> Vec<f64> {
        side.iter()
            .filter(|(k, _)| k == key)
            .map(|(_, t)| *t)
            .collect()
    };
    let mut out: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for (key, _) in base {
        if out.iter().any(|(k, _)| k == key) {
            continue;
        }
        let pairs: Vec<(f64, f64)> = times(base, key).into_iter().zip(times(head, key)).collect();
        if !pairs.is_empty() {
            out.push((key.clone(), pairs));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rounds(ratios: &[f64]) -> Vec<(String, Vec<(f64, f64)>)> {
        vec![("k".into(), ratios.iter().map(|r| (1.0, *r)).collect())]
    }

    #[test]
    fn a_clear_slowdown_regresses_and_noise_does_not() {
        let slow = compare(&rounds(&[3.1, 2.9, 3.3, 3.0, 2.8, 3.2]), THRESHOLD, ALPHA);
        assert!(slow[0].regressed, "{slow:?}");
        assert!((slow[0].ratio - 3.046).abs() < 0.01, "{slow:?}");
        let noise = compare(
            &rounds(&[1.1, 0.9, 1.15, 0.95, 1.05, 0.92]),
            THRESHOLD,
            ALPHA,
        );
        assert!(!noise[0].regressed, "{noise:?}");
        // Slower by 25 % but noisy enough that it is not beyond noise at 20 %.
        let unsure = compare(&rounds(&[1.6, 0.9, 1.5, 1.0, 1.3, 1.2]), THRESHOLD, ALPHA);
        assert!(!unsure[0].regressed, "{unsure:?}");
        // Faster is never a regression.
        let fast = compare(&rounds(&[0.3, 0.31, 0.29]), THRESHOLD, ALPHA);
        assert!(!fast[0].regressed);
    }

    #[test]
    fn the_p_value_matches_a_hand_computed_t() {
        // d = ln 2 each round ± 0.1: mean ln 2, sd 0.1·√(4/3)... use three
        // rounds d = ln2 − 0.1, ln2, ln2 + 0.1: mean ln 2, s = 0.1,
        // t = (ln 2 − ln 1.2) / (0.1/√3) = 8.849; 2 d.o.f.: p = 1 − F(t)
        // = 0.5 − t / (2√(2 + t²)) = 0.006 26.
        let l2 = 2f64.ln();
        let r: Vec<f64> = [l2 - 0.1, l2, l2 + 0.1].iter().map(|d| d.exp()).collect();
        let v = compare(&rounds(&r), 0.2, 0.01);
        let t = (l2 - 1.2f64.ln()) / (0.1 / 3f64.sqrt());
        let want = 0.5 - t / (2.0 * (2.0 + t * t).sqrt());
        let p = v[0].p_value.unwrap();
        assert!((p - want).abs() < 1e-9, "{p} vs {want}");
        assert!(v[0].regressed);
    }

    #[test]
    fn lines_parse_and_rounds_pair_by_key() {
        let a = r#"{"variant":"matmul/a","shape":[1,2,3],"median_s":0.5}
{"variant":"matmul/b","shape":[1,2,3],"median_s":0.25}"#;
        let got = read_bench_lines(a).unwrap();
        assert_eq!(
            got,
            vec![
                ("matmul/a 1x2x3".into(), 0.5),
                ("matmul/b 1x2x3".into(), 0.25)
            ]
        );
        assert!(read_bench_lines("{\"variant\":\"x\"}")
            .unwrap_err()
            .contains("line 1"));
        let h = vec![("matmul/a 1x2x3".to_string(), 1.0)];
        let two: Vec<_> = got.iter().chain(&got).cloned().collect();
        let p = pair_rounds(&two, &[h.clone(), h].concat());
        assert_eq!(
            p,
            vec![("matmul/a 1x2x3".to_string(), vec![(0.5, 1.0), (0.5, 1.0)])]
        );
    }
}

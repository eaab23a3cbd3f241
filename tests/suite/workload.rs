//! Workloads: seeded generators (bit-exact twins of the samplers, moments and
//! Kolmogorov–Smirnov bounds from statrs, the llm_like recipe) and the
//! safetensors loader.

use bitsim::workload::gen::{self, Distribution, BLOCK};
use bitsim::workload::safetensors as st;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ChiSquared, ContinuousCDF, Laplace, Normal, StudentsT, Uniform};

/// Per-check false-failure probability of the statistical tests.
const ALPHA: f64 = 1e-6;
/// Samples per distribution check (4 blocks, so several ChaCha streams).
const N: usize = 1 << 18;

// ---- bit-exact twins of the samplers, written from their definitions ----------

fn stream(seed: u64, s: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(s);
    r
}
fn unit(r: &mut ChaCha8Rng) -> f64 {
    (r.next_u64() >> 11) as f64 / 9007199254740992.0 // 2^53
}

#[test]
fn uniform_is_chacha_top_53_bits_block_by_block() {
    let (lo, hi) = (-2.0, 3.0);
    let len = 2 * BLOCK + 1000; // spans three blocks (three ChaCha streams)
    let m = gen::generate(&Distribution::Uniform { lo, hi }, 1, len, 99);
    for (j, chunk) in m.data.chunks(BLOCK).enumerate() {
        let mut r = stream(99, j as u64);
        for (i, &x) in chunk.iter().enumerate() {
            let want = (lo + (hi - lo) * unit(&mut r)) as f32;
            assert_eq!(x.to_bits(), want.to_bits(), "block {j} index {i}");
        }
    }
}

#[test]
fn gaussian_laplace_student_t_first_values_match_their_definitions() {
    // Marsaglia polar: (x, y) uniform in the unit disc, both x·f and y·f used.
    let mut r = stream(5, 0);
    let (x, y, s) = loop {
        let x = 2.0 * unit(&mut r) - 1.0;
        let y = 2.0 * unit(&mut r) - 1.0;
        let s = x * x + y * y;
        if s > 0.0 && s < 1.0 {
            break (x, y, s);
        }
    };
    let f = (-2.0 * s.ln() / s).sqrt();
    let g = gen::generate(&Distribution::Gaussian { std: 3.0 }, 1, 2, 5);
    assert_eq!(g.data, vec![(3.0 * x * f) as f32, (3.0 * y * f) as f32]);

    // Laplace inverse CDF on the open interval.
    let mut r = stream(6, 0);
    let u = ((r.next_u64() >> 11) as f64 + 0.5) / 9007199254740992.0;
    let v = u - 0.5;
    let want = -0.7 * v.signum() * (1.0 - 2.0 * v.abs()).ln();
    let l = gen::generate(&Distribution::Laplace { b: 0.7 }, 1, 1, 6);
    assert_eq!(l.data[0], want as f32);

    // Bailey's polar Student-t.
    let mut r = stream(7, 0);
    let t = loop {
        let u = 2.0 * unit(&mut r) - 1.0;
        let v = 2.0 * unit(&mut r) - 1.0;
        let w = u * u + v * v;
        if w > 0.0 && w <= 1.0 {
            break u * (3.0 * (w.powf(-2.0 / 3.0) - 1.0) / w).sqrt();
        }
    };
    let s = gen::generate(
        &Distribution::StudentT {
            nu: 3.0,
            scale: 0.5,
        },
        1,
        1,
        7,
    );
    assert_eq!(s.data[0], (0.5 * t) as f32);
}

#[test]
fn same_seed_same_bytes_different_seed_different_values() {
    let dists = [
        Distribution::Gaussian { std: 1.0 },
        Distribution::Laplace { b: 1.0 },
        Distribution::StudentT {
            nu: 4.0,
            scale: 1.0,
        },
        Distribution::Uniform { lo: 0.0, hi: 1.0 },
    ];
    for d in &dists {
        let a = gen::generate(d, 300, 500, 1);
        let b = gen::generate(d, 300, 500, 1);
        let bits =
            |m: &bitsim::workload::Matrix| m.data.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "{d:?}");
        let c = gen::generate(d, 300, 500, 2);
        let same = a.data.iter().zip(&c.data).filter(|(x, y)| x == y).count();
        assert!(same < 10, "{d:?}: seeds 1 and 2 agree in {same} places");
    }
}

// ---- statistics --------------------------------------------------------------

/// Two-sided standard-normal quantile for `alpha`.
fn z(alpha: f64) -> f64 {
    Normal::new(0.0, 1.0)
        .unwrap()
        .inverse_cdf(1.0 - alpha / 2.0)
}

/// Kolmogorov–Smirnov statistic of `data` against `cdf`.
fn ks(data: &[f32], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut x: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
    x.sort_by(f64::total_cmp);
    let n = x.len() as f64;
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = cdf(v);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

/// KS critical value at `ALPHA`: the Kolmogorov tail P(√n·D > x) ≤ 2·exp(−2x²).
fn ks_crit(n: usize) -> f64 {
    (-(ALPHA / 2.0).ln() / 2.0).sqrt() / (n as f64).sqrt()
}

/// Checks the sample mean and the sample second central moment (about the
/// true mean) against CLT bounds: mean ± z·σ/√n, σ² ± z·sqrt((μ4 − σ⁴)/n).
fn check_moments(data: &[f32], mean: f64, var: f64, mu4: f64) {
    let n = data.len() as f64;
    let m = data.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let m2 = data
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    let zz = z(ALPHA);
    assert!(
        (m - mean).abs() <= zz * (var / n).sqrt(),
        "mean {m}, want {mean}"
    );
    assert!(
        (m2 - var).abs() <= zz * ((mu4 - var * var) / n).sqrt(),
        "variance {m2}, want {var}"
    );
}

#[test]
fn gaussian_statistics() {
    let std = 2.5;
    let g = gen::generate(&Distribution::Gaussian { std }, 512, N / 512, 101);
    check_moments(&g.data, 0.0, std * std, 3.0 * std.powi(4));
    // Exact: n·m2/σ² ~ χ²(n) about the true mean.
    let chi = ChiSquared::new(N as f64).unwrap();
    let ss = g.data.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / (std * std);
    assert!(
        ss > chi.inverse_cdf(ALPHA / 2.0) && ss < chi.inverse_cdf(1.0 - ALPHA / 2.0),
        "{ss}"
    );
    let d = ks(&g.data, |x| Normal::new(0.0, std).unwrap().cdf(x));
    assert!(d < ks_crit(N), "KS {d} >= {}", ks_crit(N));
    // The test has power: a 5 % wrong scale is rejected.
    let wrong = ks(&g.data, |x| Normal::new(0.0, 1.05 * std).unwrap().cdf(x));
    assert!(wrong > ks_crit(N), "KS against a wrong scale: {wrong}");
}

#[test]
fn laplace_statistics() {
    let b = 0.7;
    let l = gen::generate(&Distribution::Laplace { b }, 1, N, 102);
    check_moments(&l.data, 0.0, 2.0 * b * b, 24.0 * b.powi(4));
    let d = ks(&l.data, |x| Laplace::new(0.0, b).unwrap().cdf(x));
    assert!(d < ks_crit(N), "KS {d}");
    let as_normal = ks(&l.data, |x| {
        Normal::new(0.0, b * 2f64.sqrt()).unwrap().cdf(x)
    });
    assert!(
        as_normal > ks_crit(N),
        "a Laplace sample must not pass as normal: {as_normal}"
    );
}

#[test]
fn student_t_statistics() {
    // ν = 10: var = s²·ν/(ν−2), μ4 = s⁴·3ν²/((ν−2)(ν−4)) (finite for ν > 4).
    let (nu, s) = (10.0, 0.5);
    let t = gen::generate(&Distribution::StudentT { nu, scale: s }, 1, N, 103);
    let var = s * s * nu / (nu - 2.0);
    check_moments(
        &t.data,
        0.0,
        var,
        s.powi(4) * 3.0 * nu * nu / ((nu - 2.0) * (nu - 4.0)),
    );
    assert_eq!(
        Distribution::StudentT { nu, scale: s }.std_dev(),
        Some(var.sqrt())
    );
    // Heavy tails (ν = 3) by KS.
    let t3 = gen::generate(
        &Distribution::StudentT {
            nu: 3.0,
            scale: 2.0,
        },
        1,
        N,
        104,
    );
    let d = ks(&t3.data, |x| StudentsT::new(0.0, 2.0, 3.0).unwrap().cdf(x));
    assert!(d < ks_crit(N), "KS {d}");
    let wrong_nu = ks(&t3.data, |x| StudentsT::new(0.0, 2.0, 4.0).unwrap().cdf(x));
    assert!(wrong_nu > ks_crit(N), "KS against ν = 4: {wrong_nu}");
}

#[test]
fn uniform_statistics() {
    let (lo, hi) = (-3.0, 5.0);
    let u = gen::generate(&Distribution::Uniform { lo, hi }, 1, N, 105);
    assert!(u.data.iter().all(|&x| (lo as f32..=hi as f32).contains(&x)));
    check_moments(&u.data, 1.0, 64.0 / 12.0, 8f64.powi(4) / 80.0);
    let d = ks(&u.data, |x| Uniform::new(lo, hi).unwrap().cdf(x));
    assert!(d < ks_crit(N), "KS {d}");
}

#[test]
fn invalid_parameters_are_rejected() {
    for d in [
        Distribution::Gaussian { std: -1.0 },
        Distribution::Laplace { b: f64::NAN },
        Distribution::StudentT {
            nu: 0.0,
            scale: 1.0,
        },
        Distribution::StudentT {
            nu: 3.0,
            scale: f64::INFINITY,
        },
        Distribution::Uniform { lo: 1.0, hi: 0.0 },
        // Degenerate: values overflow f32 (NaN metrics) or round to 0 ("exact").
        Distribution::Gaussian { std: 1e300 },
        Distribution::Gaussian { std: 1e-300 },
        Distribution::Uniform {
            lo: -1e-300,
            hi: 1e-300,
        },
    ] {
        assert!(d.validate().is_err(), "{d:?}");
        assert!(
            std::panic::catch_unwind(|| gen::generate(&d, 2, 2, 0)).is_err(),
            "{d:?}"
        );
    }
    assert!(Distribution::Gaussian { std: 0.0 }.validate().is_ok());
    assert_eq!(
        gen::generate(&Distribution::Gaussian { std: 1.0 }, 0, 7, 0)
            .data
            .len(),
        0
    );
}

// ---- llm_like ------------------------------------------------------------------

#[test]
fn llm_like_recipe() {
    let (m, k, n, seed) = (256, 512, 128, 11);
    let (a, w) = gen::llm_like(m, k, n, seed);
    assert_eq!((a.rows, a.cols, w.rows, w.cols), (m, k, n, k));
    let (a2, w2) = gen::llm_like(m, k, n, seed);
    assert_eq!((&a, &w), (&a2, &w2), "same seed, same operands");
    let (a3, w3) = gen::llm_like(m, k, n, seed + 1);
    assert_ne!(a.data, a3.data);
    assert_ne!(w.data, w3.data);

    // Per-column sums of squares: Σ_r A[r][c]² / f_c² ~ χ²(m); Bonferroni over the k columns.
    let chi = ChiSquared::new(m as f64).unwrap();
    let alpha = ALPHA / k as f64;
    let (q_lo, q_hi) = (
        chi.inverse_cdf(alpha / 2.0),
        chi.inverse_cdf(1.0 - alpha / 2.0),
    );
    let ss: Vec<f64> = (0..k)
        .map(|c| (0..m).map(|r| f64::from(a.data[r * k + c]).powi(2)).sum())
        .collect();

    // Outliers found from the data alone: RMS well above the ordinary columns' 1.
    let found: Vec<usize> = (0..k)
        .filter(|&c| (ss[c] / m as f64).sqrt() > 5.0)
        .collect();
    assert_eq!(found.len(), 512 / 100, "max(1, k/100) outlier channels");
    let listed = gen::llm_outlier_channels(k, seed);
    assert_eq!(listed.iter().map(|&(c, _)| c).collect::<Vec<_>>(), found);
    for (c, &ssc) in ss.iter().enumerate() {
        let f = listed
            .iter()
            .find(|&&(lc, _)| lc == c)
            .map_or(1.0, |&(_, f)| f);
        if f != 1.0 {
            assert!((10.0..100.0).contains(&f), "factor {f}");
        }
        let x = ssc / (f * f);
        assert!(
            x > q_lo && x < q_hi,
            "column {c}: sum of squares / f² = {x} outside [{q_lo}, {q_hi}]"
        );
    }
    // The ordinary activations are N(0, 1).
    let ordinary: Vec<f32> = (0..m * k)
        .filter(|i| !found.contains(&(i % k)))
        .map(|i| a.data[i])
        .collect();
    let d = ks(&ordinary, |x| Normal::new(0.0, 1.0).unwrap().cdf(x));
    assert!(d < ks_crit(ordinary.len()), "KS {d}");

    // Weights: Student-t ν = 4 with std 0.02 (scale 0.02/√2).
    let d = ks(&w.data, |x| {
        StudentsT::new(0.0, 0.02 / 2f64.sqrt(), 4.0).unwrap().cdf(x)
    });
    assert!(d < ks_crit(w.data.len()), "KS {d}");
    // Heavy tails: beyond 4σ a t4 puts P(|T| > 4·√2) ≈ 4.8e-3, a normal 6.3e-5.
    let tail = w.data.iter().filter(|x| x.abs() > 0.08).count() as f64 / w.data.len() as f64;
    assert!(tail > 2e-3, "tail fraction {tail}");
}

#[test]
fn llm_like_small_and_empty_shapes() {
    let (a, w) = gen::llm_like(3, 0, 2, 1);
    assert_eq!(
        (a.rows, a.cols, a.data.len(), w.rows, w.cols),
        (3, 0, 0, 2, 0)
    );
    assert!(gen::llm_outlier_channels(0, 1).is_empty());
    assert_eq!(gen::llm_outlier_channels(50, 1).len(), 1);
    assert_eq!(gen::llm_outlier_channels(1, 1).len(), 1);
    assert_eq!(gen::llm_outlier_channels(1000, 1).len(), 10);
    let many = gen::llm_outlier_channels(250, 9);
    assert!(
        many.windows(2).all(|p| p[0].0 < p[1].0),
        "sorted, distinct: {many:?}"
    );
}

// ---- safetensors -----------------------------------------------------------------

use safetensors::tensor::{Dtype, TensorView};

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn u16_bytes(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes tensors (name, dtype, shape, bytes) to `dir/name`.
fn write_st(
    dir: &std::path::Path,
    file: &str,
    tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)],
) -> std::path::PathBuf {
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let bytes = safetensors::serialize(views, None).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn sample_file(dir: &std::path::Path) -> std::path::PathBuf {
    write_st(
        dir,
        "model.safetensors",
        &[
            (
                "model.layers.0.mlp.w",
                Dtype::F32,
                vec![2, 3],
                f32_bytes(&[1.0, -2.0, 0.5, 3.25, -0.0, 1e-40]),
            ),
            // f16: 1.5, -0.25, 65504 (max), 2^-24 (smallest subnormal)
            (
                "model.layers.1.mlp.w",
                Dtype::F16,
                vec![4],
                u16_bytes(&[0x3E00, 0xB400, 0x7BFF, 0x0001]),
            ),
            // bf16: 1.5, -0.0, +inf, the smallest subnormal, 1 + 2^-7, then three more
            (
                "emb",
                Dtype::BF16,
                vec![2, 2, 2],
                u16_bytes(&[
                    0x3FC0, 0x8000, 0x7F80, 0x0001, 0x3F81, 0xC000, 0x4040, 0x0000,
                ]),
            ),
            ("scalar", Dtype::F32, vec![], f32_bytes(&[7.0])),
            ("empty", Dtype::F32, vec![0, 4], vec![]),
        ],
    )
}

fn pats(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

#[test]
fn safetensors_dtypes_convert_exactly_and_shapes_flatten() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_file(dir.path());
    let got = st::load(
        &path,
        &pats(&[
            "model.layers.0.mlp.w",
            "model.layers.1.mlp.w",
            "emb",
            "scalar",
            "empty",
        ]),
    )
    .unwrap();
    let get = |n: &str| &got.iter().find(|(name, _)| name == n).unwrap().1;

    let f = get("model.layers.0.mlp.w");
    assert_eq!((f.rows, f.cols), (2, 3));
    assert_eq!(
        f.data.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        [1.0f32, -2.0, 0.5, 3.25, -0.0, 1e-40].map(f32::to_bits)
    );

    let h = get("model.layers.1.mlp.w");
    assert_eq!((h.rows, h.cols), (1, 4));
    assert_eq!(h.data, vec![1.5, -0.25, 65504.0, 2f32.powi(-24)]);

    let b = get("emb");
    assert_eq!((b.rows, b.cols), (4, 2), "[2, 2, 2] -> (2·2) × 2");
    let want: Vec<u32> = [
        0x3FC0u32, 0x8000, 0x7F80, 0x0001, 0x3F81, 0xC000, 0x4040, 0x0000,
    ]
    .iter()
    .map(|&x| x << 16)
    .collect();
    assert_eq!(b.data.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want);
    assert_eq!(b.data[4], 1.0 + 1.0 / 128.0);

    let s = get("scalar");
    assert_eq!((s.rows, s.cols, s.data.clone()), (1, 1, vec![7.0]));
    let e = get("empty");
    assert_eq!((e.rows, e.cols, e.data.len()), (0, 4, 0));
}

/// Tensor names in data-offset order, read from the header independently.
fn offset_order(path: &std::path::Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut v: Vec<(u64, String)> = header
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(k, t)| (t["data_offsets"][0].as_u64().unwrap(), k.clone()))
        .collect();
    v.sort();
    v.into_iter().map(|(_, k)| k).collect()
}

#[test]
fn safetensors_globs_file_order_and_no_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_file(dir.path());
    let order = offset_order(&path);
    // Patterns in reverse and overlapping: the result is still file order, each once.
    let got = st::load(
        &path,
        &pats(&[
            "scalar",
            "model.layers.*.mlp.w",
            "model.layers.1.mlp.w",
            "e*",
        ]),
    )
    .unwrap();
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    let want: Vec<&str> = order.iter().map(String::as_str).collect();
    assert_eq!(names, want);
    // An empty pattern list takes everything.
    assert_eq!(st::load(&path, &[]).unwrap().len(), 5);
    let got = st::load(&path, &pats(&["model.layers.?.mlp.w"])).unwrap();
    assert_eq!(got.len(), 2);
}

#[test]
fn safetensors_errors_name_the_file_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_file(dir.path());
    let shown = path.display().to_string();

    let err = st::load(&path, &pats(&["model.layers.9.*"])).unwrap_err();
    assert!(
        err.starts_with(&format!(
            "tensor 'model.layers.9.*' not found in {shown}; available: "
        )),
        "{err}"
    );
    for n in ["emb", "scalar", "model.layers.0.mlp.w"] {
        assert!(err.contains(n), "{err}");
    }

    let err = st::load(&path, &pats(&["[unclosed"])).unwrap_err();
    assert!(err.contains("bad tensor pattern '[unclosed'"), "{err}");

    let missing = dir.path().join("nope.safetensors");
    let err = st::load(&missing, &[]).unwrap_err();
    assert!(
        err.starts_with(&missing.display().to_string()) && err.contains("cannot open"),
        "{err}"
    );

    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"hello, world, this is not a checkpoint").unwrap();
    let err = st::load(&junk, &[]).unwrap_err();
    assert!(err.contains("not a safetensors file"), "{err}");

    // A truncated checkpoint.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
    let err = st::load(&cut, &[]).unwrap_err();
    assert!(
        err.starts_with(&cut.display().to_string()) && err.contains("not a safetensors file"),
        "{err}"
    );

    // Unsupported dtypes are named; unselected ones do not matter.
    let p = write_st(
        dir.path(),
        "ints.safetensors",
        &[
            ("ids", Dtype::I64, vec![2], vec![0; 16]),
            ("w", Dtype::F64, vec![1], vec![0; 8]),
            ("ok", Dtype::F32, vec![1], vec![0; 4]),
        ],
    );
    let err = st::load(&p, &pats(&["ids"])).unwrap_err();
    assert!(
        err.contains("tensor 'ids' has unsupported dtype I64"),
        "{err}"
    );
    let err = st::load(&p, &pats(&["w"])).unwrap_err();
    assert!(err.contains("unsupported dtype F64"), "{err}");
    assert_eq!(st::load(&p, &pats(&["ok"])).unwrap().len(), 1);
}

#[test]
fn safetensors_long_name_lists_are_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..20).map(|i| format!("t{i:02}")).collect();
    let tensors: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = names
        .iter()
        .map(|n| (n.as_str(), Dtype::F32, vec![1], vec![0; 4]))
        .collect();
    let p = write_st(dir.path(), "many.safetensors", &tensors);
    let err = st::load(&p, &pats(&["x"])).unwrap_err();
    assert!(err.ends_with(", … (20 in all)"), "{err}");
    assert_eq!(
        err.matches(", ").count(),
        8,
        "8 names then the ellipsis: {err}"
    );
}

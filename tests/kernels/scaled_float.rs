//! The scaled low-bit float kernels (FP8, FP6, FP4 with f32 scales, the MX
//! formats, NVFP4, weight-only FP4 with bf16 activations) on the cases that
//! break them, native = emulation at every level: every code pair of each
//! element format through `m × 1 × n` products (checked against hand-derived
//! element values too), ±0, subnormal codes, ±max, NaN / inf inputs, all-zero
//! blocks, E8M0 extremes, K shorter than one block and ragged last blocks.

use crate::{check, LEVEL_LOCK};
use bitsim::tensor::Matrix;
use bitsim::variants::{self, MatmulVariant};

/// The variants whose native kernel is the scaled float path.
const NAMES: [&str; 11] = [
    "matmul/fp8-e4m3",
    "matmul/fp8-e5m2",
    "matmul/fp6-e2m3",
    "matmul/fp6-e3m2",
    "matmul/fp4-e2m1",
    "matmul/mxfp8",
    "matmul/mxfp6",
    "matmul/mxfp4",
    "matmul/mxint8",
    "matmul/nvfp4",
    "matmul/wfp4-abf16",
];

fn variant(name: &str) -> Box<dyn MatmulVariant> {
    variants::find(name).unwrap_or_else(|| panic!("{name} is registered"))
}

/// Every finite non-negative value of a minifloat with `e` exponent bits,
/// `m` mantissa bits and bias `2^(e-1) - 1`, derived by hand from the
/// format's definition (not from bitsim's decoder): subnormals `f · 2^(1-bias-m)`,
/// normals `(2^m + f) · 2^(x-bias-m)`. `top` drops the encodings above the
/// largest finite value (e4m3: 0x7F is NaN; e5m2: exponent 31 is inf/NaN).
fn values(e: u32, m: u32, top: u32) -> Vec<f64> {
    let bias = (1i32 << (e - 1)) - 1;
    (0..=top)
        .map(|c| {
            let (x, f) = ((c >> m) as i32, (c & ((1 << m) - 1)) as f64);
            if x == 0 {
                f * 2f64.powi(1 - bias - m as i32)
            } else {
                (2f64.powi(m as i32) + f) * 2f64.powi(x - bias - m as i32)
            }
        })
        .collect()
}

/// Per-tensor formats: with the format's maximum among the values the scale
/// is `max / max = 1`, so every code is its own value and each output of a
/// `K = 1` product is the exact product of two codes (both signs, ±0).
#[test]
fn every_code_pair_of_the_per_tensor_formats() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for (name, e, m, top, max) in [
        ("matmul/fp8-e4m3", 4, 3, 0x7e, 448.0),
        ("matmul/fp8-e5m2", 5, 2, 0x7b, 57344.0),
        ("matmul/fp6-e2m3", 2, 3, 0x1f, 7.5),
        ("matmul/fp6-e3m2", 3, 2, 0x1f, 28.0),
    ] {
        let pos = values(e, m, top);
        assert_eq!(*pos.last().unwrap(), max, "{name}: hand table ends at max");
        let all: Vec<f32> = pos.iter().flat_map(|&x| [x as f32, -x as f32]).collect();
        let a = Matrix::new(all.len(), 1, all.clone());
        let w = Matrix::new(all.len(), 1, all.clone());
        let v = variant(name);
        let out = check(v.as_ref(), &a, &w, "every code pair");
        for (i, &x) in all.iter().enumerate() {
            for (j, &y) in all.iter().enumerate() {
                // +0 + p: a −0 product sums to +0.
                let want = x as f64 * y as f64 + 0.0;
                let got = out[i * all.len() + j];
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{name}: {x:e} × {y:e}: got {got:e}"
                );
            }
        }
    }
}

/// FP4 E2M1 with f32 scales per 32: every code pair in one block (the
/// max 6 in the block makes its scale 1) and a second block scaled by 2.
#[test]
fn every_code_pair_of_e2m1() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let pos = values(2, 1, 7);
    assert_eq!(pos, [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]);
    let all: Vec<f32> = pos.iter().flat_map(|&x| [x as f32, -x as f32]).collect();
    let v = variant("matmul/fp4-e2m1");
    // K = 1: each block is one element; scales are |x| / 6, elements ±6 (or 0).
    let a = Matrix::new(all.len(), 1, all.clone());
    check(v.as_ref(), &a, &a, "every code, K = 1");
    // K = 33: codes in block 0 at scale 1 (a 6 at position 0), block 1 (one
    // element, 12 → scale 2, element 6).
    let rows: Vec<f32> = all
        .iter()
        .flat_map(|&x| {
            let mut r = vec![0f32; 33];
            r[0] = 6.0;
            r[1] = x;
            r[32] = 12.0;
            r
        })
        .collect();
    let a = Matrix::new(all.len(), 33, rows);
    let out = check(v.as_ref(), &a, &a, "every code pair, K = 33");
    for (i, &x) in all.iter().enumerate() {
        for (j, &y) in all.iter().enumerate() {
            // Block 0: 36 + x·y (exact), × 1 × 1; block 1: (6·6) × 2 × 2.
            let want = ((36.0 + x * y) + 144.0) as f64;
            assert_eq!(out[i * all.len() + j], want, "{x} × {y}");
        }
    }
}

/// Hand-derived MXFP8 case: block 0 at scale 2^0 (max 448 = 1.75 · 2^8, the
/// E4M3 emax), block 1 at scale 2^2: 448 + 2·3 + (448·1)·4·1 = 2246.
#[test]
fn mxfp8_hand_case() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut a = vec![0f32; 64];
    let mut w = vec![0f32; 64];
    (a[0], a[1], a[32]) = (448.0, 2.0, 1792.0);
    (w[0], w[1], w[32]) = (1.0, 3.0, 1.0);
    let out = check(
        variant("matmul/mxfp8").as_ref(),
        &Matrix::new(1, 64, a),
        &Matrix::new(1, 64, w),
        "hand case",
    );
    assert_eq!(out, [2246.0]);
}

/// Rows of special blocks for every variant: all-zero blocks, a block of
/// ±0 only, f32 subnormals (E8M0 2^-127 and subnormal element codes),
/// blocks at ±f32::MAX (E8M0 2^127 and saturated codes), a NaN and an inf
/// in a block (E8M0 0xFF / e5m2 inf and NaN codes where the quantizer makes
/// them), blocks of one huge value among tiny ones (codes flushed to 0).
fn special_rows(rows: usize, k: usize, seed: u64) -> Matrix {
    let mut r = crate::seeded::Rng(seed);
    let mut data = Vec::with_capacity(rows * k);
    for i in 0..rows {
        for c in 0..k {
            let blk = c / 16;
            let x = match (i + blk) % 9 {
                0 => 0.0,
                1 => {
                    if c % 2 == 0 {
                        -0.0
                    } else {
                        0.0
                    }
                }
                2 => {
                    f32::from_bits(r.below(0x7f_ffff) as u32 + 1)
                        * if c % 3 == 0 { -1.0 } else { 1.0 }
                }
                3 => {
                    if c % 2 == 0 {
                        f32::MAX
                    } else {
                        -f32::MAX * (r.unit() as f32)
                    }
                }
                4 if c % 16 == 5 => f32::NAN,
                5 if c % 16 == 7 => f32::INFINITY,
                5 if c % 16 == 8 => f32::NEG_INFINITY,
                6 => {
                    if c % 16 == 0 {
                        1e30
                    } else {
                        (r.gauss() * 1e-20) as f32
                    }
                }
                7 => f32::MIN_POSITIVE * (r.gauss() as f32),
                _ => r.gauss() as f32,
            };
            data.push(x);
        }
    }
    Matrix::new(rows, k, data)
}

#[test]
fn special_blocks_ragged_shapes_and_short_k() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // K below one block (1, 5, 15), one block and a bit (17, 33), ragged
    // (70, 100), several blocks; M on the GEMV and GEMM paths; N ragged.
    let shapes = [
        (1, 1, 3),
        (2, 5, 9),
        (3, 15, 17),
        (1, 17, 20),
        (4, 33, 11),
        (9, 70, 13),
        (13, 100, 9),
        (20, 160, 21),
        // Several GEMM K chunks of whole groups, a ragged last group.
        (11, 600, 19),
    ];
    for name in NAMES {
        let v = variant(name);
        for (s, &(m, k, n)) in shapes.iter().enumerate() {
            let a = special_rows(m, k, s as u64);
            let w = special_rows(n, k, 100 + s as u64);
            check(v.as_ref(), &a, &w, &format!("{m}x{k}x{n} specials"));
            // Specials on one side only, ordinary values on the other.
            let g = special_rows(n, k, 200 + s as u64);
            let plain = Matrix::new(
                m,
                k,
                (0..m * k).map(|i| ((i % 13) as f32 - 6.0) * 0.37).collect(),
            );
            check(
                v.as_ref(),
                &plain,
                &g,
                &format!("{m}x{k}x{n} special weights"),
            );
            let plain_w = Matrix::new(
                n,
                k,
                (0..n * k).map(|i| ((i % 11) as f32 - 5.0) * 1.3).collect(),
            );
            check(
                v.as_ref(),
                &a,
                &plain_w,
                &format!("{m}x{k}x{n} special acts"),
            );
        }
    }
}

/// All-zero operands: every output is +0 (the +0 start of each sum and of
/// the accumulator), for every variant, including zero-scale blocks.
#[test]
fn all_zero_operands_give_plus_zero() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let a = Matrix::new(3, 40, vec![-0.0; 120]);
    let w = Matrix::new(5, 40, vec![0.0; 200]);
    for name in NAMES {
        let out = check(variant(name).as_ref(), &a, &w, "all zero");
        assert!(out.iter().all(|x| x.to_bits() == 0), "{name}: {out:?}");
    }
}

/// The one-byte weight codes against the hand tables above (not bitsim's
/// decoders): every finite E5M2 and E4M3 code decodes to its hand value,
/// both signs, and encodes back to itself; values no code holds are refused.
#[test]
fn byte_codes_match_the_hand_tables() {
    use bitsim::kernels::pack::ByteCode;
    for (code, e, m, top) in [(ByteCode::E5m2, 5, 2, 0x7b), (ByteCode::E4m3, 4, 3, 0x7e)] {
        for (c, &x) in values(e, m, top).iter().enumerate() {
            for (byte, want) in [(c as u8, x), (c as u8 | 0x80, -x)] {
                let got = code.decode(byte);
                assert_eq!(
                    got.to_bits(),
                    (want as f32).to_bits(),
                    "{code:?} {byte:#04x}"
                );
                assert_eq!(
                    code.encode(got),
                    Some(byte),
                    "{code:?} {byte:#04x} round trip"
                );
            }
        }
    }
    assert_eq!(
        ByteCode::E4m3.encode(464.0),
        None,
        "between E4M3's max and 480"
    );
    assert_eq!(ByteCode::E4m3.encode(1.0625), None, "4 significant bits");
    assert_eq!(
        ByteCode::E5m2.encode(f32::INFINITY),
        None,
        "only finite values"
    );
    assert_eq!(ByteCode::I8(-6).decode(0x80), -2.0, "int8 -128 · 2^-6");
    assert_eq!(ByteCode::I8(-6).encode(-0.0), None, "int8 has no -0");
    // The first code that holds all: E5M2 for FP4 values, E4M3 once a value
    // needs 3 mantissa bits, int8 · 2^e once one needs more.
    assert_eq!(ByteCode::fit(&[0.5, -6.0, 0.0]), Some(ByteCode::E5m2));
    assert_eq!(ByteCode::fit(&[0.5, 1.125, -448.0]), Some(ByteCode::E4m3));
    assert_eq!(
        ByteCode::fit(&[127.0 / 64.0, -2.0, 1.0 / 64.0]),
        Some(ByteCode::I8(-6))
    );
    assert_eq!(ByteCode::fit(&[1.0, f32::NAN]), None);
    assert_eq!(
        ByteCode::fit(&[255.0]),
        None,
        "8 significant bits, no sign room"
    );
}

/// `ByteCode::fit`'s int8 exponent (one candidate, from the values' lowest
/// set bits) is the first of a search over every int8 exponent, largest
/// first, as the plain definition says: on seeded sets of integers × 2^e
/// (widths 1–9 bits, so some need no int8 code and some none fits), with
/// zeros, negatives and E4M3-breaking odd integers mixed in.
#[test]
fn byte_code_fit_picks_the_first_int8_exponent_of_a_full_search() {
    use bitsim::kernels::pack::ByteCode;
    let search = |values: &[f32]| {
        for code in [ByteCode::E5m2, ByteCode::E4m3] {
            if values.iter().all(|&x| code.encode(x).is_some()) {
                return Some(code);
            }
        }
        (-128..=127i32).rev().find_map(|e| {
            let code = ByteCode::I8(e as i8);
            values
                .iter()
                .all(|&x| code.encode(x).is_some())
                .then_some(code)
        })
    };
    let mut r = crate::seeded::Rng(0xb17e);
    let mut int8_fits = 0;
    for case in 0..400 {
        let bits = 1 + r.below(9) as u32;
        let e = r.below(40) as i32 - 20;
        let n = 1 + r.below(6) as usize;
        let values: Vec<f32> = (0..n)
            .map(|_| {
                let m = r.below(1 << bits) as f32
                    - if r.below(2) == 0 {
                        0.0
                    } else {
                        (1 << bits) as f32
                    };
                m * 2f32.powi(e)
            })
            .collect();
        let want = search(&values);
        int8_fits += matches!(want, Some(ByteCode::I8(_))) as u32;
        assert_eq!(ByteCode::fit(&values), want, "case {case}: {values:?}");
    }
    // The sets exercise the int8 branch, not only the minifloat codes.
    assert!(int8_fits > 50, "{int8_fits}");
}

/// `vals` as one weight column each over K positions (the value, then
/// zeros), unscaled.
fn column_weights(vals: &[f32], k: usize) -> (bitsim::tensor::QOperand, Vec<f32>) {
    let w: Vec<f32> = vals
        .iter()
        .flat_map(|&x| std::iter::once(x).chain(std::iter::repeat_n(0.0, k - 1)))
        .collect();
    let q = bitsim::tensor::QOperand {
        rows: vals.len(),
        k,
        values: bitsim::tensor::Values::F32(w.clone()),
        group: 0,
        inner: None,
        outer: None,
    };
    (q, w)
}

/// Runs `panels` (the [`column_weights`] of `vals` over `k`) times an
/// activation of 1 then zeros at every ISA level, one row (GEMV) and nine
/// (GEMM tiles), and checks each output is `+0 + 1·value` bit for bit (so
/// −0 gives +0); `what(j)` names column j in a failure.
fn check_widening(
    panels: bitsim::kernels::pack::FloatPanels,
    vals: &[f32],
    k: usize,
    what: &dyn Fn(usize) -> String,
) {
    use bitsim::isa::{self, IsaLevel};
    use bitsim::kernels::float::{ActCast, FloatKernel, FloatSum};
    let n = vals.len();
    let kernel = FloatKernel::new(panels, FloatSum::Fused, ActCast::F32, true);
    let mut a = vec![0f32; k];
    a[0] = 1.0;
    for level in IsaLevel::available() {
        for m in [1usize, 9] {
            let rows: Vec<f32> = a.iter().cycle().take(m * k).copied().collect();
            let got = kernel.run(&rows, m, true, level);
            for i in 0..m {
                for (j, &x) in vals.iter().enumerate() {
                    let want = (x + 0.0) as f64;
                    assert_eq!(
                        got[i * n + j].to_bits(),
                        want.to_bits(),
                        "{} K={k} m={m} at {level}",
                        what(j)
                    );
                }
            }
        }
    }
    isa::set_cap(IsaLevel::Avx512);
}

/// The SIMD widening of every byte code equals its plain decode at every
/// ISA level: all 256 codes (E4M3's 0x7F/0xFF too, which the float kernels
/// store as 480 but a variant never produces) as one weight column each,
/// times an activation of 1 over K = 1 and K = 3 (ones then zeros).
#[test]
fn byte_code_widening_equals_the_plain_decode_at_every_level() {
    use bitsim::kernels::pack::{ByteCode, FloatPanels, FloatStorage};
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for code in [
        ByteCode::E5m2,
        ByteCode::E4m3,
        ByteCode::I8(-6),
        ByteCode::I8(3),
    ] {
        let codes: Vec<u8> = (0..=255u8)
            .filter(|&c| code != ByteCode::E5m2 || c & 0x7c != 0x7c)
            .collect();
        let vals: Vec<f32> = codes.iter().map(|&c| code.decode(c)).collect();
        for k in [1usize, 3] {
            let (q, w) = column_weights(&vals, k);
            let panels = FloatPanels::pack(&q, &w, FloatStorage::Byte(code));
            assert_eq!(panels.storage.bits(), 8);
            check_widening(panels, &vals, k, &|j| {
                format!("{code:?} code {:#04x}", codes[j])
            });
        }
    }
}

/// The E2M1 nibble table is the format's: every code against the formats
/// layer's E2M1 decoder (an independent implementation), the code of each
/// value back, and values E2M1 lacks refused.
#[test]
fn e2m1_nibble_table_is_the_formats_e2m1() {
    use bitsim::formats::parse::E2M1;
    use bitsim::kernels::bytecode::{e2m1_code, E2M1_VALUES};
    for c in 0..16u8 {
        let want = E2M1.decode_f32(c as u32);
        assert_eq!(
            E2M1_VALUES[c as usize].to_bits(),
            want.to_bits(),
            "code {c}"
        );
        assert_eq!(e2m1_code(want), Some(c), "{want}");
    }
    for x in [5.0, 0.25, 0.75, 7.0, 12.0, -2.5, f32::NAN, f32::INFINITY] {
        assert_eq!(e2m1_code(x), None, "{x}");
    }
    // Every sign, exponent and first mantissa bit (bits 22–31) with a few
    // patterns of the lower bits, against a search of the decoder's values.
    for top in 0..1024u32 {
        for low in [0, 1, 0x1f_ffff, 0x20_0000, 0x3f_ffff] {
            let x = f32::from_bits(top << 22 | low);
            let want = (0..16u8).find(|&c| E2M1.decode_f32(c as u32).to_bits() == x.to_bits());
            assert_eq!(e2m1_code(x), want, "{:#010x}", x.to_bits());
        }
    }
}

/// The SIMD widening of nibble-stored E2M1 weights equals the plain table
/// at every ISA level: rows 0..16 hold codes 0..15 and rows 16.. the codes
/// in an order of the other parity, so every code sits in a low and a high
/// nibble and in both panels of a register; 37 rows, so the last panel is
/// ragged and its padding shares a byte with row 36; an activation of 1
/// over K = 1 and K = 3.
#[test]
fn e2m1_nibble_widening_equals_the_table_at_every_level() {
    use bitsim::kernels::bytecode::E2M1_VALUES;
    use bitsim::kernels::pack::{FloatPanels, FloatStorage};
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let codes: Vec<usize> = (0..37)
        .map(|j| if j < 16 { j } else { (51 - j) % 16 })
        .collect();
    let vals: Vec<f32> = codes.iter().map(|&c| E2M1_VALUES[c]).collect();
    for k in [1usize, 3] {
        let (q, w) = column_weights(&vals, k);
        let panels = FloatPanels::pack(&q, &w, FloatStorage::Nibble);
        // 5 panels × K × 8 rows, two to a byte.
        assert_eq!(panels.codes.len(), 5 * k * 4);
        check_widening(panels, &vals, k, &|j| format!("code {} row {j}", codes[j]));
    }
}

/// The scaled float kernels stream one byte per weight (plus scales), not
/// bf16's two, on ordinary finite weights; the FP4 ones half a byte.
#[test]
fn scaled_float_weights_are_stored_in_one_byte() {
    let (n, k) = (64, 256);
    let w = Matrix::new(
        n,
        k,
        (0..n * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013)
            .collect(),
    );
    for name in NAMES {
        let mut native = variant(name).native().expect("native kernel");
        native.pack_weights(&w);
        let bytes = native.weight_bytes() as f64 / (n * k) as f64;
        assert!(bytes < 1.5, "{name}: {bytes} bytes per weight");
        if name.contains("fp4") {
            // Half a byte, plus f32 scales: one per 16 or 32 weights at
            // most, and one per row (a byte per weight would exceed this).
            let most = 0.5 + 4.0 / 16.0 + 4.0 / k as f64;
            assert!(bytes <= most, "{name}: {bytes} bytes per weight");
        }
    }
}

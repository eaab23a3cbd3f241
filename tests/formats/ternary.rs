//! ggml's TQ2_0, TQ1_0 and Q8_K blocks against bytes derived by hand from
//! ggml's struct layouts and reference quantizers (`ggml-quants.c`): each
//! expected byte below is worked out in its comment, not produced by the
//! encoder under test.

use bitsim::formats::ternary::{
    quantize, quantize_q8_k, tq1_0_block, tq1_trit, tq2_0_block, Ternary, QK_K,
};

/// A 256-block of zeros with `(index, value)` set.
fn block(set: &[(usize, f32)]) -> Vec<f32> {
    let mut x = vec![0f32; QK_K];
    for &(i, v) in set {
        x[i] = v;
    }
    x
}

/// TQ2_0: element e in byte `32·(e/128) + e%32`, bits `2·((e%128)/32)`;
/// code = lroundf(x/d) + 1; a byte of four zero weights is 0b01010101.
#[test]
fn tq2_0_hand_derived_block() {
    let x = block(&[
        (0, 1.0),    // d = 1: code 2
        (1, -1.0),   // code 0
        (32, -0.5),  // lroundf(−0.5) = −1 (ties away): code 0
        (64, 0.5),   // code 2
        (96, 0.49),  // code 1
        (128, -1.0), // byte 32, bits 0–1: code 0
        (255, 0.7),  // byte 63, bits 6–7: code 2
    ]);
    let b = tq2_0_block(&x);
    let mut want = [0x55u8; 66];
    want[0] = 0x62; // elements 0, 32, 64, 96: 2 | 0<<2 | 2<<4 | 1<<6 = 98
    want[1] = 0x54; // elements 1, 33, 65, 97: 0 | 1<<2 | 1<<4 | 1<<6 = 84
    want[32] = 0x54; // elements 128, 160, 192, 224
    want[63] = 0x95; // elements 159, 191, 223, 255: 1 | 1<<2 | 1<<4 | 2<<6 = 149
    want[64] = 0x00; // fp16 1.0 = 0x3C00, little-endian
    want[65] = 0x3C;
    assert_eq!(b.to_vec(), want.to_vec());
}

/// TQ1_0: qs[m] holds elements m + 32n (n = 0 the top trit), qs[32 + m]
/// elements 160 + m + 16n, qh[j] elements 240 + j + 4n then a zero trit;
/// byte = ⌈256·v/243⌉ of the base-3 value v.
#[test]
fn tq1_0_hand_derived_block() {
    let x = block(&[
        (0, 1.0),    // qs[0] trit 0: 2
        (32, -1.0),  // qs[0] trit 1: 0
        (227, -1.0), // 227 = 160 + 3 + 16·4: qs[35] trit 4: 0
        (255, 1.0),  // 255 = 240 + 3 + 4·3: qh[3] trit 3: 2
    ]);
    let b = tq1_0_block(&x);
    let mut want = [0x80u8; 54]; // 1,1,1,1,1: v = 121, ⌈30976/243⌉ = 128
    want[0] = 185; // 2,0,1,1,1: v = 162 + 0 + 9 + 3 + 1 = 175, ⌈44800/243⌉ = 185
    want[35] = 127; // 1,1,1,1,0: v = 120, ⌈30720/243⌉ = 127
    want[48..52].copy_from_slice(&[127, 127, 127, 130]); // 1,1,1,1 ×3 = 120 → 127; 1,1,1,2 ×3 = 123 → ⌈31488/243⌉ = 130
    want[52] = 0x00;
    want[53] = 0x3C;
    assert_eq!(b.to_vec(), want.to_vec());
    // Decoding ggml's way: trit n = ((q·3ⁿ mod 256)·3) >> 8.
    // 185 → 555>>8 = 2; 185·3 = 43 (mod 256) → 129>>8 = 0; 185·9 = 129 → 387>>8 = 1.
    assert_eq!(
        [tq1_trit(185, 0), tq1_trit(185, 1), tq1_trit(185, 2)],
        [2, 0, 1]
    );
}

/// All-zero blocks: d = 0, id = 0, every code 1 (weight 0).
#[test]
fn all_zero_blocks() {
    let z = vec![0f32; QK_K];
    let mut t2 = [0x55u8; 66];
    t2[64] = 0;
    t2[65] = 0;
    assert_eq!(tq2_0_block(&z).to_vec(), t2.to_vec());
    let mut t1 = [0x80u8; 54];
    t1[48..52].copy_from_slice(&[127; 4]);
    t1[52] = 0;
    t1[53] = 0;
    assert_eq!(tq1_0_block(&z).to_vec(), t1.to_vec());
    let q = quantize_q8_k(&z, 1, QK_K);
    assert_eq!(q.d, [0.0]);
    assert!(q.codes.iter().all(|&c| c == 0) && q.bsums.iter().all(|&s| s == 0));
}

/// Every base-3 value of 5 trits (and of 4 trits, ×3) survives ggml's
/// encoding and decoding: the layout's promise, checked exhaustively by
/// plain base-3 arithmetic.
#[test]
fn every_trit_byte_round_trips() {
    for v in 0u32..243 {
        let q = (v * 256).div_ceil(243) as u8;
        for n in 0..5 {
            let want = (v / 3u32.pow(4 - n as u32)) % 3;
            assert_eq!(tq1_trit(q, n) as u32, want, "v = {v}, trit {n}");
        }
    }
}

/// Ties at d/2 round away from zero; ±max give codes 2 / 0; d is the
/// absmax in fp16; the dequantized values are (code − 1)·d.
#[test]
fn ties_and_extremes() {
    // d = 2, id = 0.5 exactly: 1.0 → 0.5 → 1; −1.0 → −1; 0.99 → 0.
    let x = block(&[(0, 2.0), (1, 1.0), (2, -1.0), (3, 0.99), (4, -2.0)]);
    let q = quantize(Ternary::Tq2_0, &x, 1, QK_K);
    let want: Vec<f32> = (0..QK_K)
        .map(|i| match i {
            0 | 1 => 2.0,
            2 | 4 => -2.0,
            _ => 0.0,
        })
        .collect();
    assert_eq!(q.dequantize(), want);
    let q1 = quantize(Ternary::Tq1_0, &x, 1, QK_K);
    assert_eq!(q1.dequantize(), want);
    // d = 3: id = f32(1/3) = 0.33333334; 1.5·id rounds to 0.5 in f32 → ±1.
    let x = block(&[(0, -3.0), (1, 1.5), (2, -1.5), (3, 1.4999)]);
    let q = quantize(Ternary::Tq2_0, &x, 1, QK_K);
    assert_eq!(&q.dequantize()[..4], &[-3.0, 3.0, -3.0, 0.0]);
    // An absmax beyond fp16: d = inf.
    let x = block(&[(0, 1e6)]);
    assert_eq!(quantize(Ternary::Tq2_0, &x, 1, QK_K).d(0, 0), 0x7C00);
}

/// NaN and inf follow ggml on x86-64: C's MAX macro keeps a NaN only until
/// the next element, and lroundf(NaN) = LONG_MIN, which becomes code 1.
#[test]
fn nan_and_inf_follow_ggml() {
    // amax: 0 → 5 → NaN (5 > NaN is false) → 1 (NaN > 1 false) → 1 …: d = 1.
    let x = block(&[(0, 5.0), (1, f32::NAN), (2, 1.0), (3, 0.5)]);
    let b = tq2_0_block(&x);
    // element 0: lroundf(5) + 1 = 6, & 3 = 2; with 32, 64, 96 at code 1: 2|4|16|64 = 86.
    assert_eq!(b[0], 86);
    assert_eq!(b[1], 0x55); // NaN → code 1
    assert_eq!(b[2], 0x56); // 1.0 → code 2
    assert_eq!(b[3], 0x56); // 0.5 → lroundf(0.5) = 1 → code 2
    assert_eq!([b[64], b[65]], [0x00, 0x3C]);
    // TQ1_0 of the same, byte 0 (elements 0, 32, 64, 96, 128: xi 6, 1, 1, 1, 1)
    // in uint8_t: 6 → 19 → 58 → 175 → 526 mod 256 = 14; ⌈14·256/243⌉ = ⌈14.75⌉ = 15.
    assert_eq!(tq1_0_block(&x)[0], 15);
    // inf: amax = inf, d = fp16 inf, id = 0; inf·0 = NaN → code 1, finite·0 → code 1.
    let x = block(&[(0, f32::INFINITY), (1, 1.0)]);
    let b = tq2_0_block(&x);
    assert!(b[..64].iter().all(|&c| c == 0x55));
    assert_eq!([b[64], b[65]], [0x00, 0x7C]);
}

/// Q8_K: max = the first of largest |x| (NaN never wins), iscale = −127/max,
/// codes nearest_int (half to even), d = 1/iscale, int16 sums of 16.
#[test]
fn q8_k_hand_derived() {
    // max = −127 → iscale = 1, d = 1.
    let mut x = block(&[
        (0, -127.0),
        (1, 2.5),    // → 2 (even)
        (2, -3.5),   // → −4
        (3, 0.5),    // → 0
        (4, 1.5),    // → 2
        (5, 100.25), // → 100
        (6, f32::NAN),
        (16, 7.0),
    ]);
    let q = quantize_q8_k(&x, 1, QK_K);
    assert_eq!(q.d, [1.0]);
    assert_eq!(&q.codes[..8], &[-127, 2, -4, 0, 2, 100, 0, 0]);
    assert_eq!(q.codes[16], 7);
    assert_eq!(q.bsums[0], -127 + 2 - 4 + 2 + 100);
    assert_eq!(q.bsums[1], 7);
    // max = +127 → iscale = −1, d = −1, codes negated.
    x[0] = 127.0;
    let q = quantize_q8_k(&x, 1, QK_K);
    assert_eq!(q.d, [-1.0]);
    assert_eq!(&q.codes[..6], &[-127, -2, 4, 0, -2, -100]);
}

/// A ragged K: the last block is quantized over its own elements and padded
/// (weights with code 1, activations with code 0).
#[test]
fn ragged_k_pads_the_last_block() {
    let k = 256 + 3;
    let mut x = vec![0f32; k];
    x[0] = 10.0;
    x[256] = -2.0;
    x[257] = 1.0;
    let q = quantize(Ternary::Tq2_0, &x, 1, k);
    assert_eq!(q.nb, 2);
    let want: Vec<f32> = (0..k)
        .map(|i| match i {
            0 => 10.0,
            256 => -2.0,
            257 => 2.0, // 1/2 = 0.5 → 1
            _ => 0.0,
        })
        .collect();
    assert_eq!(q.dequantize(), want);
    let a = quantize_q8_k(&x, 1, k);
    // max = −2 → iscale = 63.5: −2 → −127; 1 → 63.5 → 64 (half to even); padding 0.
    assert_eq!(&a.codes[256..260], &[-127, 64, 0, 0]);
}

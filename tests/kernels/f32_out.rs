//! The f32 output path (`NativeMatmul::matmul_into`, what the model's
//! linears call) writes exactly the values of the f64 path: every native
//! result is an f32 value, so converting loses nothing, and both equal the
//! emulation's outputs rounded to f32 (which this also checks are exact in
//! f32). With a bias, each output is that value plus the column's bias in
//! one f32 add. Every element is written whatever the buffer held before.

use crate::equal_bits::{matrix, natives, Dist};
use crate::LEVEL_LOCK;
use bitsim::isa::{self, IsaLevel};

/// Two fills an unwritten output would keep (they differ, so a missed
/// element shows as a difference between the two runs).
const FILLS: [u32; 2] = [0x7f7f_1234, 0xba83_1269];

/// Equal f32 bits, any NaN equal to any NaN (see [`crate::assert_bits_eq`]).
fn assert_f32_bits_eq(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.is_nan() && w.is_nan() {
            continue;
        }
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{what}: output {i}: got {g:e}, want {w:e}"
        );
    }
}

#[test]
fn f32_output_equals_the_f64_path_on_ragged_shapes() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // GEMV (M ≤ 8) and GEMM shapes; several row blocks and panel groups
    // (N = 150: two float super-panels, five int8 task groups), ragged K.
    let shapes = [
        (1, 1, 1),
        (3, 33, 5),
        (8, 70, 100),
        (9, 130, 17),
        (67, 257, 41),
        (131, 384, 70),
        (100, 40, 150),
        // Enough row blocks for the GEMM's row-block tasks (finished straight
        // into the output), the last block short enough for the GEMV tile.
        (261, 384, 70),
        (300, 515, 37),
    ];
    for v in natives() {
        for (s, &(m, k, n)) in shapes.iter().enumerate() {
            for (d, dist) in [Dist::Normal, Dist::Specials].into_iter().enumerate() {
                let seed = (s * 10 + d) as u64 + 500;
                let a = matrix(m, k, dist, seed);
                let w = matrix(n, k, dist, seed + 1000);
                let what = format!("{} {m}x{k}x{n} {dist:?}", v.name());
                // The independent oracle: the emulation, whose outputs must be
                // f32 values for the f32 path to lose nothing.
                let emulated = v.emulate(&a, &w, 0);
                for (i, &x) in emulated.iter().enumerate() {
                    assert!(
                        x.is_nan() || (x as f32) as f64 == x,
                        "{what}: emulated output {i} = {x:e} is not an f32 value"
                    );
                }
                // A bias with ±0, a large value and ordinary ones.
                let bias: Vec<f32> = (0..n)
                    .map(|j| match j % 5 {
                        0 => 0.0,
                        1 => -0.0,
                        2 => 3.0e30,
                        _ => (j as f32 - 7.5) * 0.37,
                    })
                    .collect();
                let plus = |v: &[f32]| -> Vec<f32> {
                    v.iter()
                        .enumerate()
                        .map(|(i, &x)| x + bias[i % n])
                        .collect()
                };
                let want: Vec<f32> = emulated.iter().map(|&x| x as f32).collect();
                let want_b = plus(&want);
                let mut native = v.native().expect("has a native kernel");
                native.pack_weights(&w);
                for level in IsaLevel::available() {
                    isa::set_cap(level);
                    let f64_path: Vec<f32> = native.matmul(&a).iter().map(|&x| x as f32).collect();
                    let f64_path_b = plus(&f64_path);
                    for fill in FILLS {
                        let at = format!("{what} at {level}, fill {fill:#x}");
                        let mut got = vec![f32::from_bits(fill); m * n];
                        native.matmul_into(&a, None, &mut got);
                        assert_f32_bits_eq(&format!("{at} vs f64 path"), &got, &f64_path);
                        assert_f32_bits_eq(&format!("{at} vs emulation"), &got, &want);
                        let mut got = vec![f32::from_bits(fill); m * n];
                        native.matmul_into(&a, Some(&bias), &mut got);
                        assert_f32_bits_eq(&format!("{at} + bias vs f64 path"), &got, &f64_path_b);
                        assert_f32_bits_eq(&format!("{at} + bias vs emulation"), &got, &want_b);
                    }
                }
                isa::set_cap(IsaLevel::Avx512);
            }
        }
    }
}

#[test]
#[should_panic(expected = "m × n")]
fn f32_output_of_the_wrong_length_is_refused() {
    let v = bitsim::variants::find("matmul/w8a8-int").expect("registered");
    let mut native = v.native().expect("native");
    native.pack_weights(&matrix(5, 16, Dist::Normal, 1));
    let mut out = vec![0f32; 3 * 5 - 1];
    native.matmul_into(&matrix(3, 16, Dist::Normal, 2), None, &mut out);
}

#[test]
#[should_panic(expected = "one bias per output column")]
fn a_bias_of_the_wrong_length_is_refused() {
    let v = bitsim::variants::find("matmul/f32-fma").expect("registered");
    let mut native = v.native().expect("native");
    native.pack_weights(&matrix(5, 16, Dist::Normal, 1));
    let mut out = vec![0f32; 3 * 5];
    native.matmul_into(&matrix(3, 16, Dist::Normal, 2), Some(&[1.0; 4]), &mut out);
}

//! The traps that broke shipping int8 kernels: int16 saturation in
//! `vpmaddubsw` (and `vpmaddwd`), `vpsignb` on −128, int32 overflow at long
//! K, at every level.

use crate::{assert_bits_eq, LEVEL_LOCK};
use bitsim::isa::{self, IsaLevel};
use bitsim::kernels::int8::IntKernel;
use bitsim::kernels::pack::IntPanels;
use bitsim::tensor::{Matrix, QOperand, Values};
use bitsim::variants;

/// All operands at ±max (every activation and weight codes ±127, so each
/// `vpmaddubsw` or `vpmaddwd` pair is 2·127·127 = 32258, just under int16
/// saturation) over K = 2^16 (sums of ±1.06e9, near int32's limit), on the
/// GEMV path (2 rows) and the GEMM path (12 rows; 17 outputs: a pair of
/// panels and a single one): native = emulation = the exact sums.
#[test]
fn all_max_operands_at_k_65536() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let k = 1 << 16;
    let n = 17;
    let sign = |i: usize| if i.is_multiple_of(2) { 1.0f32 } else { -1.0 };
    let w = Matrix::new(n, k, (0..n * k).map(|i| sign(i / k)).collect());
    let v = variants::find("matmul/w8a8-int").expect("registered");
    let mut native = v.native().expect("native");
    native.pack_weights(&w);
    // Independent expectation: ±127·127·K, scaled back by (1/127)² in f32.
    let s = (1.0f64 / 127.0) as f32;
    let exact = ((127 * 127 * k) as f32 * s) * s;
    for m in [2, 12] {
        let a = Matrix::new(m, k, (0..m * k).map(|i| sign(i / k)).collect());
        let want = v.emulate(&a, &w, 0);
        for i in 0..m {
            for j in 0..n {
                let e = (sign(i) * sign(j) * exact) as f64;
                assert_eq!(want[i * n + j], e, "emulation {m} rows: output {i},{j}");
            }
        }
        for level in IsaLevel::available() {
            isa::set_cap(level);
            let what = format!("all-max, {m} rows at {level}");
            assert_bits_eq(&what, &native.matmul(&a), &want);
        }
        isa::set_cap(IsaLevel::Avx512);
    }
}

/// The sign trick needs every weight code in −127..=127; packing refuses a
/// −128 rather than compute a wrong sum.
#[test]
#[should_panic(expected = "-128")]
fn packing_refuses_minus_128() {
    let q = QOperand {
        rows: 1,
        k: 4,
        values: Values::Int(vec![1, -128, 3, 4]),
        group: 0,
        inner: None,
        outer: Some(vec![1.0]),
    };
    let _ = IntKernel::new(IntPanels::pack(&q, 8));
}

/// The saturating int16 register clamps after every add, so order matters:
/// three products of +127·127 saturate at 32767, then four of −127·127 bring
/// it down to 32767 − 4·16129 = −31749 (a wide register would end at −16129);
/// mirrored, −3 products clamp at −32768 and four more end at 31748.
#[test]
fn int16_saturation_happens_in_k_order() {
    let _g = LEVEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let k = 7;
    let a = Matrix::new(1, k, vec![1.0; k]);
    let mut wv = vec![1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0];
    wv.extend([-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]);
    let w = Matrix::new(2, k, wv);
    let s = (1.0f64 / 127.0) as f32;
    let want = [
        ((-31749.0f32 * s) * s) as f64,
        ((31748.0f32 * s) * s) as f64,
    ];
    let v = variants::find("matmul/w8a8-int16-sat").expect("registered");
    assert_bits_eq("emulation", &v.emulate(&a, &w, 0), &want);
    let mut native = v.native().expect("native");
    native.pack_weights(&w);
    for level in IsaLevel::available() {
        isa::set_cap(level);
        assert_bits_eq(&format!("int16-sat at {level}"), &native.matmul(&a), &want);
    }
    isa::set_cap(IsaLevel::Avx512);
}

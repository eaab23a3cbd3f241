//! Costs: operation counts by hand for one small shape, and the bytes of
//! the closed forms.

use crate::shape;
use bitsim::attention::cost::head_dram_bytes;
use bitsim::attention::{self, AttnShape};
use bitsim::hw::cost::OpKind;
use bitsim::hw::iomodel::{flash_attention_count, standard_attention_count};
use bitsim::hw::tiles::{ElementSize, FlashTiles};

#[test]
fn naive_f32_counts_by_hand() {
    // 1 head, 2 queries, 2 keys, d = 2, not causal: 4 pairs.
    // f32 multiplies: QK 8 + PV 8 + 4 divides + 4 exps × 12 = 68;
    // f32 adds: QK 8 + PV 8 + 4 exps × 11 + 3 per pair × 4 = 72.
    let c = attention::find("attention/f32")
        .unwrap()
        .cost(shape(1, 2, 2, false));
    assert_eq!(c.macs, 16.0);
    let get = |k| c.ops.iter().find(|(o, _)| *o == k).map(|x| x.1);
    assert_eq!(get(OpKind::F32_MUL), Some(68.0));
    assert_eq!(get(OpKind::F32_ADD), Some(72.0));
    assert_eq!(c.ops.len(), 2);
    // 4Nd + 4N² words of 4 bytes.
    assert_eq!(c.dram_bytes, (4.0 * 4.0 + 4.0 * 4.0) * 4.0);
    // Causal: 3 pairs.
    let c = attention::find("attention/f32")
        .unwrap()
        .cost(shape(1, 2, 2, true));
    assert_eq!(c.macs, 12.0);
}

#[test]
fn bytes_equal_the_closed_forms() {
    let f32s = ElementSize::f32();
    for (n, d) in [(64usize, 16usize), (1000, 64), (4096, 128)] {
        let s = shape(1, n, d, false);
        let std = attention::find("attention/f32").unwrap().info();
        let want = standard_attention_count(n as u64, d as u64, n as u64, &f32s).bytes();
        assert_eq!(head_dram_bytes(&std, s), want, "standard n={n}");
        let fl = attention::find("attention/flash-f32").unwrap().info();
        let want =
            flash_attention_count(n as u64, d as u64, FlashTiles { b_c: 64, b_r: 64 }, &f32s)
                .bytes();
        assert_eq!(head_dram_bytes(&fl, s), want, "flash n={n}");
    }
}

#[test]
fn flash_moves_fewer_bytes_than_standard_and_quantized_kv_fewer_still() {
    // d = 64: Algorithm 1 with 64-key tiles moves 3N² + O(Nd) words against
    // standard attention's 4N² (at d = 128 it is 6N²: the tiles are too small).
    let s = shape(8, 4096, 64, false);
    let b = |n: &str| attention::find(n).unwrap().cost(s).dram_bytes;
    assert!(b("attention/flash-f32") < b("attention/f32"));
    let s = AttnShape {
        heads: 8,
        ..shape(8, 4096, 128, false)
    };
    let b = |n: &str| attention::find(n).unwrap().cost(s).dram_bytes;
    assert!(b("attention/sage2-fp8") < b("attention/flash-bf16"));
    let kv = |n: &str| attention::find(n).unwrap().info().kv_bits(4096, 128);
    assert_eq!(kv("attention/flash-f32"), 32.0);
    // INT8 K with an f32 scale per 64 tokens × 128 channels; fp16 V.
    assert_eq!(
        kv("attention/sage-int8"),
        (8.0 + 32.0 / (64.0 * 128.0) + 16.0) / 2.0
    );
    assert_eq!(kv("attention/mxfp4"), 4.25);
}

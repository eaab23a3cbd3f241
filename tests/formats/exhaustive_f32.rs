//! Every one of the 2^32 f32 bit patterns through the dispatched fast path and
//! the scalar twin, for e4m3, e5m2, e2m1 and bf16 under RNE. Ignored by
//! default (minutes on two cores); CI runs it with
//! `cargo test --release --test exhaustive_f32 -- --ignored`.

use bitsim::formats::fast::{encode_f32, encode_f32_reference, Code};
use bitsim::formats::{parse, ConvertOptions, ElementFormat, Format, MiniFloat, Rounding};
use rayon::prelude::*;

/// Bit patterns per work item (well below the fast path's own parallel threshold).
const CHUNK: u64 = 1 << 16;

fn minifloat(name: &str) -> MiniFloat {
    match parse(name).expect("preset") {
        Format::Element(ElementFormat::Float(f)) => f,
        _ => panic!("{name} is not a minifloat"),
    }
}

/// The first pattern (lowest) where the fast path and the twin disagree.
fn first_mismatch<C: Code + PartialEq>(
    fmt: &MiniFloat,
    opts: &ConvertOptions,
) -> Option<(u32, u32, u32)> {
    (0..(1u64 << 32) / CHUNK)
        .into_par_iter()
        .map_init(
            || {
                (
                    vec![0f32; CHUNK as usize],
                    vec![C::default(); CHUNK as usize],
                    vec![C::default(); CHUNK as usize],
                )
            },
            |(src, want, got), k| {
                let base = (k * CHUNK) as u32;
                for (i, x) in src.iter_mut().enumerate() {
                    *x = f32::from_bits(base + i as u32);
                }
                encode_f32_reference(fmt, opts, src, 0, base as u64, want).expect("twin");
                encode_f32(fmt, opts, src, 0, base as u64, got).expect("fast");
                (0..CHUNK as usize)
                    .find(|&i| want[i] != got[i])
                    .map(|i| (base + i as u32, want[i].to_u32(), got[i].to_u32()))
            },
        )
        .flatten()
        .min_by_key(|m| m.0)
}

fn sweep<C: Code + PartialEq>(name: &str) {
    let fmt = minifloat(name);
    let opts = ConvertOptions::with_rounding(Rounding::Rne);
    let t = std::time::Instant::now();
    if let Some((bits, want, got)) = first_mismatch::<C>(&fmt, &opts) {
        panic!(
            "{name} rne: f32 {bits:#010x} ({:e}): twin {want:#x}, fast {got:#x}",
            f32::from_bits(bits)
        );
    }
    eprintln!(
        "{name}: all 2^32 f32 patterns agree ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
}

#[test]
#[ignore = "2^32 inputs per format; run with --ignored in release mode"]
fn all_f32_patterns_e4m3_e5m2_e2m1_bf16_rne() {
    sweep::<u8>("e4m3");
    sweep::<u8>("e5m2");
    sweep::<u8>("e2m1");
    sweep::<u16>("bf16");
}

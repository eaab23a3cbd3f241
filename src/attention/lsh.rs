//! Angular locality-sensitive hashing as HyperAttention's and KDEformer's
//! official code compute it: `r` random hyperplanes give an `r`-bit bin,
//! read through a reflected Gray code (so neighbouring bins differ in one
//! hyperplane), and rows sorted stably by their hash form the blocks both
//! methods attend within.

use crate::isa::IsaLevel;
use crate::kernels::attention::sorted;

/// How a method's dense work runs: the scalar emulation, or the native
/// kernels (`kernels::attention::sorted`) at an ISA level. Hashing,
/// sorting, sampling and merging are the same code on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The scalar loops (the emulation).
    Emulate,
    /// The native kernels at this level.
    Native(IsaLevel),
}

/// [`lsh_hash`] on `engine` (the projections' dots by the kernel natively:
/// the same FMA chains, so the same hashes).
pub fn hash_on(engine: Engine, x: &[f32], d: usize, proj: &[f32], r: usize) -> Vec<u32> {
    match engine {
        Engine::Emulate => lsh_hash(x, d, proj, r),
        Engine::Native(level) => {
            hash_of_dots(&sorted::proj_dots(x, d, proj, r, level), x.len() / d, r)
        }
    }
}

/// `bin ^ (bin >> 1)`: the reflected Gray code the code's `perm` table holds.
pub fn gray(bin: u32) -> u32 {
    bin ^ (bin >> 1)
}

/// LSH hashes of `rows × d` vectors under `r` projections (`proj` is
/// `d × r`, row-major): `gray(Σ_i [x·w_i > 0]·2^i)`.
pub fn lsh_hash(x: &[f32], d: usize, proj: &[f32], r: usize) -> Vec<u32> {
    x.chunks(d)
        .map(|row| {
            let mut bin = 0u32;
            for i in 0..r {
                let dot = (0..d).fold(0.0f32, |a, c| row[c].mul_add(proj[c * r + i], a));
                if dot > 0.0 {
                    bin |= 1 << i;
                }
            }
            gray(bin)
        })
        .collect()
}

/// [`lsh_hash`] from the projections' dots (`rows × r`, as
/// `kernels::attention::sorted::proj_dots` forms them: the same FMA chains).
/// `rows` rows (all in bin 0 when `r` is 0).
pub fn hash_of_dots(dots: &[f32], rows: usize, r: usize) -> Vec<u32> {
    if r == 0 {
        return vec![0; rows];
    }
    dots.chunks(r)
        .map(|row| {
            let bin = row
                .iter()
                .enumerate()
                .fold(0u32, |b, (i, &v)| if v > 0.0 { b | 1 << i } else { b });
            gray(bin)
        })
        .collect()
}

/// Indices sorting `hash` stably (ascending).
pub fn stable_order(hash: &[u32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..hash.len()).collect();
    idx.sort_by_key(|&i| hash[i]);
    idx
}

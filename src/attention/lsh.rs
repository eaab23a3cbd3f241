//! Angular locality-sensitive hashing as HyperAttention's and KDEformer's
//! official code compute it: `r` random hyperplanes give an `r`-bit bin,
//! read through a reflected Gray code (so neighbouring bins differ in one
//! hyperplane), and rows sorted stably by their hash form the blocks both
//! methods attend within.

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

/// Indices sorting `hash` stably (ascending).
pub fn stable_order(hash: &[u32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..hash.len()).collect();
    idx.sort_by_key(|&i| hash[i]);
    idx
}

//! Calibration micro-kernels for the roofline: timing, memory-bandwidth reads
//! and compute kernels (one instruction in independent chains), which
//! `bitsim calibrate` runs to fill a [`Machine`](super::Machine). Kernels are
//! chosen from the CPU features [`crate::isa`] allows (detected, capped by
//! `--isa` / `BITSIM_ISA`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::ComputeKind;
use crate::isa;

/// Best rate (G ops/s summed over threads) of `threads` threads each running
/// `run(iters)` at once, over repeated runs filling about `budget`.
pub fn rate(
    ops_per_iter: f64,
    budget: Duration,
    threads: usize,
    run: &(dyn Fn(u64) + Sync),
) -> f64 {
    let iters = iters_for(budget / 10, threads, run);
    let start = Instant::now();
    let mut best = 0f64;
    let mut runs = 0;
    while runs < 3 || start.elapsed() < budget {
        best = best.max(pass_rate(ops_per_iter, iters, threads, run));
        runs += 1;
    }
    best
}

/// The iteration count at which one run of `threads` threads each running
/// `run(iters)` takes about `target` (at least 0.5 ms): grown from 64 until
/// a run takes that long.
pub fn iters_for(target: Duration, threads: usize, run: &(dyn Fn(u64) + Sync)) -> u64 {
    let target = target.max(Duration::from_micros(500));
    let mut iters = 64u64;
    loop {
        let t = timed(threads, &|| run(iters));
        if t >= target || iters >= 1 << 40 {
            return iters;
        }
        let grow = (target.as_secs_f64() / t.as_secs_f64().max(1e-9)).clamp(2.0, 64.0);
        iters = (iters as f64 * grow) as u64;
    }
}

/// Rate (G ops/s summed over threads) of one timed run of [`rate`]'s loop:
/// `threads` threads each running `run(iters)` at once. For benches that
/// alternate the loop with the work they compare with it.
pub fn pass_rate(ops_per_iter: f64, iters: u64, threads: usize, run: &(dyn Fn(u64) + Sync)) -> f64 {
    let t = timed(threads, &|| run(iters)).as_secs_f64();
    ops_per_iter * iters as f64 * threads as f64 / t.max(1e-12) / 1e9
}

/// Wall time of `threads` threads each running `f` once, started together:
/// from the first thread's start to the last one's end, as the threads see
/// it (the spawning thread may be scheduled late on a busy machine).
pub fn timed(threads: usize, f: &(dyn Fn() + Sync)) -> Duration {
    if threads == 1 {
        let t = Instant::now();
        f();
        return t.elapsed();
    }
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    f();
                    (start, Instant::now())
                })
            })
            .collect();
        let spans: Vec<(Instant, Instant)> = handles
            .into_iter()
            .map(|h| h.join().expect("calibration threads do not panic"))
            .collect();
        let first = spans.iter().map(|s| s.0).min().expect("threads >= 2");
        let last = spans.iter().map(|s| s.1).max().expect("threads >= 2");
        last - first
    })
}

// ---- memory bandwidth -----------------------------------------------------

/// A buffer of `words` distinct words (every page touched, none shared zero memory).
pub fn fill(words: usize) -> Vec<u64> {
    (0..words as u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect()
}

/// Best read bandwidth, GB/s, of `threads` threads each reading its slice of
/// `buf` (repeatedly, so that a timed run moves at least 64 MiB and thread
/// start-up does not count), over runs ([`read_pass`]) filling about `budget`.
pub fn read_rate(buf: &[u64], threads: usize, budget: Duration) -> f64 {
    let start = Instant::now();
    let mut best = 0f64;
    let mut runs = 0;
    while runs < 2 || start.elapsed() < budget {
        best = best.max(read_pass(buf, threads));
        runs += 1;
    }
    best
}

/// Read bandwidth, GB/s, of one timed run of [`read_rate`]'s loop: `threads`
/// threads each reading its slice of `buf` (repeatedly, so that the run
/// moves at least 64 MiB). For benches that alternate the loop with the
/// work they compare with it, so that both see the same machine.
pub fn read_pass(buf: &[u64], threads: usize) -> f64 {
    let slices: Vec<&[u64]> = buf.chunks(buf.len().div_ceil(threads).max(1)).collect();
    let reps = ((64usize << 20) / (buf.len() * 8).max(1)).max(1);
    let next = AtomicUsize::new(0);
    let t = timed(slices.len(), &|| {
        let s = slices[next.fetch_add(1, Ordering::Relaxed)];
        for _ in 0..reps {
            std::hint::black_box(read_sum(std::hint::black_box(s)));
        }
    });
    (buf.len() * 8 * reps) as f64 / t.as_secs_f64().max(1e-12) / 1e9
}

/// Size in bytes of the level-`level` data or unified cache of CPU 0 (Linux
/// sysfs), if known.
pub fn cache_bytes(level: u32) -> Option<usize> {
    let dir = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    for e in dir.flatten() {
        let read = |f: &str| std::fs::read_to_string(e.path().join(f)).ok();
        let (Some(l), Some(t), Some(size)) = (read("level"), read("type"), read("size")) else {
            continue;
        };
        if l.trim() != level.to_string() || t.trim() == "Instruction" {
            continue;
        }
        let size = size.trim();
        let (num, mult) = match size.strip_suffix('K') {
            Some(n) => (n, 1024),
            None => match size.strip_suffix('M') {
                Some(n) => (n, 1 << 20),
                None => (size, 1),
            },
        };
        return num.parse::<usize>().ok().map(|n| n * mult);
    }
    None
}

/// Sum of every word (so that no read can be skipped), widest loads available.
fn read_sum(s: &[u64]) -> u64 {
    isa::dispatch!(isa::effective(),
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX-512 (F among them).
        avx512 => unsafe { read_sum_avx512(s) },
        // SAFETY: `dispatch!` takes this arm only on CPUs with AVX2.
        avx2 => unsafe { read_sum_avx2(s) },
        scalar => read_sum_body(s),
    )
}

/// Eight independent sums (portable code).
#[inline(always)]
fn read_sum_body(s: &[u64]) -> u64 {
    let mut acc = [0u64; 8];
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        for j in 0..8 {
            acc[j] = acc[j].wrapping_add(c[j]);
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(0u64, |a, &x| a.wrapping_add(x));
    acc.iter().fold(tail, |a, &x| a.wrapping_add(x))
}

/// 64-byte loads into four independent sums (explicit loads: LLVM turns the
/// portable loop into gathers here).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn read_sum_avx512(s: &[u64]) -> u64 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_setzero_si512(); 4];
    let mut blocks = s.chunks_exact(32);
    for b in &mut blocks {
        let p = b.as_ptr();
        for (j, a) in acc.iter_mut().enumerate() {
            // SAFETY: `b` holds 32 words; word 8j..8j+8 is in bounds.
            *a = _mm512_add_epi64(*a, unsafe { _mm512_loadu_si512(p.add(8 * j).cast()) });
        }
    }
    let v = acc.iter().fold(0u64, |t, &a| {
        t.wrapping_add(_mm512_reduce_add_epi64(a) as u64)
    });
    v.wrapping_add(read_sum_body(blocks.remainder()))
}

/// 32-byte loads into four independent sums.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn read_sum_avx2(s: &[u64]) -> u64 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_setzero_si256(); 4];
    let mut blocks = s.chunks_exact(16);
    for b in &mut blocks {
        let p = b.as_ptr();
        for (j, a) in acc.iter_mut().enumerate() {
            // SAFETY: `b` holds 16 words; word 4j..4j+4 is in bounds.
            *a = _mm256_add_epi64(*a, unsafe { _mm256_loadu_si256(p.add(4 * j).cast()) });
        }
    }
    let mut out = [0u64; 4];
    let mut v = 0u64;
    for a in acc {
        // SAFETY: `out` holds 4 words.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), a) };
        v = out.iter().fold(v, |t, &x| t.wrapping_add(x));
    }
    v.wrapping_add(read_sum_body(blocks.remainder()))
}

// ---- compute kernels ------------------------------------------------------

/// A compute kernel: `run(iters)` executes `iters × ops_per_iter` operations.
pub struct Kernel {
    /// The ceiling it measures.
    pub kind: ComputeKind,
    /// The instruction and shape, as the table and the machine file say it.
    pub what: &'static str,
    /// Operations per iteration (a multiply-add counts 2).
    pub ops_per_iter: f64,
    /// Runs the given number of iterations.
    pub run: fn(u64),
}

/// The kernels this CPU can run, best instruction set first per kind.
pub fn compute_kernels() -> Vec<Kernel> {
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let f = isa::active();
        if f.avx512f {
            v.push(Kernel {
                kind: ComputeKind::F32Fma,
                what: "vfmadd231ps zmm, 16 independent chains",
                ops_per_iter: (CHAINS * 16 * 2) as f64,
                run: |n| {
                    // SAFETY: AVX-512F was detected before this kernel was listed.
                    std::hint::black_box(unsafe { x86::fma_zmm(n) });
                },
            });
        } else if f.avx2 && f.fma {
            v.push(Kernel {
                kind: ComputeKind::F32Fma,
                what: "vfmadd231ps ymm, 16 independent chains",
                ops_per_iter: (CHAINS * 8 * 2) as f64,
                run: |n| {
                    // SAFETY: AVX2 and FMA were detected before this kernel was listed.
                    std::hint::black_box(unsafe { x86::fma_ymm(n) });
                },
            });
        }
        if f.avx512bf16 {
            v.push(Kernel {
                kind: ComputeKind::Bf16Dot,
                what: "vdpbf16ps zmm, 16 independent chains",
                // 32 bf16 pairs per instruction, 2 operations each.
                ops_per_iter: (CHAINS * 32 * 2) as f64,
                run: |n| {
                    // SAFETY: AVX512-BF16 was detected before this kernel was listed.
                    std::hint::black_box(unsafe { x86::dpbf16_zmm(n) });
                },
            });
        }
        if f.avx512vnni {
            v.push(Kernel {
                kind: ComputeKind::Int8Vnni,
                what: "vpdpbusd zmm, 16 independent chains",
                // 64 u8×i8 products per instruction, 2 operations each.
                ops_per_iter: (CHAINS * 64 * 2) as f64,
                run: |n| {
                    // SAFETY: AVX512-VNNI was detected before this kernel was listed.
                    std::hint::black_box(unsafe { x86::dpbusd_zmm(n) });
                },
            });
        }
    }
    if !v.iter().any(|k| k.kind == ComputeKind::F32Fma) {
        v.insert(
            0,
            Kernel {
                kind: ComputeKind::F32Fma,
                what: "portable f32 multiply-add, 16 independent chains",
                ops_per_iter: (CHAINS * 2) as f64,
                run: |n| {
                    std::hint::black_box(fma_portable(n));
                },
            },
        );
    }
    v
}

/// Why a compute ceiling has no kernel: the CPU lacks its instruction, or
/// the user's ISA cap forbids it.
pub fn unavailable_reason(k: ComputeKind) -> &'static str {
    let f = isa::features();
    let capped = match k {
        ComputeKind::Bf16Dot => f.avx512bf16,
        ComputeKind::Int8Vnni => f.avx512vnni,
        _ => false,
    };
    if capped {
        return "unavailable: above the ISA cap (--isa / BITSIM_ISA)";
    }
    match k {
        ComputeKind::Bf16Dot => "unavailable: no AVX512-BF16 (vdpbf16ps) on this CPU",
        ComputeKind::Int8Vnni => "unavailable: no AVX512-VNNI (vpdpbusd zmm) on this CPU",
        _ => "unavailable",
    }
}

/// Independent accumulator chains per kernel: more than FMA latency ×
/// issue width (4 cycles × 2 pipes on current x86 cores).
const CHAINS: usize = 16;

/// Portable fallback: 16 chains of scalar multiply-adds.
fn fma_portable(n: u64) -> f32 {
    let mut acc = [0.0f32; CHAINS];
    let (a, b) = (
        std::hint::black_box(0.999_9f32),
        std::hint::black_box(1e-3f32),
    );
    for _ in 0..n {
        for x in acc.iter_mut() {
            *x = *x * a + b;
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::hint::black_box;

    /// Runs `$op` on 16 accumulators `n` times; the accumulators stay in
    /// registers (32 zmm / 16 ymm).
    macro_rules! chains {
        ($n:expr, $init:expr, $op:expr) => {{
            let mut a = [$init; 16];
            for _ in 0..$n {
                a[0] = $op(a[0]);
                a[1] = $op(a[1]);
                a[2] = $op(a[2]);
                a[3] = $op(a[3]);
                a[4] = $op(a[4]);
                a[5] = $op(a[5]);
                a[6] = $op(a[6]);
                a[7] = $op(a[7]);
                a[8] = $op(a[8]);
                a[9] = $op(a[9]);
                a[10] = $op(a[10]);
                a[11] = $op(a[11]);
                a[12] = $op(a[12]);
                a[13] = $op(a[13]);
                a[14] = $op(a[14]);
                a[15] = $op(a[15]);
            }
            a
        }};
    }

    /// `n` rounds of 16 zmm f32 FMA chains.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_zmm(n: u64) -> f32 {
        // x ← x·a + b with a < 1 converges: no overflow, no subnormals.
        let m = _mm512_set1_ps(black_box(0.999_9));
        let c = _mm512_set1_ps(black_box(1e-3));
        let a = chains!(n, _mm512_setzero_ps(), |x| _mm512_fmadd_ps(x, m, c));
        a.iter().map(|&x| _mm512_reduce_add_ps(x)).sum()
    }

    /// `n` rounds of 16 ymm f32 FMA chains.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_ymm(n: u64) -> f32 {
        let m = _mm256_set1_ps(black_box(0.999_9));
        let c = _mm256_set1_ps(black_box(1e-3));
        let a = chains!(n, _mm256_setzero_ps(), |x| _mm256_fmadd_ps(x, m, c));
        let mut out = [0.0f32; 8];
        let mut s = 0.0;
        for x in a {
            _mm256_storeu_ps(out.as_mut_ptr(), x);
            s += out.iter().sum::<f32>();
        }
        s
    }

    /// `n` rounds of 16 zmm bf16 dot-product chains.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn dpbf16_zmm(n: u64) -> f32 {
        // bf16 pairs of small values: sums grow slowly and stay finite.
        let p = _mm512_cvtne2ps_pbh(
            _mm512_set1_ps(black_box(1e-3)),
            _mm512_set1_ps(black_box(-1e-3)),
        );
        let a = chains!(n, _mm512_setzero_ps(), |x| _mm512_dpbf16_ps(x, p, p));
        a.iter().map(|&x| _mm512_reduce_add_ps(x)).sum()
    }

    /// `n` rounds of 16 zmm int8 VNNI chains.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub unsafe fn dpbusd_zmm(n: u64) -> i32 {
        // Wrapping int32 sums: overflow is harmless here.
        let u = _mm512_set1_epi8(black_box(3));
        let s = _mm512_set1_epi8(black_box(-2));
        let a = chains!(n, _mm512_setzero_si512(), |x| _mm512_dpbusd_epi32(x, u, s));
        a.iter()
            .fold(0i32, |t, &x| t.wrapping_add(_mm512_reduce_add_epi32(x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_covers_every_thread() {
        let nap = || std::thread::sleep(Duration::from_millis(20));
        for threads in [1, 2, 3] {
            let t = timed(threads, &nap);
            assert!(t >= Duration::from_millis(20), "{threads} threads: {t:?}");
        }
    }

    #[test]
    fn read_sum_matches_a_plain_fold() {
        // Every length around the 32- and 16-word blocks, then seeded long ones;
        // values near u64::MAX make the sums wrap.
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let lens = (0..=70).chain([127, 128, 129, 1000, 4099, 65_537]);
        for len in lens {
            let v: Vec<u64> = (0..len).map(|_| next()).collect();
            let want = v.iter().fold(0u64, |a, &x| a.wrapping_add(x));
            assert_eq!(read_sum(&v), want, "len {len}");
            assert_eq!(read_sum_body(&v), want, "len {len}");
            #[cfg(target_arch = "x86_64")]
            if isa::detected() >= isa::IsaLevel::Avx2 {
                // SAFETY: AVX2 checked just above.
                assert_eq!(unsafe { read_sum_avx2(&v) }, want, "len {len}");
            }
        }
        let max = vec![u64::MAX; 100];
        assert_eq!(read_sum(&max), 100u64.wrapping_neg());
    }
}

//! What every fast-path kernel shares across instruction sets: `per_isa!`,
//! which compiles one body once per ISA (LLVM then auto-vectorizes it for
//! that ISA), and the streaming (non-temporal) stores of large outputs.

/// Defines the AVX2 and the AVX-512 compilation of one body: the same code
/// under each `#[target_feature]` set, so LLVM vectorizes it for that ISA.
/// Inside the body, `nt_copy` is that ISA's streaming (non-temporal) copy.
/// Callers must only call each function on a CPU with its features (through
/// [`crate::isa::dispatch!`]); the body must have `streamed` in scope.
macro_rules! per_isa {
    (fn [$avx2:ident, $avx512:ident] [$($gen:tt)*] ($($args:tt)*) $(-> $ret:ty)? $body:block) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $avx2<$($gen)*>($($args)*) $(-> $ret)? {
            #[allow(unused_imports)]
            use $crate::formats::fast::per_isa::nt::copy_avx2 as nt_copy;
            $body
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
        unsafe fn $avx512<$($gen)*>($($args)*) $(-> $ret)? {
            #[allow(unused_imports)]
            use $crate::formats::fast::per_isa::nt::copy_avx512 as nt_copy;
            $body
        }
    };
}

pub(super) use per_isa;

/// Output bytes of one call from which stores bypass the cache: such an
/// output does not fit beside its input in the L3 anyway, and streaming
/// stores save the read-for-ownership of every destination line.
pub(super) const STREAM_BYTES: usize = 8 << 20;

/// Elements per staging tile of the streaming path.
const TILE: usize = 256;

/// Non-temporal copies from a staging buffer into 64-byte-aligned memory.
#[cfg(target_arch = "x86_64")]
pub(super) mod nt {
    use std::arch::x86_64::*;

    /// Copies `bytes` (a multiple of 64) from `src` to 64-byte-aligned `dst`.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn copy_avx2(dst: *mut u8, src: *const u8, bytes: usize) {
        let mut k = 0;
        while k < bytes {
            let v = _mm256_loadu_si256(src.add(k) as *const __m256i);
            _mm256_stream_si256(dst.add(k) as *mut __m256i, v);
            k += 32;
        }
    }

    /// Copies `bytes` (a multiple of 64) from `src` to 64-byte-aligned `dst`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub unsafe fn copy_avx512(dst: *mut u8, src: *const u8, bytes: usize) {
        let mut k = 0;
        while k < bytes {
            let v = _mm512_loadu_si512(src.add(k) as *const _);
            _mm512_stream_si512(dst.add(k) as *mut _, v);
            k += 64;
        }
    }

    /// Orders the streaming stores before anything that follows.
    #[inline]
    pub fn fence() {
        // SAFETY: SSE is part of the x86-64 baseline.
        unsafe { _mm_sfence() }
    }
}

/// Runs `kernel(offset, src_part, dst_part)` over `src`/`dst`, writing whole
/// 64-byte-aligned tiles of `dst` through a staging buffer and `copy`
/// (non-temporal stores); the unaligned head and the tail go direct.
/// Returns the OR of the kernel's results.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn streamed<I, O: Copy + Default>(
    src: &[I],
    dst: &mut [O],
    mut kernel: impl FnMut(usize, &[I], &mut [O]) -> bool,
    copy: impl Fn(*mut u8, *const u8, usize),
) -> bool {
    let n = src.len().min(dst.len());
    let size = std::mem::size_of::<O>();
    let head = (((64 - dst.as_ptr() as usize % 64) % 64) / size).min(n);
    let mut err = kernel(0, &src[..head], &mut dst[..head]);
    let mut off = head;
    let mut buf = [O::default(); TILE];
    while off + TILE <= n {
        err |= kernel(off, &src[off..off + TILE], &mut buf);
        // `dst[off..]` is 64-byte aligned and TILE × size a multiple of 64.
        copy(
            dst[off..].as_mut_ptr() as *mut u8,
            buf.as_ptr() as *const u8,
            TILE * size,
        );
        off += TILE;
    }
    err |= kernel(off, &src[off..n], &mut dst[off..n]);
    nt::fence();
    err
}

//! The crate's one SIMD dispatch: CPU features detected once, an instruction-set
//! level the fast paths run at, and a user cap on that level.
//!
//! Every run-time feature probe of the crate lives here, so that a user can
//! cap what all kernels use at once (`--isa`, or the `BITSIM_ISA` environment
//! variable) and tests and benchmarks can compare every path on one machine.
//! The level a kernel runs at is the *effective* level: the lower of the
//! detected level and the cap. Ground layer: imports nothing from the crate.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// An instruction-set level a kernel can run at.
///
/// Ordered: a level runs on every CPU that runs a higher one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IsaLevel {
    /// Portable code compiled for the baseline target (on x86-64: SSE2 only).
    Scalar,
    /// x86-64 AVX2.
    Avx2,
    /// x86-64 AVX-512 (F, BW, VL).
    Avx512,
}

impl IsaLevel {
    /// Every level, lowest first.
    pub const ALL: [IsaLevel; 3] = [IsaLevel::Scalar, IsaLevel::Avx2, IsaLevel::Avx512];

    /// A short name (`scalar`, `avx2`, `avx512`), as `--isa` and `BITSIM_ISA` take it.
    pub fn name(self) -> &'static str {
        match self {
            IsaLevel::Scalar => "scalar",
            IsaLevel::Avx2 => "avx2",
            IsaLevel::Avx512 => "avx512",
        }
    }

    /// The level named `s` (`scalar`, `avx2` or `avx512`).
    pub fn from_name(s: &str) -> Option<IsaLevel> {
        IsaLevel::ALL.into_iter().find(|l| l.name() == s)
    }

    /// The levels this CPU can run, lowest first (the cap does not apply:
    /// tests and benchmarks use this to run every path).
    pub fn available() -> Vec<IsaLevel> {
        let top = detected();
        IsaLevel::ALL.into_iter().filter(|l| *l <= top).collect()
    }
}

impl std::fmt::Display for IsaLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The CPU features the crate's kernels may dispatch on, as detected at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    /// SSE4.2.
    pub sse4_2: bool,
    /// AVX.
    pub avx: bool,
    /// AVX2.
    pub avx2: bool,
    /// FMA3 (fused multiply-add).
    pub fma: bool,
    /// F16C (half-precision conversions).
    pub f16c: bool,
    /// AVX-512 Foundation.
    pub avx512f: bool,
    /// AVX-512 byte and word instructions.
    pub avx512bw: bool,
    /// AVX-512 at 128/256-bit vector lengths.
    pub avx512vl: bool,
    /// AVX-512 VNNI (int8 dot products, `vpdpbusd`).
    pub avx512vnni: bool,
    /// AVX-512 BF16 (`vdpbf16ps`).
    pub avx512bf16: bool,
    /// AVX-512 VBMI (byte permutes).
    pub avx512vbmi: bool,
    /// AVX-512 VPOPCNTDQ (vector popcount).
    pub avx512vpopcntdq: bool,
    /// AVX-512 FP16.
    pub avx512fp16: bool,
    /// AVX-VNNI (VEX-coded int8 dot products).
    pub avxvnni: bool,
}

impl Features {
    /// The features of this CPU (probed on every call; use [`features`]).
    fn probe() -> Features {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            Features {
                sse4_2: has!("sse4.2"),
                avx: has!("avx"),
                avx2: has!("avx2"),
                fma: has!("fma"),
                f16c: has!("f16c"),
                avx512f: has!("avx512f"),
                avx512bw: has!("avx512bw"),
                avx512vl: has!("avx512vl"),
                avx512vnni: has!("avx512vnni"),
                avx512bf16: has!("avx512bf16"),
                avx512vbmi: has!("avx512vbmi"),
                avx512vpopcntdq: has!("avx512vpopcntdq"),
                avx512fp16: has!("avx512fp16"),
                avxvnni: has!("avxvnni"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Features::default()
    }

    /// The highest [`IsaLevel`] these features allow: AVX-512 needs F, BW and
    /// VL; AVX2 needs AVX2.
    pub fn level(&self) -> IsaLevel {
        if self.avx512f && self.avx512bw && self.avx512vl {
            IsaLevel::Avx512
        } else if self.avx2 {
            IsaLevel::Avx2
        } else {
            IsaLevel::Scalar
        }
    }

    /// These features with those above `level` cleared (AVX2, FMA, F16C and
    /// AVX-VNNI below [`IsaLevel::Avx2`]; every AVX-512 feature below
    /// [`IsaLevel::Avx512`]), so a capped run uses no instruction above the cap.
    pub fn capped(&self, level: IsaLevel) -> Features {
        let mut f = *self;
        if level < IsaLevel::Avx512 {
            f.avx512f = false;
            f.avx512bw = false;
            f.avx512vl = false;
            f.avx512vnni = false;
            f.avx512bf16 = false;
            f.avx512vbmi = false;
            f.avx512vpopcntdq = false;
            f.avx512fp16 = false;
        }
        if level < IsaLevel::Avx2 {
            f.avx2 = false;
            f.fma = false;
            f.f16c = false;
            f.avxvnni = false;
        }
        f
    }

    /// The names of the present features the run metadata lists, in a fixed
    /// order (the `is_x86_feature_detected!` spelling).
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.sse4_2, "sse4.2"),
            (self.avx, "avx"),
            (self.avx2, "avx2"),
            (self.fma, "fma"),
            (self.f16c, "f16c"),
            (self.avx512f, "avx512f"),
            (self.avx512bw, "avx512bw"),
            (self.avx512vl, "avx512vl"),
            (self.avx512vnni, "avx512vnni"),
            (self.avx512bf16, "avx512bf16"),
            (self.avx512fp16, "avx512fp16"),
            (self.avxvnni, "avxvnni"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// This CPU's features, detected once.
pub fn features() -> &'static Features {
    static F: OnceLock<Features> = OnceLock::new();
    F.get_or_init(Features::probe)
}

/// This CPU's features up to the [`effective`] level: what kernels may use.
pub fn active() -> Features {
    features().capped(effective())
}

/// The highest level this CPU supports.
pub fn detected() -> IsaLevel {
    features().level()
}

/// `level`, lowered to what the CPU supports: safe to run on this CPU.
pub fn supported(level: IsaLevel) -> IsaLevel {
    level.min(detected())
}

/// The level the fast paths run at: the lower of [`detected`] and [`cap`].
pub fn effective() -> IsaLevel {
    supported(cap())
}

/// A `BITSIM_ISA` value that names no level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadIsa(pub String);

impl std::fmt::Display for BadIsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BITSIM_ISA '{}': expected scalar, avx2 or avx512",
            self.0
        )
    }
}

impl std::error::Error for BadIsa {}

/// The cap `BITSIM_ISA` sets (`None` when unset or empty), read once.
pub fn cap_from_env() -> Result<Option<IsaLevel>, BadIsa> {
    static ENV: OnceLock<Result<Option<IsaLevel>, BadIsa>> = OnceLock::new();
    ENV.get_or_init(|| match std::env::var("BITSIM_ISA") {
        Err(_) => Ok(None),
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => IsaLevel::from_name(&v).map(Some).ok_or(BadIsa(v)),
    })
    .clone()
}

/// No cap set yet: the first [`cap`] reads `BITSIM_ISA`.
const UNSET: u8 = u8::MAX;

static CAP: AtomicU8 = AtomicU8::new(UNSET);

fn level_of(v: u8) -> IsaLevel {
    IsaLevel::ALL[v as usize]
}

/// Caps the level every kernel runs at from now on (overrides `BITSIM_ISA`).
/// A cap above the CPU's level is no error: the [`effective`] level is the lower.
pub fn set_cap(level: IsaLevel) {
    CAP.store(level as u8, Ordering::Relaxed);
}

/// The current cap: the last [`set_cap`], else `BITSIM_ISA`, else no cap
/// ([`IsaLevel::Avx512`]).
///
/// # Panics
///
/// If `BITSIM_ISA` names no level and no cap was set (the CLI checks
/// [`cap_from_env`] first and reports it as a usage error).
pub fn cap() -> IsaLevel {
    let v = CAP.load(Ordering::Relaxed);
    if v != UNSET {
        return level_of(v);
    }
    let env = match cap_from_env() {
        Ok(c) => c.unwrap_or(IsaLevel::Avx512),
        Err(e) => panic!("{e}"),
    };
    // A racing `set_cap` wins over the environment.
    let _ = CAP.compare_exchange(UNSET, env as u8, Ordering::Relaxed, Ordering::Relaxed);
    level_of(CAP.load(Ordering::Relaxed))
}

/// Runs the arm of the highest level at most `$level` that the CPU supports.
///
/// `$level` is lowered to [`supported`] first, so an arm runs only on a CPU
/// with its level's features: arms may call `#[target_feature]` functions of
/// their level in an `unsafe` block on that ground. The `avx512` arm may be
/// left out (AVX-512 CPUs then take the `avx2` arm); the AVX arms are only
/// compiled on x86-64.
///
/// ```text
/// isa::dispatch!(isa::effective(),
///     avx512 => unsafe { kernel_avx512(x) },
///     avx2 => unsafe { kernel_avx2(x) },
///     scalar => kernel(x),
/// )
/// ```
macro_rules! dispatch {
    ($level:expr, avx512 => $a512:expr, avx2 => $a2:expr, scalar => $s:expr $(,)?) => {
        match $crate::isa::supported($level) {
            #[cfg(target_arch = "x86_64")]
            $crate::isa::IsaLevel::Avx512 => $a512,
            #[cfg(target_arch = "x86_64")]
            $crate::isa::IsaLevel::Avx2 => $a2,
            _ => $s,
        }
    };
    ($level:expr, avx2 => $a2:expr, scalar => $s:expr $(,)?) => {
        match $crate::isa::supported($level) {
            #[cfg(target_arch = "x86_64")]
            $crate::isa::IsaLevel::Avx2 | $crate::isa::IsaLevel::Avx512 => $a2,
            _ => $s,
        }
    };
}

pub(crate) use dispatch;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order() {
        for l in IsaLevel::ALL {
            assert_eq!(IsaLevel::from_name(l.name()), Some(l));
        }
        assert_eq!(IsaLevel::from_name("sse"), None);
        assert!(IsaLevel::Scalar < IsaLevel::Avx2 && IsaLevel::Avx2 < IsaLevel::Avx512);
    }

    #[test]
    fn capping_clears_features_above_the_level() {
        let all = Features {
            avx2: true,
            fma: true,
            avx512f: true,
            avx512bw: true,
            avx512vl: true,
            avx512bf16: true,
            ..Features::default()
        };
        assert_eq!(all.level(), IsaLevel::Avx512);
        assert_eq!(all.capped(IsaLevel::Avx2).level(), IsaLevel::Avx2);
        assert!(!all.capped(IsaLevel::Avx2).avx512bf16);
        assert_eq!(all.capped(IsaLevel::Scalar), Features::default());
        assert_eq!(
            all.names(),
            [
                "avx2",
                "fma",
                "avx512f",
                "avx512bw",
                "avx512vl",
                "avx512bf16"
            ]
        );
    }

    #[test]
    fn the_detected_features_agree_with_the_level() {
        assert_eq!(detected(), features().level());
        assert!(effective() <= detected());
    }
}

//! The address generators as one `enum`: each generator's name, the sizes
//! it needs and checks, its access stream and its closed form, parsed from
//! its name once at the boundary (CLI flag or TOML key) and passed inward
//! typed.
//!
//! Each generator is a [`Schedule`] implemented next to its trace function
//! (`matmul.rs`, `attention.rs`); the `generators!` list below is the one
//! place that names them. Adding a generator is one `Schedule` (with its
//! trace and, in [`crate::hw::iomodel`], its closed form) plus one line in
//! that list.

use std::fmt;

use super::schedule::{Dim, Schedule};
use super::{attention, matmul, TraceParams};
use crate::hw::iomodel::ClosedForm;
use crate::hw::trace::AccessSink;

/// Largest accepted dimension (keeps products such as d² and 2N² far from u64 overflow).
pub const MAX_DIM: usize = 1 << 20;
/// Largest accepted loop-nest size (m·n·k, m·k or N²·d).
const MAX_WORK: f64 = (1u64 << 40) as f64;

/// What is wrong with the sizes given to a generator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DimProblem {
    /// The size is 0.
    Zero(Dim),
    /// The size is above [`MAX_DIM`].
    TooLarge {
        /// Which size.
        dim: Dim,
        /// Its value.
        value: usize,
    },
    /// The loop nest has more than 2^40 iterations.
    TooMuchWork {
        /// Iterations of the loop nest.
        iterations: f64,
    },
}

/// Sizes a generator cannot run with. It names the size, not where it came
/// from: the CLI and the study each say which flag or key that is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DimError {
    /// The generator the sizes were given to.
    pub generator: Generator,
    /// What is wrong.
    pub problem: DimProblem,
}

impl DimProblem {
    /// Why the sizes are rejected, with `label` naming a size as the caller's
    /// input does (`--n`, `n`).
    pub fn reason(&self, label: impl Fn(Dim) -> String) -> String {
        match *self {
            DimProblem::Zero(dim) => format!("{} must be at least 1", label(dim)),
            DimProblem::TooLarge { dim, value } => {
                format!("{} {value} is too large (at most {MAX_DIM})", label(dim))
            }
            DimProblem::TooMuchWork { iterations } => format!(
                "the loop nest has {iterations:.3e} iterations, more than the 2^40 this model handles"
            ),
        }
    }
}

impl fmt::Display for DimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = self.problem.reason(|d| d.name().to_string());
        write!(f, "{}: {reason}", self.generator)
    }
}

impl std::error::Error for DimError {}

/// A name that is not a generator's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownGenerator(pub String);

impl fmt::Display for UnknownGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}': unknown generator (expected one of {})",
            self.0,
            Generator::names().join(", ")
        )
    }
}

impl std::error::Error for UnknownGenerator {}

/// Declares [`Generator`] from one list of `Arm => Schedule` lines and
/// dispatches every per-generator method through it, so that a generator is
/// named in one place.
macro_rules! generators {
    ($($(#[$doc:meta])* $arm:ident => $schedule:ty,)*) => {
        /// An address generator: a matmul or attention loop structure whose
        /// load/store stream the cache simulator replays (not a matmul variant).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Generator {
            $($(#[$doc])* $arm,)*
        }

        impl Generator {
            /// Every generator, in the order help texts list them.
            pub const ALL: &'static [Generator] = &[$(Generator::$arm),*];

            /// Its name (`matmul/tiled`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Generator::$arm => <$schedule as Schedule>::NAME,)*
                }
            }

            /// The sizes it needs, with its symbol for each.
            fn dims_and_symbols(self) -> &'static [(Dim, &'static str)] {
                match self {
                    $(Generator::$arm => <$schedule as Schedule>::DIMS,)*
                }
            }

            /// Iterations of its loop nest with the sizes of `p`.
            pub(crate) fn work(self, p: &TraceParams) -> f64 {
                match self {
                    $(Generator::$arm => <$schedule as Schedule>::work(p),)*
                }
            }

            /// Emits its accesses for the sizes and format of `p`, tiles
            /// chosen for `fast_bytes`; the sizes must have passed [`TraceParams::check`].
            pub(crate) fn trace<S: AccessSink>(self, p: &TraceParams, fast_bytes: u64, sink: &mut S) {
                match self {
                    $(Generator::$arm => <$schedule as Schedule>::trace(p, fast_bytes, sink),)*
                }
            }

            /// Its closed form and bound for the sizes and format of `p`,
            /// tiles chosen for `fast_bytes`; the sizes must have passed [`TraceParams::check`].
            pub(crate) fn closed_form(self, p: &TraceParams, fast_bytes: u64) -> ClosedForm {
                match self {
                    $(Generator::$arm => <$schedule as Schedule>::closed_form(p, fast_bytes),)*
                }
            }
        }
    };
}

generators! {
    /// The naive i-j-p matrix product (`matmul/naive`).
    MatmulNaive => matmul::Naive,
    /// The blocked matrix product (`matmul/tiled`).
    MatmulTiled => matmul::Tiled,
    /// Matrix-vector product (`matmul/gemv`).
    MatmulGemv => matmul::Gemv,
    /// Standard attention, S and P through memory (`attention/standard`).
    AttentionStandard => attention::Standard,
    /// FlashAttention, Algorithm 1's loop order (`attention/flash`).
    AttentionFlash => attention::Flash,
}

impl Generator {
    /// The generator called `name`; the error lists the names.
    pub fn parse(name: &str) -> Result<Self, UnknownGenerator> {
        Generator::ALL
            .iter()
            .copied()
            .find(|g| g.name() == name)
            .ok_or_else(|| UnknownGenerator(name.to_string()))
    }

    /// The names of every generator, in [`Generator::ALL`]'s order.
    pub fn names() -> Vec<&'static str> {
        Generator::ALL.iter().map(|g| g.name()).collect()
    }

    /// The sizes it needs, in the order they are asked for (GEMV: m and k;
    /// attention: n and d; matmuls: m, n and k).
    pub fn dims(self) -> Vec<Dim> {
        self.dims_and_symbols().iter().map(|(d, _)| *d).collect()
    }

    /// Its sizes in `p` as a table header writes them (`m=64 n=64 k=64`, `N=256 d=64`).
    pub(crate) fn describe(self, p: &TraceParams) -> String {
        let parts: Vec<String> = self
            .dims_and_symbols()
            .iter()
            .map(|(d, sym)| format!("{sym}={}", d.of(p)))
            .collect();
        parts.join(" ")
    }

    /// Checks the sizes it needs in `p`: each at least 1 and at most
    /// [`MAX_DIM`], the loop nest at most 2^40 iterations (which bounds the
    /// trace length and keeps the closed forms' u64 counts exact).
    pub(crate) fn check(self, p: &TraceParams) -> Result<(), DimError> {
        let fail = |problem| {
            Err(DimError {
                generator: self,
                problem,
            })
        };
        for dim in self.dims() {
            let value = dim.of(p);
            if value == 0 {
                return fail(DimProblem::Zero(dim));
            }
            if value > MAX_DIM {
                return fail(DimProblem::TooLarge { dim, value });
            }
        }
        let iterations = self.work(p);
        if iterations > MAX_WORK {
            return fail(DimProblem::TooMuchWork { iterations });
        }
        Ok(())
    }
}

impl fmt::Display for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Generator {
    type Err = UnknownGenerator;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Generator::parse(s)
    }
}

//! Exact-arithmetic attention: the f64 reference, naive f32 (S and P
//! materialised), FlashAttention's tiled online softmax in f32 and bf16,
//! ggml's per-key streaming with an FP16 V accumulator, and split-KV decode
//! merged by log-sum-exp.
//!
//! # The order of every rounding (f32 variants)
//!
//! Inputs are first rounded to the variant's element type (none for f32;
//! RNE to bf16 or fp16). For query row `i` of head `h`, with `sc` =
//! [`super::sm_scale`] and key `j` visible to `i`:
//!
//! ```text
//! s_j = dot_fma(q_i, k_j) · sc                         (f32; dot from +0 in channel order)
//! naive:  m = max_j s_j;  p_j = exp(s_j − m);  ℓ = Σ_j p_j (key order, from +0)
//!         P_j = p_j / ℓ;  o_c = fma(P_j, v_jc, o_c) over j from +0
//! flash:  per tile of Bc keys in order: m' = max(m, max_j s_j);  α = exp(m − m')
//!         p_j = exp(s_j − m');  r = Σ_j p_j (from +0);  ℓ = ℓ·α + r
//!         a_c = a_c·α, then a_c = fma(p̂_j, v_jc, a_c) over the tile's keys
//!         (p̂ = p in f32; bf16: p rounded RNE to bf16, as FlashAttention-2
//!         casts P to the input type for its PV product; ℓ sums the f32 p)
//!         o_c = a_c / ℓ
//! ```
//!
//! `exp` is [`exp_f32`]; m starts at −∞ (so α = exp(−∞) = 0 on the first
//! tile) and tiles with no visible key are skipped. Tile rows (`Br`) do not
//! change any bit (rows are independent); they only shape the I/O.

use super::info::{AttentionInfo, Ops, Schedule, Softmax, Storage};
use super::{dot_fma, per_row, per_score_row, sm_scale, AttentionVariant, NativeAttention, Qkv};
use crate::arith::exp::exp_f32;
use crate::hw::cost::OpKind;
use crate::kernels::attention::{attention_f32, flash_fp16acc, round_fp16, Dims, Method, Round};
use half::{bf16, f16};

/// Element type Q, K and V are rounded to before the arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// As given (f32).
    F32,
    /// RNE to bf16.
    Bf16,
    /// RNE to fp16.
    Fp16,
}

impl Input {
    /// Rounds one value.
    #[inline]
    pub fn round(self, x: f32) -> f32 {
        match self {
            Input::F32 => x,
            Input::Bf16 => bf16::from_f32(x).to_f32(),
            Input::Fp16 => f16::from_f32(x).to_f32(),
        }
    }

    /// Rounds a tensor (fp16: by `half`'s slice conversions, which run
    /// `vcvtps2ph`/`vcvtph2ps` where the CPU has F16C — the instruction its
    /// scalar conversion uses there too — in parallel chunks).
    pub fn tensor(self, x: &[f32]) -> Vec<f32> {
        if self != Input::Fp16 {
            return x.iter().map(|&v| self.round(v)).collect();
        }
        round_fp16(x)
    }

    /// Q, K, V rounded.
    pub fn qkv(self, x: &Qkv) -> Qkv {
        if self == Input::F32 {
            return x.clone();
        }
        Qkv {
            shape: x.shape,
            q: self.tensor(&x.q),
            k: self.tensor(&x.k),
            v: self.tensor(&x.v),
        }
    }

    fn bits(self) -> u32 {
        match self {
            Input::F32 => 32,
            Input::Bf16 | Input::Fp16 => 16,
        }
    }

    fn op(self, mul: bool) -> OpKind {
        let (ebits, mbits) = match self {
            Input::F32 => (8, 23),
            Input::Bf16 => (8, 7),
            Input::Fp16 => (5, 10),
        };
        if mul {
            OpKind::FpMul { ebits, mbits }
        } else {
            OpKind::FpAdd { ebits, mbits }
        }
    }
}

/// The f32 scores of query row `i` of head `h` (masked: −∞), inputs as given.
pub fn scores_f32_row(x: &Qkv, h: usize, i: usize, out: &mut [f32]) {
    let (d, sc) = (x.shape.d, sm_scale(x.shape.d));
    let q = x.q_row(h, i);
    let k = x.k_head(h);
    let vis = x.shape.visible(i);
    for (j, s) in out.iter_mut().enumerate() {
        *s = if j < vis {
            dot_fma(q, &k[j * d..(j + 1) * d]) * sc
        } else {
            f32::NEG_INFINITY
        };
    }
}

fn f32_scores(x: &Qkv) -> Vec<f64> {
    per_score_row(x.shape, |h, i, o| {
        let mut s = vec![0.0f32; x.shape.nk];
        scores_f32_row(x, h, i, &mut s);
        for (a, b) in o.iter_mut().zip(&s) {
            *a = *b as f64;
        }
    })
}

/// `attention/f64`: the reference.
pub struct F64Reference;

impl F64Reference {
    /// Query row `i` of head `h`'s scores in f64 (masked −∞).
    pub fn scores_row(x: &Qkv, h: usize, i: usize, out: &mut [f64]) {
        let d = x.shape.d;
        let sc = 1.0 / (d as f64).sqrt();
        let q = x.q_row(h, i);
        let k = x.k_head(h);
        let vis = x.shape.visible(i);
        for (j, s) in out.iter_mut().enumerate() {
            *s = if j < vis {
                let kj = &k[j * d..(j + 1) * d];
                let mut a = 0.0f64;
                for (p, q) in q.iter().zip(kj) {
                    a += *p as f64 * *q as f64;
                }
                a * sc
            } else {
                f64::NEG_INFINITY
            };
        }
    }
}

impl AttentionVariant for F64Reference {
    fn info(&self) -> AttentionInfo {
        AttentionInfo {
            name: "attention/f64",
            description: "reference: softmax(QKᵀ/√d)V in f64 (products exact, sums in key/channel order, f64 exp)",
            qk_desc: "f64",
            pv_desc: "f64",
            accumulator: "f64",
            q: Storage::plain(64),
            k: Storage::plain(64),
            v: Storage::plain(64),
            o_bits: 64,
            schedule: Schedule::Standard,
            ops: Ops {
                qk_mul: OpKind::F64_MUL,
                qk_add: OpKind::F64_ADD,
                pv_mul: OpKind::F64_MUL,
                pv_add: OpKind::F64_ADD,
                softmax: Softmax::F64,
            },
        }
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        let (d, nk) = (x.shape.d, x.shape.nk);
        per_row(x.shape, |h, i, o| {
            let mut s = vec![0.0f64; nk];
            Self::scores_row(x, h, i, &mut s);
            let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let mut l = 0.0;
            for v in s.iter_mut() {
                *v = (*v - m).exp();
                l += *v;
            }
            let vh = x.v_head(h);
            for (j, p) in s.iter().enumerate() {
                if *p == 0.0 {
                    continue;
                }
                let p = p / l;
                for (c, oc) in o.iter_mut().enumerate() {
                    *oc += p * vh[j * d + c] as f64;
                }
            }
        })
    }

    fn scores(&self, x: &Qkv) -> Vec<f64> {
        per_score_row(x.shape, |h, i, o| Self::scores_row(x, h, i, o))
    }
}

/// `attention/f32`: naive f32 attention, S and P materialised.
pub struct NaiveF32;

impl AttentionVariant for NaiveF32 {
    fn info(&self) -> AttentionInfo {
        AttentionInfo {
            name: "attention/f32",
            description: "naive f32: S = QKᵀ·(1/√d) by FMA dots, P = exp(S − max)/Σ materialised, O = PV by FMA in key order",
            qk_desc: "f32",
            pv_desc: "f32",
            accumulator: "f32 (FMA)",
            q: Storage::plain(32),
            k: Storage::plain(32),
            v: Storage::plain(32),
            o_bits: 32,
            schedule: Schedule::Standard,
            ops: f32_ops(Input::F32),
        }
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        let (d, nk) = (x.shape.d, x.shape.nk);
        per_row(x.shape, |h, i, o| {
            let mut s = vec![0.0f32; nk];
            scores_f32_row(x, h, i, &mut s);
            let m = s.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let mut l = 0.0f32;
            for v in s.iter_mut() {
                *v = exp_f32(*v - m);
                l += *v;
            }
            let vh = x.v_head(h);
            let mut acc = vec![0.0f32; d];
            for (j, p) in s.iter().enumerate().take(x.shape.visible(i)) {
                let p = p / l;
                for (c, a) in acc.iter_mut().enumerate() {
                    *a = p.mul_add(vh[j * d + c], *a);
                }
            }
            for (a, b) in o.iter_mut().zip(&acc) {
                *a = *b as f64;
            }
        })
    }

    fn scores(&self, x: &Qkv) -> Vec<f64> {
        f32_scores(x)
    }

    /// [`crate::kernels::attention::attention_f32`], naive.
    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        Some(Box::new(NativeF32 {
            input: Input::F32,
            method: Method::Naive,
        }))
    }
}

fn f32_ops(input: Input) -> Ops {
    Ops {
        qk_mul: input.op(true),
        qk_add: OpKind::F32_ADD,
        pv_mul: input.op(true),
        pv_add: OpKind::F32_ADD,
        softmax: Softmax::F32,
    }
}

/// The running state of one row's online softmax.
#[derive(Debug, Clone)]
pub struct RowState {
    /// Running max m.
    pub m: f32,
    /// Running sum ℓ.
    pub l: f32,
    /// Accumulator (d values).
    pub acc: Vec<f32>,
}

/// FlashAttention's online softmax over keys `[j0, j1)` of one row, in
/// tiles of `b_c` keys (module docs), from `st`. `s` holds the row's scores
/// (index = key); `round_p` rounds p before its PV product.
pub fn flash_row(
    s: &[f32],
    v: &[f32],
    d: usize,
    (j0, j1): (usize, usize),
    b_c: usize,
    round_p: Input,
    st: &mut RowState,
) {
    online_softmax_tiles(s, (j0, j1), b_c, st, |t0, p, acc| {
        for (jj, pj) in p.iter().enumerate() {
            let pj = round_p.round(*pj);
            let vr = &v[(t0 + jj) * d..(t0 + jj + 1) * d];
            for (a, vc) in acc.iter_mut().zip(vr) {
                *a = pj.mul_add(*vc, *a);
            }
        }
    });
}

/// The online softmax's tile walk shared by every flash-style emulation:
/// for each tile of `b_c` keys in `[j0, j1)`, the tile max, the rescale
/// factor α = exp(m − m_new), the exponentials `p_j = exp(s_j − m_new)`
/// summed in key order, ℓ = ℓ·α + Σp and the accumulator scaled by α; then
/// `pv(t0, p, acc)` adds the tile's P·V (first key `t0`, the tile's f32
/// exponentials) in whatever arithmetic the variant models. Tiles whose
/// keys are all masked (max −∞ so far) are skipped.
pub fn online_softmax_tiles(
    s: &[f32],
    (j0, j1): (usize, usize),
    b_c: usize,
    st: &mut RowState,
    mut pv: impl FnMut(usize, &[f32], &mut [f32]),
) {
    let mut t0 = j0;
    let mut p = vec![0.0f32; b_c];
    while t0 < j1 {
        let t1 = (t0 + b_c).min(j1);
        let tile = &s[t0..t1];
        let mb = tile.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let m_new = st.m.max(mb);
        if m_new == f32::NEG_INFINITY {
            t0 = t1;
            continue;
        }
        let alpha = exp_f32(st.m - m_new);
        let mut r = 0.0f32;
        for (pj, sj) in p.iter_mut().zip(tile) {
            *pj = exp_f32(sj - m_new);
            r += *pj;
        }
        st.l = st.l * alpha + r;
        for a in st.acc.iter_mut() {
            *a *= alpha;
        }
        pv(t0, &p[..t1 - t0], &mut st.acc);
        st.m = m_new;
        t0 = t1;
    }
}

/// `attention/flash-*`: FlashAttention tiled online softmax.
pub struct Flash {
    /// Registry name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Element type of Q, K, V (and of p in the PV product).
    pub input: Input,
    /// Keys per tile.
    pub b_c: usize,
    /// Query rows per tile (I/O only).
    pub b_r: usize,
}

impl AttentionVariant for Flash {
    fn info(&self) -> AttentionInfo {
        let (qk, pv) = match self.input {
            Input::F32 => ("f32", "f32"),
            Input::Bf16 => ("bf16 (RNE)", "P bf16 (RNE), V bf16"),
            Input::Fp16 => ("fp16 (RNE)", "P fp16, V fp16"),
        };
        let b = self.input.bits();
        AttentionInfo {
            name: self.name,
            description: self.description,
            qk_desc: qk,
            pv_desc: pv,
            accumulator: "f32 (FMA), online softmax in f32",
            q: Storage::plain(b),
            k: Storage::plain(b),
            v: Storage::plain(b),
            o_bits: b,
            schedule: Schedule::Flash {
                b_c: self.b_c,
                b_r: self.b_r,
            },
            ops: f32_ops(self.input),
        }
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        let x = self.input.qkv(x);
        let (d, nk) = (x.shape.d, x.shape.nk);
        per_row(x.shape, |h, i, o| {
            let mut s = vec![0.0f32; nk];
            scores_f32_row(&x, h, i, &mut s);
            let mut st = RowState {
                m: f32::NEG_INFINITY,
                l: 0.0,
                acc: vec![0.0; d],
            };
            let vis = x.shape.visible(i);
            flash_row(&s, x.v_head(h), d, (0, vis), self.b_c, self.input, &mut st);
            for (a, b) in o.iter_mut().zip(&st.acc) {
                *a = self.input.round(b / st.l) as f64;
            }
        })
    }

    fn scores(&self, x: &Qkv) -> Vec<f64> {
        f32_scores(&self.input.qkv(x))
    }

    /// f32 and bf16 inputs: [`crate::kernels::attention::attention_f32`].
    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        let round = match self.input {
            Input::F32 => Round::F32,
            Input::Bf16 => Round::Bf16,
            Input::Fp16 => return None,
        };
        Some(Box::new(NativeF32 {
            input: self.input,
            method: Method::Flash {
                b_c: self.b_c,
                round,
            },
        }))
    }
}

/// The native kernel of the f32-score variants (`attention/f32`,
/// `attention/flash-f32`, `attention/flash-bf16`, `attention/split-kv`):
/// inputs rounded as the emulation rounds them, then the kernel.
pub struct NativeF32 {
    /// The inputs' rounding.
    pub input: Input,
    /// What the kernel computes.
    pub method: Method,
}

impl NativeAttention for NativeF32 {
    fn run_at(&self, x: &Qkv, level: crate::isa::IsaLevel) -> Vec<f64> {
        // f32 inputs go in as they are (no copy of a long KV cache).
        let rounded;
        let x = if self.input == Input::F32 {
            x
        } else {
            rounded = self.input.qkv(x);
            &rounded
        };
        attention_f32(&x.q, &x.k, &x.v, dims(x), self.method, level)
    }

    /// AVX-512 for row-major K (decode, few queries); prefill runs AVX2.
    fn top_isa(&self) -> crate::isa::IsaLevel {
        crate::isa::IsaLevel::Avx512
    }
}

/// The kernels' view of a shape.
pub fn dims(x: &Qkv) -> Dims {
    let s = x.shape;
    Dims {
        heads: s.heads,
        nq: s.nq,
        nk: s.nk,
        d: s.d,
        causal: s.causal,
    }
}

/// `attention/split-kv`: decode split across `splits` KV chunks, each a
/// flash pass, merged by log-sum-exp in chunk order:
/// `M = max m_s; w_s = exp(m_s − M); ℓ = Σ ℓ_s·w_s; o_c = (Σ a_sc·w_s) / ℓ`
/// (sums from +0 in chunk order; empty chunks skipped). The chunk count is
/// fixed, so the thread count never changes a bit.
pub struct SplitKv {
    /// KV chunks (contiguous, ⌈nk/splits⌉ keys each).
    pub splits: usize,
    /// Keys per tile inside a chunk.
    pub b_c: usize,
}

impl AttentionVariant for SplitKv {
    fn info(&self) -> AttentionInfo {
        AttentionInfo {
            name: "attention/split-kv",
            description: "flash-decoding: KV split into 4 chunks, each tiled online softmax (f32), merged by log-sum-exp",
            qk_desc: "f32",
            pv_desc: "f32",
            accumulator: "f32 (FMA) per chunk, log-sum-exp merge",
            q: Storage::plain(32),
            k: Storage::plain(32),
            v: Storage::plain(32),
            o_bits: 32,
            schedule: Schedule::SplitKv {
                splits: self.splits,
                b_c: self.b_c,
            },
            ops: f32_ops(Input::F32),
        }
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        let (d, nk) = (x.shape.d, x.shape.nk);
        let chunk = nk.div_ceil(self.splits.max(1));
        per_row(x.shape, |h, i, o| {
            let mut s = vec![0.0f32; nk];
            scores_f32_row(x, h, i, &mut s);
            let vis = x.shape.visible(i);
            let mut parts = Vec::new();
            for c0 in (0..vis).step_by(chunk) {
                let mut st = RowState {
                    m: f32::NEG_INFINITY,
                    l: 0.0,
                    acc: vec![0.0; d],
                };
                flash_row(
                    &s,
                    x.v_head(h),
                    d,
                    (c0, (c0 + chunk).min(vis)),
                    self.b_c,
                    Input::F32,
                    &mut st,
                );
                if st.m != f32::NEG_INFINITY {
                    parts.push(st);
                }
            }
            let m = parts.iter().map(|p| p.m).fold(f32::NEG_INFINITY, f32::max);
            let mut l = 0.0f32;
            let mut acc = vec![0.0f32; d];
            for p in &parts {
                let w = exp_f32(p.m - m);
                l = p.l.mul_add(w, l);
                for (a, b) in acc.iter_mut().zip(&p.acc) {
                    *a = b.mul_add(w, *a);
                }
            }
            for (a, b) in o.iter_mut().zip(&acc) {
                *a = (b / l) as f64;
            }
        })
    }

    fn scores(&self, x: &Qkv) -> Vec<f64> {
        f32_scores(x)
    }

    /// [`crate::kernels::attention::attention_f32`], split-KV (chunks in parallel).
    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        Some(Box::new(NativeF32 {
            input: Input::F32,
            method: Method::SplitKv {
                splits: self.splits,
                b_c: self.b_c,
            },
        }))
    }
}

/// `attention/flash-fp16acc`: ggml's CPU `flash_attn_ext` (`one_chunk`)
/// with F16 K and V: per key in order, `s = dot_fma(q16, k16)·sc`; if
/// `s > M`: `ms = exp(M − s)`, `M = s`, the FP16 accumulator is scaled
/// (`a = f16(a·ms)`), `vs = 1`; else `vs = exp(s − M)`; then
/// `a_c = f16(fma(v_c, vs, a_c))` and `S = S·ms + vs` (f32). Output
/// `f32(a_c) / S`. Q is rounded to fp16 as ggml converts it to K's type.
pub struct Fp16Acc;

impl AttentionVariant for Fp16Acc {
    fn info(&self) -> AttentionInfo {
        AttentionInfo {
            name: "attention/flash-fp16acc",
            description: "ggml CPU flash_attn_ext with F16 K/V: per-key online softmax, V accumulated in an FP16 vector (VKQ16)",
            qk_desc: "fp16 (RNE), f32 dot",
            pv_desc: "V fp16, weight f32",
            accumulator: "fp16 V accumulator, f32 sum",
            q: Storage::plain(16),
            k: Storage::plain(16),
            v: Storage::plain(16),
            o_bits: 32,
            schedule: Schedule::Flash { b_c: 1, b_r: 1 },
            ops: Ops {
                qk_mul: OpKind::FpMul { ebits: 5, mbits: 10 },
                qk_add: OpKind::F32_ADD,
                pv_mul: OpKind::FpMul { ebits: 5, mbits: 10 },
                pv_add: OpKind::FpAdd { ebits: 5, mbits: 10 },
                softmax: Softmax::F32,
            },
        }
    }

    fn emulate(&self, x: &Qkv) -> Vec<f64> {
        let x = Input::Fp16.qkv(x);
        let (d, nk) = (x.shape.d, x.shape.nk);
        let h16 = |v: f32| f16::from_f32(v).to_f32();
        per_row(x.shape, |h, i, o| {
            let mut s = vec![0.0f32; nk];
            scores_f32_row(&x, h, i, &mut s);
            let vh = x.v_head(h);
            let (mut m, mut sum) = (f32::NEG_INFINITY, 0.0f32);
            let mut acc = vec![0.0f32; d];
            for (j, &sj) in s.iter().enumerate().take(x.shape.visible(i)) {
                let (mut ms, mut vs) = (1.0f32, 1.0f32);
                if sj > m {
                    ms = exp_f32(m - sj);
                    m = sj;
                    for a in acc.iter_mut() {
                        *a = h16(*a * ms);
                    }
                } else {
                    vs = exp_f32(sj - m);
                }
                for (a, vc) in acc.iter_mut().zip(&vh[j * d..(j + 1) * d]) {
                    *a = h16(vc.mul_add(vs, *a));
                }
                sum = sum * ms + vs;
            }
            for (a, b) in o.iter_mut().zip(&acc) {
                *a = (b / sum) as f64;
            }
        })
    }

    fn scores(&self, x: &Qkv) -> Vec<f64> {
        f32_scores(&Input::Fp16.qkv(x))
    }

    /// [`crate::kernels::attention::flash_fp16acc`].
    fn native(&self) -> Option<Box<dyn NativeAttention>> {
        Some(Box::new(NativeFp16Acc))
    }
}

/// The native kernel of `attention/flash-fp16acc`: Q, K, V go in as given
/// (the kernel rounds them to fp16 as the emulation does).
pub struct NativeFp16Acc;

impl NativeAttention for NativeFp16Acc {
    fn run_at(&self, x: &Qkv, level: crate::isa::IsaLevel) -> Vec<f64> {
        flash_fp16acc(&x.q, &x.k, &x.v, dims(x), level)
    }

    fn top_isa(&self) -> crate::isa::IsaLevel {
        crate::isa::IsaLevel::Avx512
    }
}

/// The variants of this file, in display order.
pub fn all() -> Vec<Box<dyn AttentionVariant>> {
    vec![
        Box::new(F64Reference),
        Box::new(NaiveF32),
        Box::new(Flash {
            name: "attention/flash-f32",
            description: "FlashAttention tiled online softmax in f32 (64×64 Q×KV tiles, ggml tiled / FA-2 loop order)",
            input: Input::F32,
            b_c: 64,
            b_r: 64,
        }),
        Box::new(Flash {
            name: "attention/flash-bf16",
            description: "FlashAttention-2 with bf16 Q/K/V: f32 scores and softmax, P cast to bf16 for PV, f32 accumulator",
            input: Input::Bf16,
            b_c: 64,
            b_r: 64,
        }),
        Box::new(Fp16Acc),
        Box::new(SplitKv { splits: 4, b_c: 64 }),
    ]
}

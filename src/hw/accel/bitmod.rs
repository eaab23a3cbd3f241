//! The BitMoD accelerator model, as the BitMoD simulator computes it
//! (`bitmod_sim/accelerator.py` and `pe_array.py` of the BitMoD repository).
//!
//! For a linear layer with `K` input and `N` output features on `T` tokens,
//! an `R × C` array of PEs with dot-product width `dp`:
//!
//! ```text
//! latency  = ceil(floor(w_bits) / bits_per_cycle)   bit-serial PEs (BitMoD: 2 bits per cycle)
//!          = 1                                      bit-parallel PEs
//! compute  = ceil(K / dp) · ceil(N / R) · ceil(T / C) · latency
//! W bytes  = ceil(K · w_bits / 8) · N
//! A bytes  = ceil(K · a_bits / 8) · T      O bytes = ceil(N · a_bits / 8) · T
//! DRAM     = floor((W·f_w + A·f_i + O) · 8 / (bus_bits · transfers_per_cycle))
//! cycles   = max(compute, DRAM)                     (compute and DRAM overlap)
//! ```
//!
//! Refetch factors `f_w`, `f_i` (both 1 unless W and A each exceed their
//! buffer): with `r_w = ceil(A / input buffer)` and `r_i = ceil(W / weight
//! buffer)`, refetch all weights `r_w` times if `r_w·W + A < r_i·A + W`, else
//! all inputs `r_i` times.
//!
//! Energy: compute = `pe_pj · place_route_scaling · R · C · compute`
//! (every PE of the array is charged every compute cycle); DRAM =
//! `bytes moved · 8 / 64 · dram_pj_per_64_bits`. SRAM energy is not modelled
//! (the BitMoD simulator takes it from CACTI).
//!
//! Utilisation is the fraction of the array's peak used over the layer's
//! time: `MACs · latency / (R · C · dp · cycles)`.
//!
//! Cycle counts are `u64` and computed with checked arithmetic: a layer
//! (or a model's total) whose cycles do not fit is an [`Overflow`] naming
//! the layer and the quantity, never a wrapped number.

use serde::{Deserialize, Serialize};

/// Prefill (all prompt tokens at once) or decode (one step per token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Prompt processing.
    Prefill,
    /// Token generation.
    Decode,
}

impl Phase {
    /// Both phases.
    pub const ALL: [Phase; 2] = [Phase::Prefill, Phase::Decode];

    /// `prefill` or `decode`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Prefill => "prefill",
            Phase::Decode => "decode",
        }
    }
}

/// One accelerator design (a PE type and its array).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Design {
    /// Name (`bitmod`, `fp16`, …).
    pub name: String,
    /// What it models.
    pub description: String,
    /// Bit-serial weights (latency `ceil(floor(w_bits)/bits_per_cycle)`) or bit-parallel (1).
    pub bit_serial: bool,
    /// Dot-product width of a PE.
    pub dp: u64,
    /// Weight bits a bit-serial PE consumes per cycle.
    pub bits_per_cycle: u64,
    /// Weight bits per element in prefill, metadata included (may be fractional).
    pub w_bits_prefill: f64,
    /// Weight bits per element in decode.
    pub w_bits_decode: f64,
    /// Activation (and output) bits per element.
    pub a_bits: f64,
    /// Array `[rows R, columns C]` in prefill.
    pub prefill_array: [u64; 2],
    /// Array in decode.
    pub decode_array: [u64; 2],
    /// PE energy per cycle before place-and-route scaling, pJ.
    pub pe_pj: f64,
    /// Where `pe_pj` comes from.
    pub source: String,
}

impl Design {
    /// Weight bits in `phase`.
    pub fn w_bits(&self, phase: Phase) -> f64 {
        match phase {
            Phase::Prefill => self.w_bits_prefill,
            Phase::Decode => self.w_bits_decode,
        }
    }

    /// The array `[R, C]` in `phase`.
    pub fn array(&self, phase: Phase) -> [u64; 2] {
        match phase {
            Phase::Prefill => self.prefill_array,
            Phase::Decode => self.decode_array,
        }
    }

    /// Cycles a PE spends per lane load in `phase`.
    pub fn latency(&self, phase: Phase) -> u64 {
        if self.bit_serial {
            (self.w_bits(phase).floor() as u64).div_ceil(self.bits_per_cycle.max(1))
        } else {
            1
        }
    }
}

/// The memory system shared by every design of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// DRAM bus width, bits.
    pub dram_bus_bits: u64,
    /// DRAM transfers per cycle (2: double data rate).
    pub dram_transfers_per_cycle: u64,
    /// DRAM energy per 64 bits moved, pJ.
    pub dram_pj_per_64_bits: f64,
    /// Weight buffer, bytes.
    pub w_sram_bytes: u64,
    /// Input buffer, bytes.
    pub i_sram_bytes: u64,
    /// Factor on PE energy for place-and-route.
    pub place_route_scaling: f64,
    /// Where these numbers come from.
    pub source: String,
}

/// A linear layer of a model, repeated `repeat` times (once per block).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// Name (`q_proj`, …).
    pub name: String,
    /// Input features.
    pub k: u64,
    /// Output features.
    pub n: u64,
    /// How many times the model has it.
    pub repeat: u64,
}

/// A model: its linear layers and token counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Name (`llama-2-7b`).
    pub name: String,
    /// What it is, with a source.
    pub description: String,
    /// Tokens in prefill (context length × batch).
    pub prefill_tokens: u64,
    /// Tokens per decode step (batch).
    pub decode_tokens: u64,
    /// Linear layers, in order.
    pub layers: Vec<Layer>,
}

impl Model {
    /// Tokens of `phase`.
    pub fn tokens(&self, phase: Phase) -> u64 {
        match phase {
            Phase::Prefill => self.prefill_tokens,
            Phase::Decode => self.decode_tokens,
        }
    }
}

/// One layer's result (all `repeat` copies together).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerResult {
    /// Layer name.
    pub layer: String,
    /// Copies counted.
    pub repeat: u64,
    /// Multiply-accumulates.
    pub macs: f64,
    /// Compute cycles.
    pub compute_cycles: u64,
    /// DRAM cycles.
    pub dram_cycles: u64,
    /// `max(compute, DRAM)`.
    pub cycles: u64,
    /// Fraction of peak MAC throughput over `cycles`.
    pub utilisation: f64,
    /// DRAM bytes moved (refetches included).
    pub dram_bytes: f64,
    /// Compute energy, pJ.
    pub compute_pj: f64,
    /// DRAM energy, pJ.
    pub dram_pj: f64,
}

/// Sums over layers.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Multiply-accumulates.
    pub macs: f64,
    /// Compute cycles.
    pub compute_cycles: u64,
    /// DRAM cycles.
    pub dram_cycles: u64,
    /// Σ max(compute, DRAM) per layer.
    pub cycles: u64,
    /// Compute energy, pJ.
    pub compute_pj: f64,
    /// DRAM energy, pJ.
    pub dram_pj: f64,
}

/// A cycle count that does not fit in `u64`: the layer and what overflowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overflow {
    /// Layer name.
    pub layer: String,
    /// The quantity (`compute cycles`, `DRAM cycles`, `total cycles`, …).
    pub what: &'static str,
}

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "layer '{}': {} overflows u64 (make the layer, its repeat or the token count smaller)",
            self.layer, self.what
        )
    }
}

/// `a · b`, or an [`Overflow`] of `what` in `layer`.
fn mul(a: u64, b: u64, layer: &str, what: &'static str) -> Result<u64, Overflow> {
    a.checked_mul(b).ok_or_else(|| Overflow {
        layer: layer.to_string(),
        what,
    })
}

impl Totals {
    /// Adds a layer; a sum past `u64` is an [`Overflow`] naming the layer
    /// that pushed it over.
    pub fn add(&mut self, r: &LayerResult) -> Result<(), Overflow> {
        let over = |what| Overflow {
            layer: r.layer.clone(),
            what,
        };
        self.compute_cycles = (self.compute_cycles)
            .checked_add(r.compute_cycles)
            .ok_or_else(|| over("the model's total compute cycles"))?;
        self.dram_cycles = (self.dram_cycles)
            .checked_add(r.dram_cycles)
            .ok_or_else(|| over("the model's total DRAM cycles"))?;
        self.cycles = (self.cycles)
            .checked_add(r.cycles)
            .ok_or_else(|| over("the model's total cycles"))?;
        self.macs += r.macs;
        self.compute_pj += r.compute_pj;
        self.dram_pj += r.dram_pj;
        Ok(())
    }

    /// Compute + DRAM energy, pJ.
    pub fn energy_pj(&self) -> f64 {
        self.compute_pj + self.dram_pj
    }
}

/// Compute cycles of one copy of a `K × N` layer on `tokens` tokens;
/// `None` if they do not fit in `u64`.
pub fn compute_cycles(d: &Design, phase: Phase, k: u64, n: u64, tokens: u64) -> Option<u64> {
    let [r, c] = d.array(phase);
    k.div_ceil(d.dp.max(1))
        .checked_mul(n.div_ceil(r.max(1)))?
        .checked_mul(tokens.div_ceil(c.max(1)))?
        .checked_mul(d.latency(phase))
}

/// `ceil(elems · bits / 8)` bytes.
fn bytes(elems: u64, bits: f64) -> f64 {
    (elems as f64 * bits / 8.0).ceil()
}

/// DRAM traffic of one copy: `(weights, inputs, outputs)` bytes and the
/// refetch factors `(f_w, f_i)`.
pub fn dram_traffic(
    d: &Design,
    mem: &Memory,
    phase: Phase,
    k: u64,
    n: u64,
    tokens: u64,
) -> ((f64, f64, f64), (f64, f64)) {
    let w = bytes(k, d.w_bits(phase)) * n as f64;
    let i = bytes(k, d.a_bits) * tokens as f64;
    let o = bytes(n, d.a_bits) * tokens as f64;
    let (ws, is) = (mem.w_sram_bytes as f64, mem.i_sram_bytes as f64);
    let fetch = if w > ws && i > is {
        let refetch_inputs = (w / ws).ceil();
        let refetch_weights = (i / is).ceil();
        if refetch_weights * w + i < refetch_inputs * i + w {
            (refetch_weights, 1.0)
        } else {
            (1.0, refetch_inputs)
        }
    } else {
        (1.0, 1.0)
    };
    ((w, i, o), fetch)
}

/// Simulates all copies of one layer; cycles past `u64` are an [`Overflow`].
pub fn simulate_layer(
    d: &Design,
    mem: &Memory,
    phase: Phase,
    l: &Layer,
    tokens: u64,
) -> Result<LayerResult, Overflow> {
    let name = l.name.as_str();
    let compute = compute_cycles(d, phase, l.k, l.n, tokens).ok_or_else(|| Overflow {
        layer: name.to_string(),
        what: "compute cycles",
    })?;
    let ((w, i, o), (fw, fi)) = dram_traffic(d, mem, phase, l.k, l.n, tokens);
    let moved = w * fw + i * fi + o;
    // Bus width and transfers are each positive u64s: their product in f64
    // cannot overflow, and a float cast to u64 saturates silently, so the
    // bound is checked before the cast.
    let bw = (mem.dram_bus_bits as f64 * mem.dram_transfers_per_cycle as f64).max(1.0);
    let dram_f = (w * 8.0 / bw * fw + o * 8.0 / bw + i * 8.0 / bw * fi).floor();
    if dram_f.is_nan() || dram_f >= u64::MAX as f64 {
        return Err(Overflow {
            layer: name.to_string(),
            what: "DRAM cycles",
        });
    }
    let dram = dram_f as u64;
    let cycles = compute.max(dram);
    let [r, c] = d.array(phase);
    let macs = l.k as f64 * l.n as f64 * tokens as f64;
    let peak = r as f64 * c as f64 * d.dp as f64 / d.latency(phase) as f64;
    let rep = l.repeat;
    Ok(LayerResult {
        layer: l.name.clone(),
        repeat: rep,
        macs: macs * rep as f64,
        compute_cycles: mul(compute, rep, name, "compute cycles × repeat")?,
        dram_cycles: mul(dram, rep, name, "DRAM cycles × repeat")?,
        cycles: mul(cycles, rep, name, "cycles × repeat")?,
        utilisation: if cycles == 0 {
            0.0
        } else {
            macs / (peak * cycles as f64)
        },
        dram_bytes: moved * rep as f64,
        compute_pj: d.pe_pj
            * mem.place_route_scaling
            * (r as f64 * c as f64)
            * (compute as f64 * rep as f64),
        dram_pj: moved * rep as f64 * 8.0 / 64.0 * mem.dram_pj_per_64_bits,
    })
}

/// Simulates every layer of `model` in `phase`: per-layer results and
/// totals, or the first [`Overflow`].
pub fn simulate(
    d: &Design,
    mem: &Memory,
    model: &Model,
    phase: Phase,
) -> Result<(Vec<LayerResult>, Totals), Overflow> {
    let tokens = model.tokens(phase);
    let rows = model
        .layers
        .iter()
        .map(|l| simulate_layer(d, mem, phase, l, tokens))
        .collect::<Result<Vec<_>, _>>()?;
    let mut t = Totals::default();
    for r in &rows {
        t.add(r)?;
    }
    Ok((rows, t))
}

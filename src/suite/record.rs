//! Tidy result records: one [`Measurement`] per (cell, metric, repetition),
//! plus the run's [`RunMeta`]. The report and `bitsim compare` read only these.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The metric table: every metric's name, unit, direction, kind (timing or
/// deterministic) and report column, shared by the runner, the report and
/// `compare`. A new metric is one constant and one [`metric::Metric`] row.
pub mod metric {
    /// ‖approx − ref‖_F / ‖ref‖_F of the matmul output.
    pub const REL_FRO_ERROR: &str = "rel_fro_error";
    /// Signal-to-quantization-noise ratio of the output, dB.
    pub const SQNR_DB: &str = "sqnr_db";
    /// Cosine similarity of the output with the reference.
    pub const COSINE: &str = "cosine";
    /// Largest absolute output error.
    pub const MAX_ABS_ERROR: &str = "max_abs_error";
    /// Mean absolute output error.
    pub const MEAN_ABS_ERROR: &str = "mean_abs_error";
    /// Mean squared error of the quantized weights.
    pub const WEIGHT_MSE: &str = "weight_mse";
    /// SQNR of the quantized weights, dB.
    pub const WEIGHT_SQNR_DB: &str = "weight_sqnr_db";
    /// Storage bits per weight including scale overhead.
    pub const BITS_PER_WEIGHT: &str = "bits_per_weight";
    /// Energy per multiply-accumulate, pJ (compute + SRAM + DRAM).
    pub const ENERGY_PJ_PER_MAC: &str = "energy_pj_per_mac";
    /// Total energy of the matmul, pJ.
    pub const ENERGY_TOTAL_PJ: &str = "energy_total_pj";
    /// Compute part of the energy, pJ.
    pub const ENERGY_COMPUTE_PJ: &str = "energy_compute_pj";
    /// SRAM part of the energy, pJ.
    pub const ENERGY_SRAM_PJ: &str = "energy_sram_pj";
    /// DRAM part of the energy, pJ.
    pub const ENERGY_DRAM_PJ: &str = "energy_dram_pj";
    /// Attention: mean over query rows of KL(reference ‖ variant) of the probabilities.
    pub const KL_MEAN: &str = "kl_mean";
    /// Attention: the worst query row's KL of the probabilities.
    pub const KL_MAX: &str = "kl_max";
    /// Attention: mean over query rows of the probabilities' total variation.
    pub const TV_MEAN: &str = "tv_mean";
    /// Attention: the worst query row's total variation.
    pub const TV_MAX: &str = "tv_max";
    /// Attention: storage bits per cached K and V element, scales included.
    pub const BITS_PER_KV: &str = "bits_per_kv";
    /// Attention: slow-memory (DRAM) bytes of the variant's I/O closed form.
    pub const SLOW_MEMORY_BYTES: &str = "slow_memory_bytes";
    /// Emulation speed, multiply-accumulates per second (one row per repetition).
    pub const EMULATION_MAC_PER_S: &str = "emulation_mac_per_s";
    /// Native kernel speed, G ops/s (2 ops per MAC; one row per repetition).
    pub const NATIVE_GOPS: &str = "native_gops";
    /// Native kernel speed as a fraction of the ceiling measured in the same
    /// run (GEMV: a read loop over the packed weights' bytes; GEMM: the peak
    /// of the kernel's base instruction; one row per repetition).
    pub const NATIVE_CEILING_FRACTION: &str = "native_ceiling_fraction";

    /// One metric of the table.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Metric {
        /// Name in the results (`sqnr_db`).
        pub name: &'static str,
        /// Unit in the results (`dB`, `pJ`, `MAC/s`, `bits`, or empty).
        pub unit: &'static str,
        /// Whether a higher value is better (for comparisons and the report's best marks).
        pub higher_is_better: bool,
        /// A timing (noisy, machine-dependent, several repetitions) rather than a deterministic result.
        pub timing: bool,
        /// Its column in the report's summary tables, if it has one.
        pub column: Option<Column>,
    }

    /// How the report shows a metric in its summary tables.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Column {
        /// Position among the columns (lowest first).
        pub rank: u8,
        /// Column header.
        pub header: &'static str,
        /// Multiplies the stored value for display (MAC/s → G MAC/s).
        pub scale: f64,
    }

    const fn m(name: &'static str, unit: &'static str, higher_is_better: bool) -> Metric {
        Metric {
            name,
            unit,
            higher_is_better,
            timing: false,
            column: None,
        }
    }

    const fn col(metric: Metric, rank: u8, header: &'static str, scale: f64) -> Metric {
        Metric {
            column: Some(Column {
                rank,
                header,
                scale,
            }),
            ..metric
        }
    }

    /// The deterministic metrics of every cell, in the order rows are written.
    pub const CELL_METRICS: &[Metric] = &[
        col(m(REL_FRO_ERROR, "", false), 1, "rel. error", 1.0),
        col(m(SQNR_DB, "dB", true), 2, "SQNR dB", 1.0),
        col(m(COSINE, "", true), 3, "cosine", 1.0),
        m(MAX_ABS_ERROR, "", false),
        m(MEAN_ABS_ERROR, "", false),
        m(WEIGHT_MSE, "", false),
        m(WEIGHT_SQNR_DB, "dB", true),
        col(m(BITS_PER_WEIGHT, "bits", false), 0, "bits / weight", 1.0),
        col(
            m(ENERGY_PJ_PER_MAC, "pJ/MAC", false),
            4,
            "energy pJ/MAC",
            1.0,
        ),
        m(ENERGY_TOTAL_PJ, "pJ", false),
        m(ENERGY_COMPUTE_PJ, "pJ", false),
        m(ENERGY_SRAM_PJ, "pJ", false),
        m(ENERGY_DRAM_PJ, "pJ", false),
    ];

    /// The deterministic metrics only attention cells have (after
    /// [`CELL_METRICS`] in row order).
    pub const ATTENTION_METRICS: &[Metric] = &[
        col(m(KL_MEAN, "nats", false), 8, "KL mean (nats)", 1.0),
        m(KL_MAX, "nats", false),
        m(TV_MEAN, "", false),
        m(TV_MAX, "", false),
        col(m(BITS_PER_KV, "bits", false), 9, "bits / K,V element", 1.0),
        m(SLOW_MEMORY_BYTES, "bytes", false),
    ];

    /// The metrics every attention cell writes, in row order: the output's
    /// accuracy and energy (named as for matmul cells; MACs are those of
    /// QKᵀ and PV), then [`ATTENTION_METRICS`]. The matmul cells' weight
    /// metrics have no attention counterpart.
    pub const ATTENTION_CELL: &[&str] = &[
        REL_FRO_ERROR,
        SQNR_DB,
        COSINE,
        MAX_ABS_ERROR,
        MEAN_ABS_ERROR,
        ENERGY_PJ_PER_MAC,
        ENERGY_TOTAL_PJ,
        ENERGY_COMPUTE_PJ,
        ENERGY_SRAM_PJ,
        ENERGY_DRAM_PJ,
        KL_MEAN,
        KL_MAX,
        TV_MEAN,
        TV_MAX,
        BITS_PER_KV,
        SLOW_MEMORY_BYTES,
    ];

    /// The timing metrics (measured per variant and shape, after the cells):
    /// the emulation's speed, then the native kernel's (variants with one).
    pub const TIMING_METRICS: &[Metric] = &[
        col(
            timing(m(EMULATION_MAC_PER_S, "MAC/s", true)),
            5,
            "emulation G MAC/s",
            1e-9,
        ),
        col(
            timing(m(NATIVE_GOPS, "GOP/s", true)),
            6,
            "native GOP/s",
            1.0,
        ),
        col(
            timing(m(NATIVE_CEILING_FRACTION, "", true)),
            7,
            "native % of ceiling",
            100.0,
        ),
    ];

    /// The native kernel's metrics (a subset of [`TIMING_METRICS`]).
    pub const NATIVE_METRICS: &[&str] = &[NATIVE_GOPS, NATIVE_CEILING_FRACTION];

    const fn timing(metric: Metric) -> Metric {
        Metric {
            timing: true,
            ..metric
        }
    }

    /// Every metric: the cell metrics in row order, the attention-only
    /// ones, then the timings.
    pub fn all() -> impl Iterator<Item = &'static Metric> {
        CELL_METRICS
            .iter()
            .chain(ATTENTION_METRICS)
            .chain(TIMING_METRICS)
    }

    /// The metric called `name`, if it is in the table.
    pub fn find(name: &str) -> Option<&'static Metric> {
        all().find(|m| m.name == name)
    }

    /// The metrics with a report column, in column order.
    pub fn columns() -> Vec<(&'static Metric, Column)> {
        let mut v: Vec<_> = all().filter_map(|m| m.column.map(|c| (m, c))).collect();
        v.sort_by_key(|(_, c)| c.rank);
        v
    }

    /// Whether higher is better for a metric (for comparisons); unknown metrics: lower is better.
    pub fn higher_is_better(name: &str) -> bool {
        find(name).is_some_and(|m| m.higher_is_better)
    }

    /// Whether a metric is a timing (noisy, machine-dependent) rather than a deterministic result.
    pub fn is_timing(name: &str) -> bool {
        find(name).is_some_and(|m| m.timing)
    }
}

/// One tidy result row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Suite name.
    pub suite: String,
    /// Variant name (`matmul/w8a8-int`).
    pub variant: String,
    /// Workload name.
    pub workload: String,
    /// Shape, `MxKxN`.
    pub shape: String,
    /// Metric name (see [`metric`]).
    pub metric: String,
    /// The value; in JSON, ±inf are written as the strings `"inf"` / `"-inf"` and NaN as `null`.
    #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
    pub value: f64,
    /// Unit (`dB`, `pJ`, `MAC/s`, `bits`, or empty).
    pub unit: String,
    /// Workload seed.
    pub seed: u64,
    /// Repetition index (timings have several; deterministic metrics use 0).
    pub rep: u32,
    /// bitsim version that produced the row.
    pub version: String,
    /// Git commit of the bitsim build, if known.
    pub commit: Option<String>,
}

impl Measurement {
    /// The cell this row belongs to: (variant, workload, shape, seed).
    pub fn cell_key(&self) -> (String, String, String, u64) {
        (
            self.variant.clone(),
            self.workload.clone(),
            self.shape.clone(),
            self.seed,
        )
    }
}

fn ser_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    // JSON has no inf or NaN: write them as strings (NaN as null) so they read back exactly.
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_none()
    } else if *v > 0.0 {
        s.serialize_str("inf")
    } else {
        s.serialize_str("-inf")
    }
}

fn de_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Num(f64),
        Text(String),
        Null(()),
    }
    match Option::<Value>::deserialize(d)? {
        Some(Value::Num(x)) => Ok(x),
        Some(Value::Text(t)) => match t.as_str() {
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            "nan" => Ok(f64::NAN),
            other => Err(serde::de::Error::custom(format!(
                "value '{other}' is not a number, inf, -inf or nan"
            ))),
        },
        Some(Value::Null(())) | None => Ok(f64::NAN),
    }
}

/// Facts about the run that produced a results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunMeta {
    /// Suite name.
    pub suite: String,
    /// bitsim version.
    pub version: String,
    /// Git commit, if known.
    pub commit: Option<String>,
    /// CPU model string.
    pub cpu_model: String,
    /// SIMD features detected at run time (`avx2`, `avx512f`, …).
    pub simd: Vec<String>,
    /// Worker threads.
    pub threads: usize,
    /// Start time, RFC 3339 UTC.
    pub date: String,
    /// Energy table used.
    pub energy_table: String,
    /// Energy-table numbers that were scaled rather than read (width or node scaling).
    pub energy_notes: Vec<String>,
    /// Description of every variant in the run.
    pub variants: Vec<VariantInfo>,
    /// Representable non-negative finite values of each element format in the run,
    /// for the number-line chart.
    pub number_lines: Vec<NumberLine>,
    /// Which shard of a sharded run this file holds (absent when unsharded or merged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// What the rows depend on besides their cell, part by part (see
    /// `suite::resume`): `--resume` refuses an earlier run whose parts differ.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
}

/// What the report shows about a variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct VariantInfo {
    /// Registry name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Weight format and scaling.
    pub weight_format: String,
    /// Activation format and scaling.
    pub act_format: String,
    /// Accumulator.
    pub accumulator: String,
    /// Element formats it uses (names in the format grammar), for the number lines.
    pub formats: Vec<String>,
}

/// The representable values of one element format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NumberLine {
    /// Format name.
    pub format: String,
    /// Non-negative finite values, ascending.
    pub values: Vec<f64>,
}

/// A results file: metadata plus rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Results {
    /// Run metadata.
    pub meta: RunMeta,
    /// Tidy rows.
    pub rows: Vec<Measurement>,
    /// Results of the suite's studies (absent from files of runs without any).
    #[serde(default, skip_serializing_if = "super::studies::Studies::is_empty")]
    pub studies: super::studies::Studies,
    /// What the format explorer's results hold beyond the rows (absent from `report` results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explore: Option<ExploreInfo>,
}

/// What a shard's results file records about the shard (absent from the
/// files of unsharded runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ShardInfo {
    /// What was sharded: `report` or `explore`.
    pub kind: String,
    /// This shard, 0-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
    /// Hash of the run's spec, version and commit: shards of one run agree.
    pub fingerprint: String,
    /// Whether the shard finished (an interrupted shard cannot be merged).
    pub complete: bool,
    /// The canonical order of variants (or configurations)…
    pub variants: Vec<String>,
    /// …of (workload, shape) cases (or tensors)…
    pub cases: Vec<(String, String)>,
    /// …and of seeds, which the merged rows are sorted in.
    pub seeds: Vec<u64>,
}

/// What the explorer's results hold beyond the rows (for the report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ExploreInfo {
    /// The tensors: (name, role, rows, cols).
    pub tensors: Vec<(String, String, usize, usize)>,
    /// The known formats: (label, configuration name).
    pub known: Vec<(String, String)>,
    /// The matmul check's activation configuration.
    pub partner: String,
    /// Configurations in the space.
    pub configs: usize,
    /// The `[explore.model]` scoring, when the run scored candidates on a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ExploreModelInfo>,
}

/// How the explorer's candidates were scored on a real model (`[explore.model]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ExploreModelInfo {
    /// The model folder as the spec writes it.
    pub model: String,
    /// Evaluation-set sentences embedded.
    pub sentences: usize,
    /// Scored pairs among them.
    pub pairs: usize,
    /// Retrieval queries among them (with their document).
    pub queries: usize,
    /// Retrieval documents among them.
    pub docs: usize,
    /// The front thinned to at most this many candidates (`None`: all of it).
    pub max_candidates: Option<usize>,
    /// Whether the known formats of the space were scored too.
    pub known: bool,
    /// The f32 model's Spearman correlation with the set's scores.
    pub reference_spearman_scores: Option<f64>,
    /// The f32 model's recall@1.
    pub reference_recall_at_1: Option<f64>,
}

//! The accumulator description and its string grammar.
//!
//! ```text
//! spec    := item ( ',' item )*            every item optional, each at most once
//! item    := 'acc=' acc | 'order=' order | 'product=' product | 'seed=' u64
//! acc     := FLOAT ( ':' ROUNDING | ':sat' )*      minifloat accumulator (default f32, rne)
//!          | 'int' BITS ( ':sat' | ':wrap' )?     two's-complement integer (default wrap)
//!          | 'exact' ( ':' FLOAT ( ':' ROUNDING )? )?   Kulisch: exact sum, rounded once (default f32, rne)
//! order   := 'seq' | 'sequential' | 'pairwise' | 'tree:' FAN_IN | 'chunk:' C
//! product := 'exact' | FLOAT ( ':' ROUNDING )?
//! ```
//!
//! `FLOAT` is a minifloat name of the format grammar without overrides
//! (`f32`, `fp16`, `bf16`, `e4m3`, `e8m13`, …); `ROUNDING` one of `rne`,
//! `rna`, `rtz`, `ru`, `rd`, `rto`, `sr`. Examples:
//! `acc=e8m13:rtz,order=chunk:128`, `acc=int16:sat`, `acc=exact`,
//! `acc=bf16,order=pairwise,product=bf16`. Defaults: `acc=f32`,
//! `order=seq`, `product=exact`, `seed=0` (the stochastic-rounding seed).

use crate::formats::{parse, ConvertOptions, ElementFormat, MiniFloat, Overflow, Rounding};

/// How each product enters the accumulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// The exact product (as f64).
    Exact,
    /// The product rounded once into a minifloat (its default overflow policy).
    Round {
        /// Product format.
        format: MiniFloat,
        /// Rounding mode.
        rounding: Rounding,
    },
}

/// What an integer accumulator does when a sum leaves its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOverflow {
    /// Clamp to the range after every add.
    Saturate,
    /// Two's-complement wrap-around (the sum modulo 2^bits).
    Wrap,
}

/// The register the products are summed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acc {
    /// A minifloat register: every add rounds the exact sum once.
    Float {
        /// Register format.
        format: MiniFloat,
        /// Rounding mode of every add.
        rounding: Rounding,
        /// Overflow to ±max instead of the format's default (inf or NaN).
        saturate: bool,
    },
    /// A signed two's-complement integer register of `bits` (2..=64).
    Int {
        /// Register width.
        bits: u32,
        /// Saturate or wrap.
        overflow: IntOverflow,
    },
    /// A Kulisch accumulator: the exact sum, rounded once into `format` at the end.
    Exact {
        /// Output format.
        format: MiniFloat,
        /// Rounding mode of the final rounding.
        rounding: Rounding,
    },
}

/// The order the products are added in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// One add per product, in index order, from +0.
    Sequential,
    /// A tree of adders: each level groups `fan_in` consecutive values
    /// (the last group may be shorter) and rounds their exact sum once into
    /// the accumulator; levels repeat until one value is left. Fan-in 2 is
    /// pairwise summation.
    Tree {
        /// Inputs per adder node, ≥ 2.
        fan_in: usize,
    },
    /// Sequential sums of `size` consecutive products in the accumulator,
    /// each then converted to f32 (RNE) and added into an f32 accumulator
    /// (RNE) from +0: the "promote every C" scheme.
    Chunk {
        /// Products per chunk, ≥ 1.
        size: usize,
    },
}

/// A complete accumulator description (see the module docs for its grammar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccumSpec {
    /// The accumulator register.
    pub acc: Acc,
    /// Summation order.
    pub order: Order,
    /// Product rounding.
    pub product: Product,
    /// Seed of stochastic rounding (`sr`), if used.
    pub seed: u64,
}

impl Default for AccumSpec {
    fn default() -> Self {
        AccumSpec {
            acc: Acc::Float {
                format: crate::formats::parse::F32,
                rounding: Rounding::Rne,
                saturate: false,
            },
            order: Order::Sequential,
            product: Product::Exact,
            seed: 0,
        }
    }
}

impl Acc {
    /// Conversion options of the float register or output (`None` for integers).
    pub fn convert_options(&self, seed: u64) -> Option<ConvertOptions> {
        match *self {
            Acc::Float {
                rounding, saturate, ..
            } => Some(ConvertOptions {
                rounding,
                overflow: saturate.then_some(Overflow::Saturate),
                seed,
                ..Default::default()
            }),
            Acc::Exact { rounding, .. } => Some(ConvertOptions {
                rounding,
                seed,
                ..Default::default()
            }),
            Acc::Int { .. } => None,
        }
    }
}

/// Parses one minifloat name (no format overrides: `:` separates options here).
fn float(name: &str, what: &str) -> Result<MiniFloat, String> {
    let bad = |why: String| Err(format!("{what}: {why}"));
    if name.is_empty() {
        return bad("a format name is needed".into());
    }
    match parse::parse_element(name) {
        Ok(ElementFormat::Float(f)) if f.signed && f.has_zero() => Ok(f),
        Ok(ElementFormat::Float(f)) => bad(format!("format {f} has no sign or no zero")),
        Ok(ElementFormat::Int(_)) => bad(format!("'{name}' is not a minifloat")),
        Err(e) => bad(e.to_string()),
    }
}

fn rounding(s: &str, what: &str) -> Result<Rounding, String> {
    s.parse::<Rounding>().map_err(|e| format!("{what}: {e}"))
}

fn parse_acc(v: &str) -> Result<Acc, String> {
    let what = format!("'acc={v}'");
    let mut parts = v.split(':').map(str::trim);
    let head = parts.next().unwrap_or("").to_ascii_lowercase();
    let rest: Vec<&str> = parts.collect();
    if head == "exact" {
        let format = match rest.first() {
            Some(f) => float(&f.to_ascii_lowercase(), &what)?,
            None => crate::formats::parse::F32,
        };
        let rounding = match rest.get(1) {
            Some(r) => rounding(r, &what)?,
            None => Rounding::Rne,
        };
        if rest.len() > 2 {
            return Err(format!(
                "{what}: too many parts (expected exact[:FORMAT[:ROUNDING]])"
            ));
        }
        return Ok(Acc::Exact { format, rounding });
    }
    if let Some(digits) = head.strip_prefix("int") {
        let bits: u32 = digits
            .parse()
            .map_err(|_| format!("{what}: '{head}' is not intN"))?;
        if !(2..=64).contains(&bits) {
            return Err(format!(
                "{what}: integer accumulator width must be 2..=64, got {bits}"
            ));
        }
        let overflow = match rest.as_slice() {
            [] => IntOverflow::Wrap,
            [o] if o.eq_ignore_ascii_case("sat") || o.eq_ignore_ascii_case("saturate") => {
                IntOverflow::Saturate
            }
            [o] if o.eq_ignore_ascii_case("wrap") => IntOverflow::Wrap,
            [o] => {
                return Err(format!(
                    "{what}: unknown integer option '{o}' (expected sat or wrap)"
                ))
            }
            _ => {
                return Err(format!(
                    "{what}: too many parts (expected intN[:sat|:wrap])"
                ))
            }
        };
        return Ok(Acc::Int { bits, overflow });
    }
    let format = float(&head, &what)?;
    let (mut r, mut saturate) = (None, false);
    for o in rest {
        if o.eq_ignore_ascii_case("sat") || o.eq_ignore_ascii_case("saturate") {
            saturate = true;
        } else if r.is_none() {
            r = Some(o.parse::<Rounding>().map_err(|_| {
                format!(
                    "{what}: unknown option '{o}' (expected a rounding mode: rne, rna, rtz, ru, rd, rto, sr; or sat)"
                )
            })?);
        } else {
            return Err(format!("{what}: more than one rounding mode"));
        }
    }
    if saturate && format.resolve_overflow(Some(Overflow::Saturate)).is_err() {
        return Err(format!("{what}: format {format} cannot saturate"));
    }
    Ok(Acc::Float {
        format,
        rounding: r.unwrap_or(Rounding::Rne),
        saturate,
    })
}

fn parse_order(v: &str) -> Result<Order, String> {
    let what = format!("'order={v}'");
    let lower = v.trim().to_ascii_lowercase();
    let (head, arg) = match lower.split_once(':') {
        Some((h, a)) => (h.trim(), Some(a.trim())),
        None => (lower.as_str(), None),
    };
    let num = |min: usize| -> Result<usize, String> {
        let a = arg.ok_or_else(|| format!("{what}: needs a number ({head}:N)"))?;
        let n: usize = a
            .parse()
            .map_err(|_| format!("{what}: '{a}' is not a number"))?;
        if n < min {
            return Err(format!("{what}: {head} needs a number ≥ {min}, got {n}"));
        }
        Ok(n)
    };
    match head {
        "seq" | "sequential" if arg.is_none() => Ok(Order::Sequential),
        "pairwise" if arg.is_none() => Ok(Order::Tree { fan_in: 2 }),
        "tree" => Ok(Order::Tree { fan_in: num(2)? }),
        "chunk" => Ok(Order::Chunk { size: num(1)? }),
        _ => Err(format!(
            "{what}: unknown order (expected seq, pairwise, tree:F or chunk:C)"
        )),
    }
}

fn parse_product(v: &str) -> Result<Product, String> {
    let what = format!("'product={v}'");
    let mut parts = v.split(':').map(str::trim);
    let head = parts.next().unwrap_or("").to_ascii_lowercase();
    let rest: Vec<&str> = parts.collect();
    if head == "exact" {
        if !rest.is_empty() {
            return Err(format!("{what}: 'exact' takes no options"));
        }
        return Ok(Product::Exact);
    }
    let format = float(&head, &what)?;
    let rounding = match rest.as_slice() {
        [] => Rounding::Rne,
        [r] => rounding(r, &what)?,
        _ => {
            return Err(format!(
                "{what}: too many parts (expected FORMAT[:ROUNDING])"
            ))
        }
    };
    Ok(Product::Round { format, rounding })
}

impl std::str::FromStr for AccumSpec {
    type Err = String;

    /// Parses the grammar of the module docs; errors name the bad part.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut spec = AccumSpec::default();
        let mut seen: Vec<&str> = Vec::new();
        if s.trim().is_empty() {
            return Err("empty accumulator spec (e.g. acc=f32,order=seq)".into());
        }
        for item in s.split(',') {
            let item = item.trim();
            let (k, v) = item.split_once('=').ok_or_else(|| {
                format!("'{item}': expected key=value (keys: acc, order, product, seed)")
            })?;
            let k = k.trim();
            let v = v.trim();
            let key = match k.to_ascii_lowercase().as_str() {
                "acc" => "acc",
                "order" => "order",
                "product" => "product",
                "seed" => "seed",
                _ => {
                    return Err(format!(
                        "'{item}': unknown key '{k}' (keys: acc, order, product, seed)"
                    ))
                }
            };
            if seen.contains(&key) {
                return Err(format!("'{item}': {key} given twice"));
            }
            seen.push(key);
            match key {
                "acc" => spec.acc = parse_acc(v)?,
                "order" => spec.order = parse_order(v)?,
                "product" => spec.product = parse_product(v)?,
                _ => {
                    spec.seed = v
                        .parse()
                        .map_err(|_| format!("'{item}': '{v}' is not an unsigned integer"))?
                }
            }
        }
        Ok(spec)
    }
}

/// A minifloat's name where it has one that parses without overrides.
fn fname(f: &MiniFloat) -> String {
    f.to_string()
}

impl std::fmt::Display for Acc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Acc::Float {
                format,
                rounding,
                saturate,
            } => {
                write!(f, "{}", fname(&format))?;
                if rounding != Rounding::Rne {
                    write!(f, ":{rounding}")?;
                }
                if saturate {
                    write!(f, ":sat")?;
                }
                Ok(())
            }
            Acc::Int { bits, overflow } => write!(
                f,
                "int{bits}:{}",
                match overflow {
                    IntOverflow::Saturate => "sat",
                    IntOverflow::Wrap => "wrap",
                }
            ),
            Acc::Exact { format, rounding } => {
                write!(f, "exact")?;
                if format != crate::formats::parse::F32 || rounding != Rounding::Rne {
                    write!(f, ":{}", fname(&format))?;
                }
                if rounding != Rounding::Rne {
                    write!(f, ":{rounding}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Order::Sequential => write!(f, "seq"),
            Order::Tree { fan_in: 2 } => write!(f, "pairwise"),
            Order::Tree { fan_in } => write!(f, "tree:{fan_in}"),
            Order::Chunk { size } => write!(f, "chunk:{size}"),
        }
    }
}

impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Product::Exact => write!(f, "exact"),
            Product::Round { format, rounding } => {
                write!(f, "{}", fname(&format))?;
                if rounding != Rounding::Rne {
                    write!(f, ":{rounding}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::fmt::Display for AccumSpec {
    /// The canonical spec string (`acc=…,order=…,product=…[,seed=…]`); it parses back to `self`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "acc={},order={},product={}",
            self.acc, self.order, self.product
        )?;
        if self.seed != 0 {
            write!(f, ",seed={}", self.seed)?;
        }
        Ok(())
    }
}

impl AccumSpec {
    /// A short human description for reports, e.g. `e8m13 rtz, chunk 128 → f32`.
    pub fn describe(&self) -> String {
        let acc = match self.acc {
            Acc::Float {
                format,
                rounding,
                saturate,
            } => {
                let mut s = fname(&format);
                if rounding != Rounding::Rne {
                    s += &format!(" {rounding}");
                }
                if saturate {
                    s += " sat";
                }
                s
            }
            Acc::Int { bits, overflow } => format!(
                "int{bits} {}",
                match overflow {
                    IntOverflow::Saturate => "saturating",
                    IntOverflow::Wrap => "wrapping",
                }
            ),
            Acc::Exact { format, rounding } => {
                let mut s = format!("exact (Kulisch) → {}", fname(&format));
                if rounding != Rounding::Rne {
                    s += &format!(" {rounding}");
                }
                s
            }
        };
        let order = match self.order {
            Order::Sequential => "sequential".to_string(),
            Order::Tree { fan_in: 2 } => "pairwise tree".to_string(),
            Order::Tree { fan_in } => format!("tree fan-in {fan_in}"),
            Order::Chunk { size } => format!("chunk {size} → f32"),
        };
        let mut s = format!("{acc}, {order}");
        if let Product::Round { format, rounding } = self.product {
            s += &format!(", products rounded to {}", fname(&format));
            if rounding != Rounding::Rne {
                s += &format!(" {rounding}");
            }
        }
        s
    }
}

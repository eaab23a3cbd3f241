//! `bitsim arith FORMAT OP A B [C]`: one operation of an arithmetic unit
//! (IEEE, lmul-carry, lmul-literal), with its exact result, bits and error.

use std::io::Write;

use clap::Args;
use serde_json::{json, Value};

use super::common::{binary, hex, num, parse_format, parse_uint, stdout_error, table};
use super::common::{CliError, CliResult, ConvertArgs};
use crate::arith::float::FloatUnit;
use crate::arith::lmul::{self, Semantics};
use crate::formats::{ConvertOptions, ElementFormat, Exp0, Format, MiniFloat};

/// Arguments of `arith`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "OP: add, sub, mul or fma (A × B + C).\n\
Operands: decimal numbers (1.5, -1e-3, inf, -inf, nan), rounded into FORMAT with --rounding\n\
first (operand i uses stochastic-rounding index i), or codes written 0x… (taken as is).\n\
--unit ieee (default): the correctly rounded result (one rounding of the exact result).\n\
--unit lmul-carry / lmul-literal: L-Mul (Luo & Sun 2024), mul only.\n\
The error is unit result − exact result, also relative to |exact| and in ulps of FORMAT at\n\
the exact result's binade. Flags may follow the operands; negative operands need no '--'.")]
pub struct ArithArgs {
    /// Float format name (e.g. e4m3, fp16, bf16, f32, e3m2:subnormals=off).
    #[arg(value_name = "FORMAT")]
    pub format: String,
    /// Operation: add, sub, mul or fma.
    #[arg(value_name = "OP")]
    pub op: String,
    // Hyphen values are allowed so that -1.5, -1e-3 and -inf work; flags that
    // follow the operands land here too and are taken back out by `split_flags`.
    /// Operands A B (and C for fma): decimal numbers or 0x… codes.
    #[arg(value_name = "OPERAND", num_args = 0.., allow_hyphen_values = true)]
    pub operands: Vec<String>,
    /// Rounding, overflow, NaN policy, stochastic-rounding seed.
    #[command(flatten)]
    pub convert: ConvertArgs,
    /// Arithmetic unit: ieee, lmul-carry or lmul-literal.
    #[arg(
        long,
        value_name = "U",
        default_value = "ieee",
        allow_hyphen_values = true
    )]
    pub unit: String,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Set when `--help` follows the operands (clap only sees it before them).
    #[arg(skip)]
    pub help: bool,
}

/// The operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Fma,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Mul => "mul",
            Op::Fma => "fma",
        }
    }

    fn arity(self) -> usize {
        if self == Op::Fma {
            3
        } else {
            2
        }
    }
}

/// The arithmetic units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Ieee,
    Lmul(Semantics),
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Ieee => "ieee",
            Unit::Lmul(Semantics::Carry) => "lmul-carry",
            Unit::Lmul(Semantics::Literal) => "lmul-literal",
        }
    }
}

/// One operand as given and as a code.
struct Operand {
    input: String,
    code: u32,
    /// Whether a decimal input was rounded (its value differs from the input).
    rounded: bool,
    from_decimal: bool,
}

/// Moves flags that clap left among the operands (because operands may start
/// with '-') back into `args`. A token starting with '-' that parses as a
/// number is an operand; a lone `--` ends flag processing.
fn split_flags(args: &mut ArithArgs) -> Result<(), CliError> {
    let tokens = std::mem::take(&mut args.operands);
    let mut it = tokens.into_iter();
    while let Some(t) = it.next() {
        if t == "--" {
            args.operands.extend(it.by_ref());
            break;
        }
        let Some(flag) = t.strip_prefix("--").filter(|_| t.parse::<f64>().is_err()) else {
            if t.starts_with('-') && t.len() > 1 && t.parse::<f64>().is_err() {
                return Err(CliError::new(
                    format!("operand '{t}'"),
                    "not a number and not a flag of `arith` (expected a decimal such as -1.5e-3, inf, or a 0x… code)",
                ));
            }
            args.operands.push(t);
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        if name == "help" {
            args.help = true;
            continue;
        }
        if name == "json" {
            if inline.is_some() {
                return Err(CliError::new(format!("--{flag}"), "takes no value"));
            }
            args.json = true;
            continue;
        }
        let slot = match name {
            "rounding" => &mut args.convert.rounding,
            "nan" => &mut args.convert.nan,
            "seed" => &mut args.convert.seed,
            "sr-bits" => &mut args.convert.sr_bits,
            "unit" => &mut args.unit,
            "overflow" => args.convert.overflow.get_or_insert_with(String::new),
            _ => {
                return Err(CliError::new(
                    format!("--{name}"),
                    "unknown flag (see `bitsim arith --help`)",
                ))
            }
        };
        let value = match inline.or_else(|| it.next()) {
            Some(v) => v,
            None => return Err(CliError::new(format!("--{name}"), "needs a value")),
        };
        *slot = value;
    }
    Ok(())
}

fn parse_op(s: &str) -> Result<Op, CliError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "add" => Ok(Op::Add),
        "sub" => Ok(Op::Sub),
        "mul" => Ok(Op::Mul),
        "fma" => Ok(Op::Fma),
        _ => Err(CliError::new(
            format!("operation '{s}'"),
            "unknown operation (expected add, sub, mul or fma)",
        )),
    }
}

fn parse_unit(s: &str) -> Result<Unit, CliError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "ieee" => Ok(Unit::Ieee),
        "lmul-carry" => Ok(Unit::Lmul(Semantics::Carry)),
        "lmul-literal" => Ok(Unit::Lmul(Semantics::Literal)),
        _ => Err(CliError::new(
            format!("--unit {s}"),
            "unknown unit (expected ieee, lmul-carry or lmul-literal)",
        )),
    }
}

fn float_format(s: &str) -> Result<MiniFloat, CliError> {
    match parse_format("format", s)? {
        Format::Element(ElementFormat::Float(f)) => Ok(f),
        Format::Element(ElementFormat::Int(i)) => Err(CliError::new(
            format!("format '{s}'"),
            format!("{i} is an integer format; `arith` works on float formats"),
        )),
        Format::Block(b) => Err(CliError::new(
            format!("format '{s}'"),
            format!(
                "{b} is a block-scaled format; `arith` works on float element formats (e.g. {})",
                b.element
            ),
        )),
    }
}

/// Parses an operand: a `0x…` code or a decimal rounded into `f`.
fn parse_operand(
    f: &MiniFloat,
    s: &str,
    o: &ConvertOptions,
    index: u64,
) -> Result<Operand, CliError> {
    let named = || format!("operand '{s}'");
    let t = s.trim();
    if t.len() > 2 && t.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x")) {
        let c = parse_uint(t).map_err(|e| CliError::new(named(), e))?;
        if c >> f.bits() != 0 {
            return Err(CliError::new(
                named(),
                format!(
                    "code out of range: does not fit the {}-bit format {f} (largest code {})",
                    f.bits(),
                    hex(((1u64 << f.bits()) - 1) as u32, f.bits())
                ),
            ));
        }
        return Ok(Operand {
            input: t.to_string(),
            code: c as u32,
            rounded: false,
            from_decimal: false,
        });
    }
    let x: f64 = t.parse().map_err(|_| {
        CliError::new(
            named(),
            "not a number (expected a decimal such as 1.5, -1e-3, inf, -inf, nan, or a 0x… code)",
        )
    })?;
    let code = f
        .encode(x, o, index)
        .map_err(|e| CliError::new(named(), e))?;
    let v = f.decode(code);
    Ok(Operand {
        input: t.to_string(),
        code,
        rounded: !(same_bits_value(v, x) || (x.is_nan() && v.is_nan())),
        from_decimal: true,
    })
}

/// Equal values with equal signs (so −0 differs from +0).
fn same_bits_value(v: f64, x: f64) -> bool {
    v == x && v.is_sign_negative() == x.is_sign_negative()
}

/// TwoSum (Knuth): the rounding error of `x + y` in f64.
fn two_sum_err(x: f64, y: f64) -> f64 {
    let s = x + y;
    let bb = s - x;
    (x - (s - bb)) + (y - bb)
}

/// The exact result as an f64 and whether it is exact. Every product of two
/// codes (≤ 24 significand bits) is exact in f64; sums are checked with TwoSum.
fn exact_result(op: Op, v: &[f64]) -> (f64, bool) {
    let sum = |x: f64, y: f64| {
        let s = x + y;
        (s, !s.is_finite() || two_sum_err(x, y) == 0.0)
    };
    match op {
        Op::Add => sum(v[0], v[1]),
        Op::Sub => sum(v[0], -v[1]),
        Op::Mul => (v[0] * v[1], true),
        Op::Fma => sum(v[0] * v[1], v[2]),
    }
}

/// One ulp of `f` in the binade of `x` (subnormal/lowest binade: the smallest step).
fn ulp(f: &MiniFloat, x: f64) -> f64 {
    let emin = match f.exp0 {
        Exp0::Normal => -f.bias,
        _ => 1 - f.bias,
    };
    let e = if x == 0.0 || !x.is_finite() {
        emin
    } else {
        (x.abs().to_bits() >> 52) as i32 - 1023
    };
    let e = if x.abs() < f64::MIN_POSITIVE { emin } else { e };
    crate::formats::exp2i(e.max(emin) - f.mbits as i32)
}

/// Sign, exponent and mantissa fields of a code, in binary.
fn fields(f: &MiniFloat, code: u32) -> (String, String, String) {
    let sign = if f.signed {
        ((code >> (f.ebits + f.mbits)) & 1).to_string()
    } else {
        "-".into()
    };
    let e = binary((code >> f.mbits) & ((1 << f.ebits) - 1), f.ebits);
    let m = if f.mbits == 0 {
        "-".into()
    } else {
        binary(code & ((1 << f.mbits) - 1), f.mbits)
    };
    (sign, e, m)
}

/// A number as JSON: finite values as numbers, otherwise `nan`, `inf`, `-inf`.
fn json_num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        json!(num(x))
    }
}

/// Runs `arith`.
pub fn run(args: &ArithArgs, out: &mut dyn Write) -> CliResult {
    let mut args = args.clone();
    split_flags(&mut args)?;
    if args.help {
        // `--help` after the operands reached us instead of clap.
        let mut cmd = <super::Cli as clap::CommandFactory>::command();
        let help = cmd
            .find_subcommand_mut("arith")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        return write!(out, "{help}").map_err(stdout_error);
    }
    let f = float_format(&args.format)?;
    let op = parse_op(&args.op)?;
    let unit = parse_unit(&args.unit)?;
    let opts = args.convert.options()?;
    args.convert.check(&ElementFormat::Float(f), &opts)?;
    if let Unit::Lmul(_) = unit {
        if op != Op::Mul {
            return Err(CliError::new(
                format!("--unit {}", unit.name()),
                format!(
                    "only mul is meaningful for an L-Mul unit (got {})",
                    op.name()
                ),
            ));
        }
    }
    if args.operands.len() != op.arity() {
        return Err(CliError::new(
            format!("{} operands", op.name()),
            format!(
                "{} takes {} operands, got {} ({})",
                op.name(),
                op.arity(),
                args.operands.len(),
                if args.operands.is_empty() {
                    "none".to_string()
                } else {
                    args.operands.join(" ")
                }
            ),
        ));
    }
    let ops = args
        .operands
        .iter()
        .enumerate()
        .map(|(i, s)| parse_operand(&f, s, &opts, i as u64))
        .collect::<Result<Vec<_>, _>>()?;
    let c: Vec<u32> = ops.iter().map(|o| o.code).collect();
    let vals: Vec<f64> = c.iter().map(|&x| f.decode(x)).collect();
    let result = match unit {
        Unit::Ieee => {
            let u = FloatUnit::new(&f, &opts).map_err(|e| CliError::new("options", e))?;
            match op {
                Op::Add => u.add(c[0], c[1], 0),
                Op::Sub => u.sub(c[0], c[1], 0),
                Op::Mul => u.mul(c[0], c[1], 0),
                Op::Fma => u.fma(c[0], c[1], c[2], 0),
            }
        }
        Unit::Lmul(sem) => lmul::lmul(&f, c[0], c[1], sem, &opts),
    };
    let rv = f.decode(result);
    let (exact, is_exact) = exact_result(op, &vals);
    let (abs, rel, ulps) = if rv.is_finite() && exact.is_finite() {
        let abs = rv - exact;
        let rel = if exact != 0.0 {
            abs / exact.abs()
        } else if abs == 0.0 {
            0.0
        } else {
            f64::INFINITY
        };
        (abs, rel, abs / ulp(&f, exact))
    } else if rv.is_nan() || exact.is_nan() || rv != exact {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        (0.0, 0.0, 0.0)
    };
    let overflow = f
        .resolve_overflow(opts.overflow)
        .map(|o| o.name())
        .unwrap_or("?");
    let names = ["a", "b", "c"];
    if args.json {
        let operands: Vec<Value> = ops
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let (s, e, m) = fields(&f, o.code);
                json!({
                    "name": names[i],
                    "input": o.input,
                    "value": json_num(vals[i]),
                    "code": o.code,
                    "code_hex": hex(o.code, f.bits()),
                    "sign": s,
                    "exponent": e,
                    "mantissa": m,
                    "rounded_from_decimal": o.rounded,
                })
            })
            .collect();
        let (s, e, m) = fields(&f, result);
        let v = json!({
            "format": f.to_string(),
            "op": op.name(),
            "unit": unit.name(),
            "rounding": opts.rounding.name(),
            "overflow": overflow,
            "operands": operands,
            "exact": json_num(exact),
            "exact_is_exact": is_exact,
            "exact_decimal": if is_exact { json!(exact_decimal(exact)) } else { Value::Null },
            "result": json_num(rv),
            "result_bits": result,
            "result_hex": hex(result, f.bits()),
            "result_fields": {"sign": s, "exponent": e, "mantissa": m},
            "error_abs": json_num(abs),
            "error_rel": json_num(rel),
            "error_ulps": json_num(ulps),
        });
        return writeln!(out, "{v}").map_err(stdout_error);
    }
    let head = format!(
        "{f} {} on the {} unit: rounding {}, overflow {overflow}",
        op.name(),
        unit.name(),
        opts.rounding
    );
    let mut rows = vec![vec![
        "operand".to_string(),
        "input".into(),
        "value".into(),
        "code".into(),
        "sign".into(),
        "exponent".into(),
        "mantissa".into(),
    ]];
    for (i, o) in ops.iter().enumerate() {
        let (s, e, m) = fields(&f, o.code);
        rows.push(vec![
            names[i].to_string(),
            o.input.clone(),
            num(vals[i]),
            hex(o.code, f.bits()),
            s,
            e,
            m,
        ]);
    }
    let mut tail = Vec::new();
    if ops.iter().any(|o| o.from_decimal) {
        let which: Vec<&str> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.rounded)
            .map(|(i, _)| names[i])
            .collect();
        tail.push(format!(
            "decimal operands are rounded into {f} with {} first{}",
            opts.rounding,
            if which.is_empty() {
                " (all were exact)".to_string()
            } else {
                format!(" (changed: {})", which.join(", "))
            }
        ));
    }
    let (s, e, m) = fields(&f, result);
    tail.push(if is_exact {
        format!("exact result: {}", exact_decimal(exact))
    } else {
        format!(
            "exact result: {} (not an f64: shown rounded to f64)",
            num(exact)
        )
    });
    tail.push(format!(
        "unit result:  {} (code {}, sign {s}, exponent {e}, mantissa {m})",
        num(rv),
        hex(result, f.bits())
    ));
    tail.push(format!(
        "error:        {}{} absolute, {} relative, {} ulp",
        if is_exact { "" } else { "≈ " },
        num(abs),
        num(rel),
        num(ulps)
    ));
    let res = (|| -> std::io::Result<()> {
        writeln!(out, "{head}")?;
        table(out, &rows)?;
        for l in &tail {
            writeln!(out, "{l}")?;
        }
        Ok(())
    })();
    res.map_err(stdout_error)
}

/// The exact decimal expansion of a finite f64 (every binary fraction has a
/// finite one): `sig × 2^e` is `sig × 5^−e / 10^−e` for e < 0.
fn exact_decimal(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return num(x);
    }
    let b = x.to_bits();
    let ef = ((b >> 52) & 0x7ff) as i32;
    let frac = b & ((1u64 << 52) - 1);
    let (sig, e) = if ef == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), ef - 1075)
    };
    // Little-endian base-10^9 limbs.
    let mut limbs = vec![
        (sig % 1_000_000_000) as u32,
        (sig / 1_000_000_000 % 1_000_000_000) as u32,
        (sig / 1_000_000_000_000_000_000) as u32,
    ];
    let mul = |limbs: &mut Vec<u32>, m: u64| {
        let mut carry = 0u64;
        for l in limbs.iter_mut() {
            let v = *l as u64 * m + carry;
            *l = (v % 1_000_000_000) as u32;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push((carry % 1_000_000_000) as u32);
            carry /= 1_000_000_000;
        }
    };
    for _ in 0..e.unsigned_abs() {
        mul(&mut limbs, if e > 0 { 2 } else { 5 });
    }
    let mut digits = String::new();
    for (i, l) in limbs.iter().rev().enumerate() {
        if i == 0 {
            digits.push_str(&l.to_string());
        } else {
            digits.push_str(&format!("{l:09}"));
        }
    }
    let digits = digits.trim_start_matches('0').to_string();
    let sign = if x < 0.0 { "-" } else { "" };
    if e >= 0 {
        return format!("{sign}{digits}");
    }
    let k = e.unsigned_abs() as usize;
    let padded = if digits.len() <= k {
        format!("{}{digits}", "0".repeat(k + 1 - digits.len()))
    } else {
        digits
    };
    let (int, fracd) = padded.split_at(padded.len() - k);
    let fracd = fracd.trim_end_matches('0');
    if fracd.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{fracd}")
    }
}

#[cfg(test)]
mod tests {
    use super::exact_decimal;

    #[test]
    fn exact_decimals() {
        assert_eq!(exact_decimal(1.0), "1");
        assert_eq!(exact_decimal(-2.25), "-2.25");
        assert_eq!(
            exact_decimal(0.1),
            "0.1000000000000000055511151231257827021181583404541015625"
        );
        assert_eq!(exact_decimal(2f64.powi(-10)), "0.0009765625");
        assert_eq!(exact_decimal(1e22), "10000000000000000000000");
        assert_eq!(exact_decimal(2f64.powi(70)), "1180591620717411303424");
        let tiny = exact_decimal(5e-324);
        assert!(
            tiny.starts_with("0.000") && tiny.ends_with("65625"),
            "{tiny}"
        );
        assert_eq!(tiny.len(), 2 + 1074);
    }
}

//! `bitsim arith FORMAT OP A B [C]`: one operation of an arithmetic unit
//! (IEEE, lmul-carry, lmul-literal), with its exact result, bits and error.

use std::io::Write;

use clap::Args;
use serde_json::{json, Value};

use super::common::{binary, hex, num, parse_format, parse_uint, stdout_error, table};
use super::common::{CliError, CliResult, ConvertArgs};
use crate::arith::explain::{exact_decimal, explain, FloatOp, UnitKind};
use crate::formats::{ConvertOptions, ElementFormat, Format, MiniFloat};

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
            "sr-bits" => args.convert.sr_bits.get_or_insert_with(String::new),
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

fn parse_op(s: &str) -> Result<FloatOp, CliError> {
    FloatOp::from_name(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
        CliError::new(
            format!("operation '{s}'"),
            "unknown operation (expected add, sub, mul or fma)",
        )
    })
}

fn parse_unit(s: &str) -> Result<UnitKind, CliError> {
    UnitKind::from_name(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
        CliError::new(
            format!("--unit {s}"),
            "unknown unit (expected ieee, lmul-carry or lmul-literal)",
        )
    })
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
    // Read so that the decimal itself is rounded once (not its nearest f64).
    let d = crate::formats::decimal::parse(t).map_err(|e| {
        CliError::new(
            named(),
            format!("{e} (expected a decimal such as 1.5, -1e-3, inf, -inf, nan, or a 0x… code)"),
        )
    })?;
    let x = d.value;
    let code = f
        .encode(x, o, index)
        .map_err(|e| CliError::new(named(), e))?;
    let v = f.decode(code);
    Ok(Operand {
        input: t.to_string(),
        code,
        rounded: !d.exact || !(same_bits_value(v, x) || (x.is_nan() && v.is_nan())),
        from_decimal: true,
    })
}

/// Equal values with equal signs (so −0 differs from +0).
fn same_bits_value(v: f64, x: f64) -> bool {
    v == x && v.is_sign_negative() == x.is_sign_negative()
}

/// Sign, exponent and mantissa fields of a code, in binary (`-` for an absent field).
fn fields(f: &MiniFloat, code: u32) -> (String, String, String) {
    let (sign, e, m) = f.fields(code);
    (
        sign.map_or("-".into(), |s| s.to_string()),
        binary(e, f.ebits),
        m.map_or("-".into(), |m| binary(m, f.mbits)),
    )
}

/// The exact decimal expansion of a finite f64 (zeros and non-finite values as `num` prints them).
fn decimal(x: f64) -> String {
    exact_decimal(x).unwrap_or_else(|| num(x))
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
    if let UnitKind::Lmul(_) = unit {
        if op != FloatOp::Mul {
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
    let x = explain(&f, op, unit, &c, &opts).map_err(|e| CliError::new("options", e))?;
    let (result, rv, exact, is_exact) = (x.code, x.value, x.exact, x.exact_is_exact);
    let (abs, rel, ulps) = (x.error_abs, x.error_rel, x.error_ulps);
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
            "exact_decimal": if is_exact { json!(decimal(exact)) } else { Value::Null },
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
        format!("exact result: {}", decimal(exact))
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

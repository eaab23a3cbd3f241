//! Decimal text to a value that every format rounds exactly once.
//!
//! Reading `0.99999999999999999999` as the nearest f64 (1.0) and then
//! rounding that into e4m3 rounds twice: rounding down gives 1, above the
//! input. Instead the decimal is read *rounded to odd* at f64 precision: the
//! f64 just below or just above it (whichever has an odd last mantissa bit)
//! when it is not an f64 itself. A value rounded to odd at precision q and
//! then rounded to precision p ≤ q − 2 in any mode gives the same result as
//! rounding the exact value once (Boldo and Melquiond, "Emulation of FMA and
//! correctly rounded sums: proved algorithms using rounding to odd", 2008).
//! Every bitsim element format has at most 24 significant bits and a range
//! inside f64's normal range, so the odd f64 is a faithful stand-in for the
//! decimal, and [`Decimal::exact`] says whether the decimal was an f64.
//!
//! Exactness is decided with big integers (`M·10^E` against `m·2^e`), never
//! by the floating-point parser alone.

use num_bigint::BigUint;

/// A parsed decimal: its round-to-odd f64 stand-in and whether it was exact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decimal {
    /// The decimal itself when it is an f64 (or ±inf, NaN); otherwise the
    /// neighbouring f64 with an odd last bit, which rounds into any narrower
    /// format exactly as the decimal would.
    pub value: f64,
    /// Whether the decimal is exactly an f64 (always true for inf and NaN).
    pub exact: bool,
}

/// Longest accepted text: a decimal longer than this is surely a mistake,
/// and the big-integer comparison costs grow with it.
pub const MAX_LEN: usize = 4096;

/// Parses a decimal number (`1.5`, `-1e-3`, `.5`, `5.`, `+2E+3`) or `inf`,
/// `infinity`, `nan` (any case, optional sign). Returns a one-line reason
/// on malformed text.
pub fn parse(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    if t.len() > MAX_LEN {
        return Err(format!(
            "longer than {MAX_LEN} characters ({} given)",
            t.len()
        ));
    }
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        let v: f64 = t.parse().map_err(|_| "not a number".to_string())?;
        return Ok(Decimal {
            value: v,
            exact: true,
        });
    }
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty())
        || !digits_ok(int_part)
        || !digits_ok(frac_part)
    {
        return Err("not a number".into());
    }
    // The exponent, saturated: anything beyond ±10^6 is far outside every range.
    let e10: i64 = match exp {
        None => 0,
        Some(e) => {
            let (eneg, ed) = match e.as_bytes().first() {
                Some(b'-') => (true, &e[1..]),
                Some(b'+') => (false, &e[1..]),
                _ => (false, e),
            };
            if ed.is_empty() || !digits_ok(ed) {
                return Err("not a number (bad exponent)".into());
            }
            let mag = ed
                .trim_start_matches('0')
                .parse::<i64>()
                .unwrap_or(if ed.trim_start_matches('0').is_empty() {
                    0
                } else {
                    1_000_000
                })
                .min(1_000_000);
            if eneg {
                -mag
            } else {
                mag
            }
        }
    };
    // Digits without leading zeros; the decimal is M · 10^e10.
    let all: String = format!("{int_part}{frac_part}");
    let digits = all.trim_start_matches('0');
    let e10 = e10 - frac_part.len() as i64;
    let sign = |v: f64| if neg { -v } else { v };
    if digits.is_empty() {
        return Ok(Decimal {
            value: sign(0.0),
            exact: true,
        });
    }
    // Magnitude as a power of ten: 10^(mag-1) <= |x| < 10^mag.
    let mag = digits.len() as i64 + e10;
    if mag > 310 {
        // Above f64::MAX (~1.8e308): the largest finite f64 has an odd last bit.
        return Ok(Decimal {
            value: sign(f64::MAX),
            exact: false,
        });
    }
    if mag < -330 {
        // Below the smallest subnormal (~4.9e-324): the odd neighbour of 0.
        return Ok(Decimal {
            value: sign(f64::from_bits(1)),
            exact: false,
        });
    }
    // The correctly rounded (nearest) f64, then exact comparison.
    let near: f64 = format!("{digits}e{e10}")
        .parse()
        .map_err(|_| "not a number".to_string())?;
    let m_big: BigUint = digits.parse().map_err(|_| "not a number".to_string())?;
    let cmp = compare(&m_big, e10, near);
    let value = match cmp {
        std::cmp::Ordering::Equal => {
            return Ok(Decimal {
                value: sign(near),
                exact: true,
            })
        }
        // The decimal lies strictly between `below` and `below`'s successor.
        std::cmp::Ordering::Less => odd_of(next_down(near), near),
        std::cmp::Ordering::Greater => odd_of(near, next_up(near)),
    };
    Ok(Decimal {
        value: sign(value),
        exact: false,
    })
}

/// Of two adjacent non-negative f64s, the one whose last bit is odd.
fn odd_of(lo: f64, hi: f64) -> f64 {
    if lo.to_bits() & 1 == 1 {
        lo
    } else {
        hi
    }
}

/// The next f64 above a non-negative finite `x` (+inf stays MAX: the decimal was finite).
fn next_up(x: f64) -> f64 {
    if x == f64::MAX || x.is_infinite() {
        f64::MAX
    } else {
        f64::from_bits(x.to_bits() + 1)
    }
}

/// The next f64 below a positive `x`, or +inf's finite neighbour.
fn next_down(x: f64) -> f64 {
    if x.is_infinite() {
        f64::MAX
    } else {
        f64::from_bits(x.to_bits() - 1)
    }
}

/// Compares `m · 10^e10` with the non-negative f64 `x` exactly.
fn compare(m: &BigUint, e10: i64, x: f64) -> std::cmp::Ordering {
    if x.is_infinite() {
        return std::cmp::Ordering::Less;
    }
    // x = xm · 2^xe with xm an integer.
    let bits = x.to_bits();
    let (be, frac) = ((bits >> 52) as i64, bits & ((1 << 52) - 1));
    let (xm, xe) = if be == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), be - 1075)
    };
    let ten = BigUint::from(10u32);
    let mut lhs = m.clone();
    let mut rhs = BigUint::from(xm);
    if e10 >= 0 {
        lhs *= ten.pow(e10 as u32);
    } else {
        rhs *= ten.pow((-e10) as u32);
    }
    if xe >= 0 {
        rhs <<= xe as usize;
    } else {
        lhs <<= (-xe) as usize;
    }
    lhs.cmp(&rhs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_decimals_are_exact() {
        for (s, v) in [
            ("1", 1.0),
            ("0.5", 0.5),
            ("-0", -0.0),
            (".25", 0.25),
            ("3.", 3.0),
            ("1e3", 1000.0),
            ("+25E-2", 0.25),
        ] {
            let d = parse(s).unwrap();
            assert_eq!(d.value, v, "{s}");
            assert!(d.exact, "{s}");
        }
        // 0.2 is not an f64: its nearest f64 ends in an even bit (…9a), so
        // the stand-in is the odd one below it.
        let d = parse("+2E-1").unwrap();
        assert!(!d.exact);
        assert_eq!(d.value.to_bits(), 0.2f64.to_bits() - 1);
        assert!(parse("-0").unwrap().value.is_sign_negative());
    }

    #[test]
    fn inexact_decimals_round_to_odd() {
        // 0.999…9 (20 nines) lies just below 1: the neighbours are 1 - 2^-53 (odd) and 1.
        let d = parse("0.99999999999999999999").unwrap();
        assert!(!d.exact);
        assert_eq!(d.value, 1.0 - 2f64.powi(-53));
        // 1 + 2^-60 lies between 1 (even) and 1 + 2^-52 (odd).
        let d = parse("1.000000000000000000867361737988403547205962240695953369140625").unwrap();
        assert!(!d.exact);
        assert_eq!(d.value, 1.0 + 2f64.powi(-52));
        // 2^-1074 itself is exact, half of it is not.
        let tiny = "4.940656458412465441765687928682213723650598026143247644255856825006755072702087518652998363616359923797965646954457177309266567103559397963987747960107818781263007131903114045278458171678489821036887186360569987307230500063874091535649843873124733972731696151400317153853980741262385655911710266585566867681870395603106249319452715914924553293054565444011274801297099995419319894090804165633245247571478690147267801593552386115501348035264934720193790268107107491703332226844753335720832431936092382893458368060106011506169809753078342277318329247904982524730776375927247874656084778203734469699533647017972677717585125660551199131504891101451037862738167250955837389733598993664809941164205702637090279242767544565229087538682506419718265533447265625e-324";
        let d = parse(tiny).unwrap();
        assert!(d.exact && d.value == f64::from_bits(1));
        let d = parse("1e-400").unwrap();
        assert!(!d.exact && d.value == f64::from_bits(1));
        let d = parse("-1e400").unwrap();
        assert!(!d.exact && d.value == -f64::MAX);
    }

    #[test]
    fn malformed_text_is_an_error() {
        for s in [
            "", "-", ".", "e5", "1e", "1e+", "0x10", "1.2.3", "1,5", "--1", "nanx",
        ] {
            assert!(parse(s).is_err(), "{s:?}");
        }
        assert!(parse(&"1".repeat(MAX_LEN + 1)).is_err());
        assert!(parse("inf").unwrap().value.is_infinite());
        assert!(parse("-NaN").unwrap().value.is_nan());
    }
}

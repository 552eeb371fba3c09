//! The numeric template functions of syslog-ng 3.38
//! (`modules/basicfuncs/numeric-funcs.c`) and the number parsing they rest
//! on (`lib/parse-number.c`: glibc's `strtoll` and `strtod`, which must
//! consume the whole value).
//!
//! `+ - * / %` work on 64-bit integers when both operands are integers and
//! on doubles otherwise; a double result is printed with `%.20f`. Anything
//! that is not exactly two numbers, and division by (nearly) zero, gives
//! `NaN`. `round` prints `%.Nf`, `ceil` and `floor` convert to an integer
//! the way x86 does (`i64::MIN` when out of range). `sum`, `min`, `max`
//! and `average` aggregate over the correlation context, which here is the
//! message itself: its value if it is an integer, nothing otherwise.

use std::io::Write as _;

use super::{c_str, is_c_space, Scratch};
use crate::template::BuiltinFunction;

/// A parsed number (`GenericNumber`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    Int(i64),
    Double(f64),
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(n) => n as f64,
            Number::Double(d) => d,
        }
    }

    /// `gn_is_zero`.
    fn is_zero(self) -> bool {
        match self {
            Number::Int(n) => n == 0,
            Number::Double(d) => d.abs() < f64::EPSILON,
        }
    }
}

/// `parse_generic_number`: an integer if `strtoll` takes the whole value,
/// else a double if `strtod` does.
fn parse_number(s: &[u8]) -> Option<Number> {
    if let Some(n) = parse_int(s, 10) {
        return Some(Number::Int(n));
    }
    parse_double(s).map(Number::Double)
}

fn skip_space_and_sign(s: &[u8]) -> (bool, &[u8]) {
    let s = &s[s.iter().position(|&c| !is_c_space(c)).unwrap_or(s.len())..];
    match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// `strtoll(s, &end, base)` (base 10, or 0 to detect `0x` and `0`) that
/// must consume the whole C string: syslog-ng's `parse_int64` and
/// `parse_int64_base_any`. Out of range (`ERANGE`) is a failure.
pub(in crate::template) fn parse_int(s: &[u8], base: u32) -> Option<i64> {
    let (neg, rest) = skip_space_and_sign(c_str(s));
    let (radix, digits) = match rest {
        [b'0', b'x' | b'X', d, ..] if base == 0 && d.is_ascii_hexdigit() => (16, &rest[2..]),
        [b'0', ..] if base == 0 => (8, rest),
        _ => (10, rest),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &c in digits {
        let d = char::from(c).to_digit(radix)?;
        magnitude = magnitude.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
    }
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// glibc's `strtod` that must consume the whole C string, failing where it
/// sets `ERANGE` (overflow to infinity; a result that underflows to zero or
/// to an inexact subnormal): syslog-ng's `parse_double`.
pub(in crate::template) fn parse_double(s: &[u8]) -> Option<f64> {
    strtod(s).and_then(|(d, erange)| (!erange).then_some(d))
}

/// glibc's `strtod` that must consume the whole C string: the value and
/// whether it set `ERANGE`. Takes decimal and hexadecimal (`0x1.8p3`)
/// forms, `inf`, `infinity` and `nan` / `nan(chars)` in any case, after
/// optional white space and sign.
pub(in crate::template) fn strtod(s: &[u8]) -> Option<(f64, bool)> {
    let (neg, rest) = skip_space_and_sign(c_str(s));
    let apply_sign = |v: f64| (if neg { -v } else { v }, false);
    let lower3 =
        rest.get(..3).map(|p| [p[0].to_ascii_lowercase(), p[1].to_ascii_lowercase(), p[2].to_ascii_lowercase()]);
    match lower3 {
        Some([b'i', b'n', b'f']) => {
            let tail = &rest[3..];
            return (tail.is_empty() || tail.eq_ignore_ascii_case(b"inity")).then(|| apply_sign(f64::INFINITY));
        }
        Some([b'n', b'a', b'n']) => {
            let tail = &rest[3..];
            let ok = tail.is_empty()
                || (tail.len() >= 2
                    && tail[0] == b'('
                    && tail[tail.len() - 1] == b')'
                    && tail[1..tail.len() - 1].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_'));
            return ok.then(|| apply_sign(f64::NAN));
        }
        _ => {}
    }
    let (value, erange) = match rest {
        [b'0', b'x' | b'X', tail @ ..] => parse_hex_float(tail)?,
        _ => parse_decimal_float(rest)?,
    };
    Some((apply_sign(value).0, erange))
}

/// The length of the run of bytes at the start of `s` that satisfy `f`.
fn run(s: &[u8], f: impl Fn(u8) -> bool) -> usize {
    s.iter().position(|&c| !f(c)).unwrap_or(s.len())
}

/// An exponent (`e` or `p` already consumed): sign and decimal digits, all
/// of `s`; saturated.
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0i64, |n, &c| n.saturating_mul(10).saturating_add(i64::from(c - b'0')).min(1 << 40));
    Some(if neg { -n } else { n })
}

/// A decimal float and whether it is out of range (overflow to infinity,
/// underflow to zero or to an inexact subnormal).
fn parse_decimal_float(s: &[u8]) -> Option<(f64, bool)> {
    let int_len = run(s, |c| c.is_ascii_digit());
    let mut end = int_len;
    let mut frac_len = 0;
    if s.get(end) == Some(&b'.') {
        frac_len = run(&s[end + 1..], |c| c.is_ascii_digit());
        end += 1 + frac_len;
    }
    if int_len + frac_len == 0 {
        return None;
    }
    let mantissa = &s[..end];
    let exponent = match s.get(end) {
        None => 0,
        Some(b'e' | b'E') => parse_exponent(&s[end + 1..])?,
        Some(_) => return None,
    };
    // Only ASCII digits, '.', 'e' and signs are left, which Rust reads alike.
    let text = std::str::from_utf8(s).ok()?;
    let value: f64 = text.parse().ok()?;
    let nonzero = mantissa.iter().any(|&c| matches!(c, b'1'..=b'9'));
    let erange = value.is_infinite()
        || (value == 0.0 && nonzero)
        || (value.is_subnormal() && !decimal_is_exact(mantissa, exponent, value));
    Some((value, erange))
}

/// Whether the decimal `mantissa`·10^`exponent` is exactly `value` (only
/// asked for subnormal results, where glibc reports inexact ones as
/// `ERANGE`).
fn decimal_is_exact(mantissa: &[u8], exponent: i64, value: f64) -> bool {
    // Significant digits of the input and the power of ten of the first one.
    let point = mantissa.iter().position(|&c| c == b'.').unwrap_or(mantissa.len()) as i64;
    let Some(first) = mantissa.iter().position(|&c| matches!(c, b'1'..=b'9')) else { return value == 0.0 };
    let first_power = exponent + point - first as i64 - i64::from((first as i64) < point);
    let digits: Vec<u8> = mantissa[first..].iter().copied().filter(u8::is_ascii_digit).collect();
    let digits = &digits[..digits.iter().rposition(|&c| c != b'0').map_or(0, |i| i + 1)];
    // The exact expansion of a subnormal has fewer than 800 significant digits.
    let exact = format!("{:.800e}", value.abs());
    let Some((m, e)) = exact.split_once('e') else { return false };
    let m: Vec<u8> = m.bytes().filter(u8::is_ascii_digit).collect();
    let m = &m[..m.iter().rposition(|&c| c != b'0').map_or(0, |i| i + 1)];
    e.parse::<i64>().is_ok_and(|e| e == first_power) && m == digits
}

/// A hexadecimal float after `0x`, rounded to nearest even like glibc, and
/// whether it is out of range.
fn parse_hex_float(s: &[u8]) -> Option<(f64, bool)> {
    let int_len = run(s, |c| c.is_ascii_hexdigit());
    let mut end = int_len;
    let mut frac_len = 0;
    if s.get(end) == Some(&b'.') {
        frac_len = run(&s[end + 1..], |c| c.is_ascii_hexdigit());
        end += 1 + frac_len;
    }
    if int_len + frac_len == 0 {
        return None;
    }
    let exponent = match s.get(end) {
        None => 0,
        Some(b'p' | b'P') => parse_exponent(&s[end + 1..])?,
        Some(_) => return None,
    };
    // value = m · 2^exp2, with `sticky` set when nonzero digits did not fit in m.
    let mut m: u64 = 0;
    let mut exp2 = exponent;
    let mut sticky = false;
    let mut in_fraction = false;
    for &c in &s[..end] {
        if c == b'.' {
            in_fraction = true;
            continue;
        }
        let d = u64::from(char::from(c).to_digit(16).unwrap_or(0));
        if m >> 60 == 0 {
            m = m * 16 + d;
            if in_fraction {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !in_fraction {
                exp2 += 4;
            }
        }
    }
    if m == 0 {
        return Some((0.0, false));
    }
    let lz = m.leading_zeros();
    m <<= lz;
    exp2 -= i64::from(lz);
    // m is in [2^63, 2^64): the value is 1.f · 2^e.
    let e = exp2 + 63;
    if e > 1023 {
        return Some((f64::INFINITY, true));
    }
    let subnormal = e < -1022;
    let drop = if subnormal { (11 + (-1022 - e)).min(65) as u32 } else { 11 };
    // Round to nearest even on the `drop` bits below the kept ones.
    let (q, rem, half) = match drop {
        64 => (0, m, 1u64 << 63),
        65 => (0, m, 0),
        _ => (m >> drop, m & ((1u64 << drop) - 1), 1u64 << (drop - 1)),
    };
    let inexact = rem != 0 || sticky;
    let up = half != 0 && (rem > half || (rem == half && (sticky || q & 1 == 1)));
    let q = q + u64::from(up);
    if subnormal {
        return Some((f64::from_bits(q), inexact));
    }
    let (q, e) = if q >> 53 != 0 { (q >> 1, e + 1) } else { (q, e) };
    if e > 1023 {
        return Some((f64::INFINITY, true));
    }
    Some((f64::from_bits((((e + 1023) as u64) << 52) | (q & ((1u64 << 52) - 1))), false))
}

/// Appends `n` in decimal.
pub(in crate::template) fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    super::push_num(out, n.unsigned_abs(), 0, b'0');
}

/// `printf("%.*f", precision, d)` as glibc prints it.
fn push_double(out: &mut Vec<u8>, d: f64, precision: usize) {
    if d.is_nan() {
        out.extend_from_slice(if d.is_sign_negative() { b"-nan" } else { b"nan" });
    } else if d.is_infinite() {
        out.extend_from_slice(if d < 0.0 { b"-inf" } else { b"inf" });
    } else {
        let _ = write!(out, "{d:.precision$}");
    }
}

/// A C `(gint64)` cast of a double on x86-64: out of range and NaN give
/// `i64::MIN`.
fn c_double_to_i64(d: f64) -> i64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    // NaN is outside every range.
    if !(-TWO_63..TWO_63).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

const NAN: &[u8] = b"NaN";

/// Runs numeric function `f`; false when `f` is not one.
pub(super) fn call(f: BuiltinFunction, args: &Scratch, out: &mut Vec<u8>) -> bool {
    use BuiltinFunction::*;
    match f {
        Plus | Minus | Multiply | Divide | Modulo => arithmetic(f, args, out),
        Round => round(args, out),
        Ceil | Floor => {
            let n = match (args.len(), args.args().next().and_then(parse_number)) {
                (1, Some(n)) => n,
                _ => {
                    out.extend_from_slice(NAN);
                    return true;
                }
            };
            let d = n.as_f64();
            push_i64(out, c_double_to_i64(if f == Ceil { d.ceil() } else { d.floor() }));
        }
        // One message: the sum, minimum, maximum and average are its value.
        Sum | Min | Max | Average => {
            if let Some(n) = args.args().next().and_then(|a| parse_int(a, 10)) {
                push_i64(out, n);
            }
        }
        _ => return false,
    }
    true
}

fn arithmetic(f: BuiltinFunction, args: &Scratch, out: &mut Vec<u8>) {
    use BuiltinFunction::*;
    let (n, m) = match (args.len(), args.args().next().and_then(parse_number)) {
        (2, Some(n)) => match parse_number(args.arg(1)) {
            Some(m) => (n, m),
            None => return out.extend_from_slice(NAN),
        },
        _ => return out.extend_from_slice(NAN),
    };
    if matches!(f, Divide | Modulo) && m.is_zero() {
        return out.extend_from_slice(NAN);
    }
    match (n, m) {
        (Number::Int(a), Number::Int(b)) => push_i64(
            out,
            match f {
                Plus => a.wrapping_add(b),
                Minus => a.wrapping_sub(b),
                Multiply => a.wrapping_mul(b),
                Divide => a.wrapping_div(b),
                _ => a.wrapping_rem(b),
            },
        ),
        _ => {
            let (a, b) = (n.as_f64(), m.as_f64());
            let r = match f {
                Plus => a + b,
                Minus => a - b,
                Multiply => a * b,
                Divide => a / b,
                // Rust's `%` on doubles is C's `fmod`.
                _ => a % b,
            };
            push_double(out, r, 20);
        }
    }
}

fn round(args: &Scratch, out: &mut Vec<u8>) {
    let n = match (args.len(), args.args().next().and_then(parse_number)) {
        (1 | 2, Some(n)) => n,
        _ => return out.extend_from_slice(NAN),
    };
    let precision = if args.len() == 2 {
        match parse_int(args.arg(1), 10) {
            Some(p @ 0..=20) => p as usize,
            _ => return out.extend_from_slice(NAN),
        }
    } else {
        0
    };
    // 10^p is exact in a double for p <= 22.
    let multiplier = 10f64.powi(precision as i32);
    push_double(out, (n.as_f64() * multiplier).round() / multiplier, precision);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_int(b" -42", 10), Some(-42));
        assert_eq!(parse_int(b"+7", 10), Some(7));
        assert_eq!(parse_int(b"08", 10), Some(8));
        assert_eq!(parse_int(b"", 10), None);
        assert_eq!(parse_int(b"5 ", 10), None);
        assert_eq!(parse_int(b"-", 10), None);
        assert_eq!(parse_int(b"9223372036854775807", 10), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808", 10), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808", 10), None);
        assert_eq!(parse_int(b"0x41", 0), Some(65));
        assert_eq!(parse_int(b"0101", 0), Some(65));
        assert_eq!(parse_int(b"08", 0), None);
        assert_eq!(parse_int(b"0x", 0), None);
        assert_eq!(parse_int(b"0", 0), Some(0));
        assert_eq!(parse_int(b"12\0x", 10), Some(12));
    }

    #[test]
    fn doubles() {
        let p = |s: &str| parse_double(s.as_bytes());
        assert_eq!(p("1.5"), Some(1.5));
        assert_eq!(p(" +.5e1"), Some(5.0));
        assert_eq!(p("1."), Some(1.0));
        assert_eq!(p("."), None);
        assert_eq!(p("1e"), None);
        assert_eq!(p("1e+"), None);
        assert_eq!(p("0x10"), Some(16.0));
        assert_eq!(p("0x.8"), Some(0.5));
        assert_eq!(p("0x1P-2"), Some(0.25));
        assert_eq!(p("0x"), None);
        assert_eq!(p("0xp1"), None);
        assert_eq!(p("-INF"), Some(f64::NEG_INFINITY));
        assert_eq!(p("Infinity"), Some(f64::INFINITY));
        assert_eq!(p("infin"), None);
        assert!(p("nan(abc)").is_some_and(f64::is_nan));
        assert!(p("-nan").is_some_and(|d| d.is_nan() && d.is_sign_negative()));
        assert_eq!(p("nan(a-b)"), None);
        assert_eq!(p("1e309"), None);
        assert_eq!(p("1e-400"), None);
        assert_eq!(p("0e-400"), Some(0.0));
        assert_eq!(p("2.2250738585072014e-308"), Some(f64::MIN_POSITIVE));
        assert_eq!(p("2.225073858507201e-308"), None);
        assert_eq!(p("0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(p("0x1.8p-1074"), None);
        assert_eq!(p("0x1p1024"), None);
        assert_eq!(p("0x1.fffffffffffffp1023"), Some(f64::MAX));
        assert_eq!(p("0x1.00000000000008p0"), Some(1.0));
        assert_eq!(p("0x1.00000000000018p0"), Some(1.0 + 2.0 * f64::EPSILON));
        assert_eq!(p("0x1.000000000000080001p0"), Some(1.0 + f64::EPSILON));
        assert_eq!(p("1,5"), None);
        assert_eq!(strtod(b"1e-400"), Some((0.0, true)));
        assert_eq!(strtod(b"-1e400"), Some((f64::NEG_INFINITY, true)));
    }

    #[test]
    fn printing() {
        let show = |d: f64, p: usize| {
            let mut out = Vec::new();
            push_double(&mut out, d, p);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(show(1.0 / 3.0, 20), "0.33333333333333331483");
        assert_eq!(show(-0.0, 20), "-0.00000000000000000000");
        assert_eq!(show(-0.0, 0), "-0");
        assert_eq!(show(f64::NEG_INFINITY, 20), "-inf");
        assert_eq!(show(-f64::NAN, 20), "-nan");
        assert_eq!(show(2.0f64.powi(-21), 20), "0.00000047683715820312");
        assert_eq!(show(2.5, 0), "2");
        assert_eq!(c_double_to_i64(1e30), i64::MIN);
        assert_eq!(c_double_to_i64((-1.5f64).floor()), -2);
        assert_eq!(c_double_to_i64(f64::NAN), i64::MIN);
    }
}

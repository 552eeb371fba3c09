//! Comparisons (`"$PID" > 100`, `$HOST eq "a"`), after syslog-ng 3.38's `lib/filter/filter-cmp.c`.
//!
//! | Operators | Mode |
//! |---|---|
//! | `lt le eq ne ge gt` | string (`strcmp`) |
//! | `< <= == != >= >` | `atoi` on both sides (3.x), or type-aware when an operand has a type hint (and always with `@version: 4.x`) |
//! | `=== !==` | type first, then type-aware value |
//!
//! An operand without a type hint is a string in 3.x. A bare number in the configuration
//! (`> 100`, not `> "100"`) carries an `int64` hint in syslog-ng; the caller says so with
//! [`Operand::hint`].

use std::cmp::Ordering;

use super::FilterError;
use crate::bytes::c_str;
use crate::template::Template;

/// The value types of type hints (`int("$PID")`), as 3.38's `log_msg_value_type_from_str`
/// knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    /// `json`, also `literal`.
    Json,
    Boolean,
    /// `int32`, also `int`.
    Int32,
    Int64,
    /// `double`, also `float`.
    Double,
    Datetime,
    List,
    Null,
}

impl ValueType {
    /// The type named by a type hint.
    ///
    /// # Errors
    /// An unknown name, and `none`, which syslog-ng refuses as a hint.
    pub fn from_hint(name: &str) -> Result<ValueType, FilterError> {
        Ok(match name {
            "string" => ValueType::String,
            "json" | "literal" => ValueType::Json,
            "boolean" => ValueType::Boolean,
            "int32" | "int" => ValueType::Int32,
            "int64" => ValueType::Int64,
            "double" | "float" => ValueType::Double,
            "datetime" => ValueType::Datetime,
            "list" => ValueType::List,
            "null" => ValueType::Null,
            _ => return Err(FilterError::new(format!("Unknown type specified in type hinting: {name}"))),
        })
    }
}

/// A comparison operator: which orderings make it true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareOp {
    lt: bool,
    eq: bool,
    gt: bool,
    kind: OpKind,
}

/// The family of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `lt le eq ne ge gt`.
    String,
    /// `< <= == != >= >`.
    Numeric,
    /// `=== !==`.
    TypeAndValue,
}

impl CompareOp {
    /// The operator written as `op`.
    pub fn parse(op: &str) -> Option<CompareOp> {
        let (lt, eq, gt, kind) = match op {
            "lt" => (true, false, false, OpKind::String),
            "le" => (true, true, false, OpKind::String),
            "eq" => (false, true, false, OpKind::String),
            "ne" => (true, false, true, OpKind::String),
            "ge" => (false, true, true, OpKind::String),
            "gt" => (false, false, true, OpKind::String),
            "<" => (true, false, false, OpKind::Numeric),
            "<=" => (true, true, false, OpKind::Numeric),
            "==" => (false, true, false, OpKind::Numeric),
            "!=" => (true, false, true, OpKind::Numeric),
            ">=" => (false, true, true, OpKind::Numeric),
            ">" => (false, false, true, OpKind::Numeric),
            "===" => (false, true, false, OpKind::TypeAndValue),
            "!==" => (true, false, true, OpKind::TypeAndValue),
            _ => return None,
        };
        Some(CompareOp { lt, eq, gt, kind })
    }

    /// The operator's family.
    pub fn kind(self) -> OpKind {
        self.kind
    }

    fn is_ne(self) -> bool {
        self.lt && self.gt
    }

    fn is_eq(self) -> bool {
        self.eq && !self.lt && !self.gt
    }

    fn holds(self, ord: Ordering) -> bool {
        match ord {
            Ordering::Less => self.lt,
            Ordering::Equal => self.eq,
            Ordering::Greater => self.gt,
        }
    }
}

/// One side of a comparison: a template and its explicit type hint.
#[derive(Debug, Clone)]
pub struct Operand {
    pub template: Template,
    pub hint: Option<ValueType>,
}

impl Operand {
    /// The type of the formatted value: the hint, else string (3.x; rsng has no typed values).
    fn value_type(&self) -> ValueType {
        self.hint.unwrap_or(ValueType::String)
    }
}

/// How the two formatted sides are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareMode {
    String,
    /// `atoi` on both sides.
    Atoi,
    TypeAware,
    TypeAndValue,
}

/// A compiled comparison.
#[derive(Debug, Clone)]
pub struct Compare {
    pub lhs: Operand,
    pub rhs: Operand,
    pub op: CompareOp,
    pub mode: CompareMode,
}

impl Compare {
    /// `lhs op rhs`; `version4` selects `@version: 4.x` semantics (numeric operators are always
    /// type-aware).
    pub fn new(lhs: Operand, op: CompareOp, rhs: Operand, version4: bool) -> Compare {
        let mode = match op.kind {
            OpKind::String => CompareMode::String,
            OpKind::TypeAndValue => CompareMode::TypeAndValue,
            OpKind::Numeric if version4 || lhs.hint.is_some() || rhs.hint.is_some() => CompareMode::TypeAware,
            OpKind::Numeric => CompareMode::Atoi,
        };
        Compare { lhs, rhs, op, mode }
    }

    /// Compares the formatted sides.
    pub(crate) fn decide(&self, left: &[u8], right: &[u8]) -> bool {
        let (left, right) = (c_str(left), c_str(right));
        match self.mode {
            CompareMode::String => self.op.holds(left.cmp(right)),
            CompareMode::Atoi => self.op.holds(atoi(left).cmp(&atoi(right))),
            CompareMode::TypeAware => self.typed(left, self.lhs.value_type(), right, self.rhs.value_type()),
            CompareMode::TypeAndValue => {
                let (lt, rt) = (self.lhs.value_type(), self.rhs.value_type());
                if lt != rt {
                    return self.op.is_ne();
                }
                self.typed(left, lt, right, rt)
            }
        }
    }

    fn typed(&self, left: &[u8], lt: ValueType, right: &[u8], rt: ValueType) -> bool {
        let textual = |t| matches!(t, ValueType::String | ValueType::Json | ValueType::List);
        if lt == rt && textual(lt) {
            return self.op.holds(left.cmp(right));
        }
        if lt == ValueType::Null || rt == ValueType::Null {
            if self.op.is_ne() {
                return lt != rt;
            }
            if self.op.is_eq() {
                return lt == rt;
            }
        }
        match (to_number(left, lt), to_number(right, rt)) {
            (Some(l), Some(r)) => self.op.holds(l.compare(r)),
            // NaN on either side: only `!=` holds.
            _ => self.op.is_ne(),
        }
    }
}

/// glibc's `atoi`: `(int) strtol(s, NULL, 10)`.
pub fn atoi(s: &[u8]) -> i32 {
    strtol(s).map_or(0, |(v, _, _)| v as i32)
}

/// `strtol`/`strtoll` in base 10: leading white space, a sign, digits; saturates like glibc.
/// Returns the value, the bytes consumed and whether it overflowed (`ERANGE`), or `None` when
/// no digits were read.
fn strtol(s: &[u8]) -> Option<(i64, usize, bool)> {
    let mut i = s.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)).unwrap_or(s.len());
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut n: i128 = 0;
    while let Some(c) = s.get(i).filter(|c| c.is_ascii_digit()) {
        n = (n * 10 + i128::from(c - b'0')).min(i128::from(i64::MAX) + 2);
        i += 1;
    }
    if i == start {
        return None;
    }
    let v = if neg { -n } else { n };
    let clamped = v.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    Some((clamped as i64, i, clamped != v))
}

/// A parsed number (`GenericNumber`).
#[derive(Debug, Clone, Copy)]
enum Number {
    Int(i64),
    Double(f64),
}

impl Number {
    fn compare(self, other: Number) -> Ordering {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a.cmp(&b),
            (a, b) => {
                let (a, b) = (a.as_f64(), b.as_f64());
                if a < b {
                    Ordering::Less
                } else if a == b {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Double(d) => d,
        }
    }
}

/// `_convert_to_number`: `None` is NaN.
fn to_number(v: &[u8], t: ValueType) -> Option<Number> {
    match t {
        ValueType::String | ValueType::Int32 | ValueType::Int64 | ValueType::Double => parse_generic_number(v),
        ValueType::Json | ValueType::List => None,
        ValueType::Null => Some(Number::Int(0)),
        ValueType::Boolean => Some(Number::Int(matches!(v.first(), Some(b'T' | b't' | b'1')) as i64)),
        ValueType::Datetime => Some(Number::Int(datetime_msec(v).unwrap_or(0))),
    }
}

/// `parse_generic_number`: a whole decimal `int64` (with `strtoll` overflow failing), else a
/// whole `double`, else NaN.
fn parse_generic_number(v: &[u8]) -> Option<Number> {
    if let Some((n, used, false)) = strtol(v) {
        if used == v.len() {
            return Some(Number::Int(n));
        }
    }
    let text = std::str::from_utf8(v).ok()?;
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let d: f64 = trimmed.parse().ok()?;
    if d.is_nan() || (d.is_infinite() && !trimmed.to_ascii_lowercase().contains("inf")) {
        return None;
    }
    Some(Number::Double(d))
}

/// `type_cast_to_datetime_msec`: seconds with an optional fraction, in milliseconds.
fn datetime_msec(v: &[u8]) -> Option<i64> {
    let (secs, used, _) = strtol(v).unwrap_or((0, 0, false));
    let rest = &v[used..];
    let mut ms = secs.wrapping_mul(1000);
    if let Some(frac) = rest.strip_prefix(b".") {
        let frac = &frac[..frac.len().min(3)];
        if !frac.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut f: i64 = frac.iter().fold(0, |a, &c| a * 10 + i64::from(c - b'0'));
        for _ in frac.len()..3 {
            f *= 10;
        }
        ms = ms.wrapping_add(f);
    } else if !rest.is_empty() {
        return None;
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{compile, CompileContext};

    fn cmp(l: Option<&str>, op: &str, r: Option<&str>) -> Compare {
        let operand = |hint: Option<&str>| Operand {
            template: compile("", &CompileContext::new()).expect("compiles"),
            hint: hint.map(|h| ValueType::from_hint(h).expect("hint")),
        };
        Compare::new(operand(l), CompareOp::parse(op).expect("op"), operand(r), false)
    }

    #[test]
    fn atoi_like_glibc() {
        assert_eq!(atoi(b" -12abc"), -12);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b"+7"), 7);
        assert_eq!(atoi(b"99999999999"), 99999999999i64 as i32);
    }

    #[test]
    fn numeric_operators_use_atoi_in_3x() {
        let c = cmp(None, "==", None);
        assert_eq!(c.mode, CompareMode::Atoi);
        assert!(c.decide(b"sshd", b"a"));
        assert!(cmp(None, "<", None).decide(b"", b"100"));
        assert!(cmp(None, ">", None).decide(b"150x", b"100"));
    }

    #[test]
    fn type_hints_make_comparisons_type_aware() {
        let c = cmp(None, "<", Some("int64"));
        assert_eq!(c.mode, CompareMode::TypeAware);
        assert!(!c.decide(b"", b"100"));
        assert!(c.decide(b"5", b"100"));
        assert!(!c.decide(b"5x", b"100"));
        assert!(cmp(None, "!=", Some("int64")).decide(b"x", b"100"));
        assert!(cmp(Some("string"), "<", Some("string")).decide(b"10", b"9"));
        assert!(cmp(None, "==", Some("double")).decide(b"1.0", b"1"));
    }

    #[test]
    fn strict_type_and_value() {
        assert!(!cmp(None, "===", Some("int")).decide(b"5", b"5"));
        assert!(cmp(None, "!==", Some("int")).decide(b"5", b"5"));
        assert!(cmp(None, "===", None).decide(b"a", b"a"));
        assert!(cmp(Some("int"), "===", Some("int")).decide(b"05", b"5"));
    }

    #[test]
    fn string_operators() {
        assert!(cmp(None, "lt", None).decide(b"abc", b"abd"));
        assert!(cmp(None, "eq", None).decide(b"a\0x", b"a"));
        assert!(cmp(None, "ge", None).decide(b"b", b"a"));
    }
}

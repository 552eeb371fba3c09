//! `json-parser()`: a JSON object becomes name-value pairs, as in syslog-ng 3.38
//! (`modules/json/json-parser.c` over json-c 0.16).
//!
//! * The syntax is json-c's lenient one ([`doc`]): `'…'` strings, `/* */` and `//` comments,
//!   trailing commas, case-insensitive `true`/`false`/`null`, `NaN` and `Infinity`; text after the
//!   top-level value is ignored; at most 32 nesting levels.
//! * Members are set as `prefix` + key; a nested object's members as `prefix` + key + `.` + its
//!   key (the delimiter is `key-delimiter()`). Empty objects set nothing.
//! * Strings are set up to their first NUL; numbers as json-c prints them (`%f` for
//!   doubles, so `1.5` becomes `1.500000`; integers beyond 64 bits are clamped); booleans as
//!   `true`/`false`; `null` as an empty string.
//! * An array of scalars becomes a comma-separated list whose elements are quoted where needed
//!   (`["a b", 1]` is `"a b",1`); an array containing an object or array becomes its compact
//!   JSON text.
//! * A top-level array sets `$1`, `$2`, ... instead (and unsets `$0` and the groups after).
//! * `marker("@cee:")`: the input must start with it (spaces after it are skipped).
//! * `extract-prefix("a.b[2]")` selects the value to extract from; it must be an object or array.
//! * The parser fails when the input is not JSON, or is a scalar.

pub mod doc;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::io::Write as _;

use doc::{Doc, Node};

use super::nv::{self, c_str};
use super::scratch::Scratch;
use crate::message::LogMessage;
use crate::strrepr::encode_append;

/// One step of an `extract-prefix()` path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Member(Vec<u8>),
    Index(usize),
}

/// A compiled `extract-prefix()`; `None` inside when the text is not a valid path (the parser
/// then fails on every message, as syslog-ng's does).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExtractPath(Option<Vec<Step>>);

impl ExtractPath {
    fn compile(text: &str) -> ExtractPath {
        let b = text.as_bytes();
        // Levels split before `.` (dropped) and before `[` (kept).
        let mut levels: Vec<&[u8]> = Vec::new();
        let mut last = 0;
        for (i, &c) in b.iter().enumerate() {
            if c == b'.' {
                levels.push(&b[last..i]);
                last = i + 1;
            } else if c == b'[' {
                levels.push(&b[last..i]);
                last = i;
            }
        }
        levels.push(&b[last..]);
        let mut steps = Vec::new();
        for (i, level) in levels.iter().enumerate() {
            if i == 0 && level.is_empty() {
                continue;
            }
            let step = if level.first() == Some(&b'[') {
                Self::index(&level[1..])
            } else {
                let printable = |c: &u8| (0x20..0x7f).contains(c) && !b".[]".contains(c);
                (!level.is_empty() && level.iter().all(printable)).then(|| Step::Member(level.to_vec()))
            };
            match step {
                Some(s) => steps.push(s),
                None => return ExtractPath(None),
            }
        }
        ExtractPath(Some(steps))
    }

    /// `N]` after `[`: `strtol` (leading spaces and a sign allowed, no digits read as 0), then
    /// exactly `]`.
    fn index(rest: &[u8]) -> Option<Step> {
        let mut p = rest.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(rest.len());
        let neg = match rest.get(p) {
            Some(b'-') => {
                p += 1;
                true
            }
            Some(b'+') => {
                p += 1;
                false
            }
            _ => false,
        };
        let digits = rest[p..].iter().take_while(|c| c.is_ascii_digit()).count();
        let n = if digits == 0 {
            p = 0;
            0i64
        } else {
            let s = std::str::from_utf8(&rest[p..p + digits]).ok()?;
            p += digits;
            s.parse::<i64>().unwrap_or(i64::MAX)
        };
        if &rest[p..] != b"]" || (neg && n > 0) {
            return None;
        }
        Some(Step::Index(usize::try_from(n).ok()?))
    }

    fn eval(&self, d: &Doc, mut node: u32) -> Option<u32> {
        for step in self.0.as_ref()? {
            node = match (step, d.nodes[node as usize]) {
                (Step::Member(name), Node::Object(s, e)) => d.member(s, e, name)?,
                (Step::Index(i), Node::Array(s, e)) => {
                    let i = u32::try_from(*i).ok()?;
                    if s + i >= e {
                        return None;
                    }
                    d.links[(s + i) as usize]
                }
                _ => return None,
            };
            if matches!(d.nodes[node as usize], Node::Null) {
                // json-c keeps a JSON null as no object at all.
                return None;
            }
        }
        Some(node)
    }
}

/// `json-parser()`.
#[derive(Debug, Clone)]
pub struct JsonParser {
    prefix: Option<String>,
    marker: Option<Vec<u8>>,
    extract: Option<ExtractPath>,
    key_delimiter: u8,
}

thread_local! {
    static DOC: RefCell<Doc> = RefCell::new(Doc::default());
}

impl JsonParser {
    /// `key_delimiter` joins the keys of nested objects (default `.`).
    pub fn new(
        prefix: Option<&str>,
        marker: Option<&str>,
        extract_prefix: Option<&str>,
        key_delimiter: u8,
    ) -> JsonParser {
        JsonParser {
            prefix: prefix.map(str::to_string),
            marker: marker.map(|m| m.as_bytes().to_vec()),
            extract: extract_prefix.map(ExtractPath::compile),
            key_delimiter,
        }
    }

    pub fn parse(&self, msg: &mut LogMessage, input: &[u8]) -> bool {
        let mut text = input;
        // Without a marker json-c reads exactly the input; with one, syslog-ng hands it the
        // original length from a later start, so it runs into the string's terminating NUL.
        let mut nul_end = input.contains(&0);
        if let Some(marker) = &self.marker {
            if !c_str(input).starts_with(marker) {
                return false;
            }
            text = &input[marker.len()..];
            while text.first().is_some_and(|&c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')) {
                text = &text[1..];
            }
            nul_end = true;
        }
        DOC.with(|d| {
            let Ok(mut d) = d.try_borrow_mut() else { return false };
            let Some(root) = d.parse(c_str(text), nul_end) else { return false };
            let root = match &self.extract {
                Some(path) => match path.eval(&d, root) {
                    Some(n) => n,
                    None => return false,
                },
                None => root,
            };
            match d.nodes[root as usize] {
                Node::Object(s, e) => {
                    let mut path = d.take_path();
                    path.push_str(self.prefix.as_deref().unwrap_or(""));
                    let mut value = Scratch::take();
                    self.object(&d, s, e, &mut path, &mut value, msg);
                    d.give_path(path);
                    true
                }
                Node::Array(s, e) => {
                    nv::truncate_matches(msg, 0);
                    let mut value = Scratch::take();
                    let n = ((e - s) as usize).min(nv::MAX_MATCHES);
                    for i in 0..n {
                        let el = d.links[s as usize + i];
                        value.clear();
                        if !scalar(&d, el, &mut value) {
                            d.serialize(el, &mut value);
                        }
                        nv::set_match(msg, i + 1, c_str(&value));
                    }
                    nv::truncate_matches(msg, n + 1);
                    true
                }
                _ => false,
            }
        })
    }

    /// Sets the members of the object `links[s..e]`; `path` holds the name prefix so far.
    fn object(&self, d: &Doc, s: u32, e: u32, path: &mut String, value: &mut Vec<u8>, msg: &mut LogMessage) {
        let base = path.len();
        let mut item = Scratch::take();
        let mut i = s;
        while i < e {
            let (k, v) = (d.links[i as usize], d.links[i as usize + 1]);
            i += 2;
            path.truncate(base);
            push_lossy(path, c_str(d.str_of(k)));
            value.clear();
            if scalar(d, v, value) {
                nv::set(msg, path, c_str(value));
                continue;
            }
            match d.nodes[v as usize] {
                Node::Object(cs, ce) => {
                    path.push(char::from(self.key_delimiter));
                    self.object(d, cs, ce, path, value, msg);
                }
                Node::Array(cs, ce) => {
                    value.clear();
                    let mut complex = false;
                    for j in cs..ce {
                        item.clear();
                        if !scalar(d, d.links[j as usize], &mut item) {
                            complex = true;
                            break;
                        }
                        if j != cs {
                            value.push(b',');
                        }
                        encode_append(value, c_str(&item), b"");
                    }
                    if complex {
                        value.clear();
                        d.serialize(v, value);
                    }
                    nv::set(msg, path, c_str(value));
                }
                _ => {}
            }
        }
        path.truncate(base);
    }
}

fn push_lossy(out: &mut String, s: &[u8]) {
    match std::str::from_utf8(s) {
        Ok(t) => out.push_str(t),
        Err(_) => out.push_str(&String::from_utf8_lossy(s)),
    }
}

/// Appends a scalar's text as syslog-ng sets it; `false` for objects and arrays.
fn scalar(d: &Doc, node: u32, out: &mut Vec<u8>) -> bool {
    match d.nodes[node as usize] {
        Node::Null => {}
        Node::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Node::Int(n) => push_display(out, n),
        // json-c's `get_int64` clamps an unsigned value.
        Node::UInt(n) => push_display(out, i64::try_from(n).unwrap_or(i64::MAX)),
        Node::Double(v, _) => push_printf_f(out, v),
        Node::Str(s, e) => out.extend_from_slice(&d.text[s as usize..e as usize]),
        Node::Object(..) | Node::Array(..) => return false,
    }
    true
}

fn push_display(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    let _ = write!(out, "{n}");
}

/// C's `printf("%f", v)`.
pub(crate) fn push_printf_f(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() { b"-nan" } else { b"nan" });
    } else if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
    } else {
        let _ = write!(out, "{v:.6}");
    }
}

//! The `list-*` template functions of syslog-ng 3.38
//! (`modules/basicfuncs/list-funcs.c`). A list argument list is scanned
//! argument by argument (elements never span arguments; empty ones are
//! skipped), elements are written back with [`encode_append`].

use std::cell::RefCell;

use super::list::scan_next;
use super::{c_str, option, parse_int64, push_num, with_item_buf, Scratch};
use crate::strrepr::encode_append;
use crate::template::{BuiltinFunction, FuncArg, FuncCall};

/// Calls `f` with each element of the lists in `args[from..]` until it returns false.
fn each_item(args: &Scratch, from: usize, item: &mut Vec<u8>, mut f: impl FnMut(&[u8]) -> bool) {
    for arg in args.args().skip(from) {
        let mut rest = c_str(arg);
        while let Some(next) = scan_next(rest, item) {
            rest = next;
            if !f(item) {
                return;
            }
        }
    }
}

fn count(args: &Scratch, from: usize, item: &mut Vec<u8>) -> i64 {
    let mut n = 0;
    each_item(args, from, item, |_| {
        n += 1;
        true
    });
    n
}

fn comma_if_needed(out: &mut Vec<u8>, start: usize) {
    if out.len() > start && out.last() != Some(&b',') {
        out.push(b',');
    }
}

fn nth(args: &Scratch, from: usize, ndx: i64, item: &mut Vec<u8>, out: &mut Vec<u8>) {
    if args.len() <= from {
        return;
    }
    let ndx = if ndx < 0 { ndx + count(args, from, item) } else { ndx };
    let mut i = 0;
    each_item(args, from, item, |v| {
        if i == ndx {
            out.extend_from_slice(c_str(v));
            return false;
        }
        i += 1;
        true
    });
}

fn slice(args: &Scratch, from: usize, first: i32, last: i32, item: &mut Vec<u8>, out: &mut Vec<u8>) {
    if args.len() <= from {
        return;
    }
    let (mut first, mut last) = (i64::from(first), i64::from(last));
    if first < 0 || last < 0 {
        let n = count(args, from, item);
        if first < 0 {
            first += n;
        }
        if last < 0 {
            last += n;
        }
    }
    let start = out.len();
    let mut i = 0i64;
    each_item(args, from, item, |v| {
        if i >= first {
            if i >= last {
                return false;
            }
            comma_if_needed(out, start);
            encode_append(out, c_str(v), b",");
        }
        i += 1;
        true
    });
}

/// Runs list function `f`; false when `f` is not one.
pub(super) fn call(f: BuiltinFunction, args: &Scratch, out: &mut Vec<u8>) -> bool {
    with_item_buf(|item| call_with(f, args, item, out))
}

fn call_with(f: BuiltinFunction, args: &Scratch, item: &mut Vec<u8>, out: &mut Vec<u8>) -> bool {
    use BuiltinFunction::*;
    match f {
        ListConcat => {
            let start = out.len();
            each_item(args, 0, item, |v| {
                comma_if_needed(out, start);
                encode_append(out, c_str(v), b",");
                true
            });
        }
        ListAppend => {
            if args.len() == 0 {
                return true;
            }
            let start = out.len();
            out.extend_from_slice(args.arg(0));
            for a in args.args().skip(1) {
                comma_if_needed(out, start);
                encode_append(out, a, b",");
            }
        }
        ListCount => push_num(out, count(args, 0, item) as u64, 0, b'0'),
        ListHead => nth(args, 0, 0, item, out),
        ListNth => {
            if args.len() == 0 {
                return true;
            }
            if let Some(ndx) = parse_int64(args.arg(0)) {
                nth(args, 1, ndx, item, out);
            }
        }
        ListTail => slice(args, 0, 1, i32::MAX, item, out),
        ListSlice => {
            if args.len() == 0 {
                return true;
            }
            let spec = c_str(args.arg(0));
            let (first, last) = match spec.iter().position(|&c| c == b':') {
                Some(i) => (&spec[..i], Some(&spec[i + 1..])),
                None => (spec, None),
            };
            let first = if first.is_empty() { Some(0) } else { parse_int64(first) };
            let last = match last {
                Some(l) if !l.is_empty() => parse_int64(l),
                _ => Some(i64::from(i32::MAX)),
            };
            if let (Some(first), Some(last)) = (first, last) {
                slice(args, 1, first as i32, last as i32, item, out);
            }
        }
        _ => return false,
    }
    true
}

thread_local! {
    /// The last `--mode pcre` pattern compiled on this thread, so a warm
    /// thread does not recompile it per message.
    static LAST_PCRE: RefCell<Option<(String, Option<pcre2::bytes::Regex>)>> = const { RefCell::new(None) };
}

/// `$(list-search [--mode M] [--start-index N] PATTERN LIST...)`: the index
/// of the first matching element at or after N. The pattern is the
/// argument as written (3.38 compiles it as a template but never expands
/// it); false when `f` is not `list-search`.
pub(super) fn list_search(f: BuiltinFunction, call: &FuncCall, args: &Scratch, out: &mut Vec<u8>) -> bool {
    if f != BuiltinFunction::ListSearch {
        return false;
    }
    let Some(pattern) = call.args.iter().find_map(|a| match a {
        FuncArg::Raw(t) => Some(t.text.as_str()),
        _ => None,
    }) else {
        return true;
    };
    let pattern = c_str(pattern.as_bytes());
    let mode = option(call, "mode").flatten().unwrap_or("literal");
    let start = option(call, "start-index").flatten().and_then(|n| glib_option_int(n).ok()).unwrap_or(0);
    let run = |matches: &dyn Fn(&[u8]) -> bool| {
        with_item_buf(|item| {
            let mut index = start;
            let mut skip = start.max(0);
            let mut found = None;
            each_item(args, 1, item, |v| {
                if skip > 0 {
                    skip -= 1;
                    return true;
                }
                if matches(c_str(v)) {
                    found = Some(index);
                    return false;
                }
                index += 1;
                true
            });
            found
        })
    };
    let found = match mode {
        "prefix" => run(&|v| v.starts_with(pattern)),
        "substring" => run(&|v| pattern.is_empty() || v.windows(pattern.len()).any(|w| w == pattern)),
        "glob" => run(&|v| super::value_pairs::glob_match(pattern, false, v)),
        "pcre" => LAST_PCRE.with(|cache| {
            let mut cache = cache.borrow_mut();
            let text = std::str::from_utf8(pattern).unwrap_or("");
            if cache.as_ref().is_none_or(|(p, _)| p != text) {
                let re = anchored_pcre(text);
                *cache = Some((text.to_owned(), re));
            }
            let re = cache.as_ref().and_then(|(_, re)| re.as_ref())?;
            run(&|v| re.is_match(v).unwrap_or(false))
        }),
        _ => run(&|v| v == pattern),
    };
    if let Some(index) = found {
        if index < 0 {
            out.push(b'-');
        }
        push_num(out, u64::from(index.unsigned_abs()), 0, b'0');
    }
    true
}

/// Why GLib refuses an integer option value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::template) enum IntOptionError {
    /// Not a number (`Cannot parse integer value`).
    Invalid,
    /// Outside a C `int` (`Integer value ... out of range`).
    OutOfRange,
}

/// GLib's `G_OPTION_ARG_INT` parsing: `strtol(s, &end, 0)` (so `0x10` and
/// `010` are 16 and 8) that must consume everything and fit an `int`.
pub(in crate::template) fn glib_option_int(s: &str) -> Result<i32, IntOptionError> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (digits, radix) = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (hex, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        (&t[1..], 8)
    } else {
        (t, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(IntOptionError::Invalid);
    }
    let n = i64::from_str_radix(digits, radix).map_err(|_| IntOptionError::OutOfRange)?;
    let n = if neg { -n } else { n };
    i32::try_from(n).map_err(|_| IntOptionError::OutOfRange)
}

/// 3.38 compiles `list-search` patterns with `PCRE_ANCHORED`: a match must
/// start at the element's start.
fn anchored_pcre(pattern: &str) -> Option<pcre2::bytes::Regex> {
    pcre2::bytes::RegexBuilder::new().build(&format!("\\A(?:{pattern})")).ok()
}

/// Whether a `--mode pcre` pattern compiles (a compile-time check).
pub(in crate::template) fn list_search_pcre_compiles(pattern: &str) -> bool {
    anchored_pcre(pattern).is_some()
}

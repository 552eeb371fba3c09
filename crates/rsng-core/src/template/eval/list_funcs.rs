//! The `list-*` template functions of syslog-ng 3.38
//! (`modules/basicfuncs/list-funcs.c`). A list argument list is scanned
//! argument by argument (elements never span arguments; empty ones are
//! skipped), elements are written back with [`encode_item`].

use super::list::{encode_item, scan_next};
use super::{c_str, parse_int64, push_num, with_item_buf, Scratch};
use crate::template::BuiltinFunction;

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
            encode_item(out, c_str(v));
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
                encode_item(out, c_str(v));
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
                encode_item(out, a);
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

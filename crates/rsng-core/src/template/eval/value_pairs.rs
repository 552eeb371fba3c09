//! value-pairs and the functions built on it: `$(format-json)`,
//! `$(format-flat-json)`, `$(format-welf)`, `$(format-cef-extension)`,
//! `$(values)` and `$(names)`, as syslog-ng 3.38 evaluates them
//! (`lib/value-pairs`, `modules/json/format-json.c`, `modules/kvformat`,
//! `modules/cef`, `modules/basicfuncs/vp-funcs.c`).
//!
//! The value-pairs command line is not compiled into a separate structure:
//! scopes, key patterns and rekey transforms are read from the call's
//! arguments ([`FuncArg::Option`], [`FuncArg::Raw`], [`FuncArg::Pair`]) in
//! their written order each time, which is what syslog-ng's option callbacks
//! do once at startup. Selected names and values go into a per-thread
//! scratch ([`VpScratch`]); the entries are sorted in place, so a warm
//! thread formats without allocating.
//!
//! Facts of 3.38 that shape the output:
//! * `@version: 3.x` casts everything to strings unless a pair has an
//!   explicit type hint (`a=int($PID)`); `--no-cast` is not supported here.
//! * Later sources replace earlier ones under the same (rekeyed) name:
//!   message values, then macros of the scopes, then explicit pairs.
//! * Keys are emitted in *descending* byte order (`strcmp(b, a)`), also by
//!   `format-flat-json`; `values`, `names` and `format-cef-extension` use
//!   ascending order, `format-welf` ascending with its `id` quirk (see
//!   [`format_welf`]).
//! * Only the JSON formatters turn a leading `.` into `_`.
//! * Unless `--leave-initial-dot` (or a `--key-delimiter` other than `.`),
//!   a leading `.` of a key becomes `_` after all other rekeying.
//! * Nesting splits keys on `.` except inside `@1234.5.6` enterprise ids;
//!   an open object is kept while the next key merely starts with its
//!   dotted prefix (a byte prefix, not a whole component: 3.38's quirk).
//! * A failed cast (`int(x)`) follows `on-error()`: `drop-message` (the
//!   default) empties the whole `$(format-json)`, `drop-property` skips the
//!   value but still writes the comma that would have followed it,
//!   `fallback-to-string` quotes it.

use std::cell::RefCell;

use super::{eval_elems, expand_macro, FormatError, FormatOptions, OnError};
use crate::message::{Builtin, LogMessage};
use crate::template::macro_table;
use crate::template::{FuncArg, FuncCall};

const NV_PAIRS: u8 = 0x01;
const DOT_NV_PAIRS: u8 = 0x02;
const RFC3164: u8 = 0x04;
const RFC5424: u8 = 0x08;
const ALL_MACROS: u8 = 0x10;
const SELECTED_MACROS: u8 = 0x20;
const SDATA: u8 = 0x40;
const EVERYTHING: u8 = 0x7f;

fn scope_flag(name: &str) -> Option<u8> {
    Some(match name {
        "nv-pairs" => NV_PAIRS,
        "dot-nv-pairs" => DOT_NV_PAIRS,
        "all-nv-pairs" => NV_PAIRS | DOT_NV_PAIRS,
        "rfc3164" | "core" | "base" => RFC3164,
        "rfc5424" | "syslog-proto" => RFC5424,
        "all-macros" => ALL_MACROS,
        "selected-macros" => SELECTED_MACROS,
        "sdata" => SDATA,
        "everything" => EVERYTHING,
        _ => return None,
    })
}

/// The `rfc3164`/`core`/`base` set (also part of `rfc5424` and `selected-macros`).
const RFC3164_SET: &[&str] = &["FACILITY", "PRIORITY", "HOST", "PROGRAM", "PID", "MESSAGE", "DATE"];
const RFC5424_SET: &[&str] = &["MSGID"];
const SELECTED_SET: &[&str] = &["TAGS", "SOURCEIP", "SEQNUM"];

/// A value's type, as far as value-pairs carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VType {
    String,
    Json,
    List,
    Int32,
    Int64,
    Double,
    Boolean,
    Null,
}

fn vtype_of_hint(hint: &str) -> VType {
    match hint {
        "json" | "literal" => VType::Json,
        "boolean" => VType::Boolean,
        "int32" | "int" => VType::Int32,
        "int64" => VType::Int64,
        "double" | "float" => VType::Double,
        "list" => VType::List,
        "null" => VType::Null,
        // string, datetime
        _ => VType::String,
    }
}

/// One selected value: ranges of [`VpScratch::keys`] and [`VpScratch::vals`].
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: (u32, u32),
    val: (u32, u32),
    ty: VType,
    seq: u32,
    /// When the key was first inserted (a replaced value keeps its key's
    /// place, which `format-welf`'s ordering depends on).
    first_seq: u32,
}

/// Per-thread buffers of one value-pairs evaluation.
#[derive(Default)]
struct VpScratch {
    keys: Vec<u8>,
    vals: Vec<u8>,
    entries: Vec<Entry>,
    /// The object stack of the JSON walker: prefix ranges in `prefixes`.
    stack: Vec<(usize, usize)>,
    prefixes: Vec<u8>,
    tokens: Vec<(usize, usize)>,
    list_item: Vec<u8>,
}

thread_local! {
    static VP_POOL: RefCell<Vec<VpScratch>> = const { RefCell::new(Vec::new()) };
}

fn take() -> VpScratch {
    VP_POOL.with(|p| p.borrow_mut().pop()).unwrap_or_default()
}

fn give_back(mut s: VpScratch) {
    s.keys.clear();
    s.vals.clear();
    s.entries.clear();
    s.stack.clear();
    s.prefixes.clear();
    s.tokens.clear();
    s.list_item.clear();
    if s.keys.capacity() + s.vals.capacity() <= 1 << 20 {
        VP_POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < 8 {
                p.push(s);
            }
        });
    }
}

/// What the options of one call say, read from its arguments.
struct Spec<'a> {
    call: &'a FuncCall,
    scopes: u8,
    has_patterns: bool,
    omit_empty: bool,
    /// `.` keys become `_` keys.
    initial_dot: bool,
    delimiter: u8,
}

fn opt_value(value: &Option<crate::template::ArgText>) -> &str {
    value.as_ref().map_or("", |v| v.text.as_str())
}

impl<'a> Spec<'a> {
    /// `typed`: whether the caller prints types, so that `--no-cast`
    /// (which keeps the types of message values) would matter.
    fn new(call: &'a FuncCall, typed: bool) -> Result<Spec<'a>, FormatError> {
        let mut spec =
            Spec { call, scopes: 0, has_patterns: false, omit_empty: false, initial_dot: true, delimiter: b'.' };
        // (transform set open, rekey pattern pending), to refuse `--subkeys` after an open set:
        // 3.38 then adds its replace-prefix to that earlier set.
        let (mut open, mut key) = (false, false);
        for arg in &call.args {
            match arg {
                FuncArg::Option { name: "key" | "rekey", .. } | FuncArg::Raw(_) => (open, key) = (false, true),
                FuncArg::Option { name: "scope" | "exclude" | "pair", .. } | FuncArg::Pair { .. } => {
                    (open, key) = (false, false)
                }
                FuncArg::Option {
                    name: "add-prefix" | "replace-prefix" | "replace" | "shift" | "shift-levels",
                    ..
                } if !open && key => (open, key) = (true, false),
                FuncArg::Option { name: "subkeys", .. } if open => return Err(unsupported(call)),
                FuncArg::Option { name: "subkeys", .. } => (open, key) = (true, false),
                _ => {}
            }
            match arg {
                FuncArg::Option { name: "scope", value } => {
                    for scope in opt_value(value).split(',') {
                        match scope {
                            "none" => spec.scopes = 0,
                            s => spec.scopes |= scope_flag(s).ok_or_else(|| unsupported(call))?,
                        }
                    }
                }
                FuncArg::Option { name: "key" | "exclude" | "subkeys", .. } | FuncArg::Raw(_) => {
                    spec.has_patterns = true
                }
                FuncArg::Option { name: "omit-empty-values", .. } => spec.omit_empty = true,
                FuncArg::Option { name: "leave-initial-dot", .. } => spec.initial_dot = false,
                FuncArg::Option { name: "key-delimiter", value } => {
                    spec.delimiter = opt_value(value).bytes().next().unwrap_or(b'.')
                }
                FuncArg::Option { name: "no-cast", .. } if typed => return Err(unsupported(call)),
                _ => {}
            }
        }
        if spec.delimiter != b'.' {
            spec.initial_dot = false;
        }
        Ok(spec)
    }

    /// Whether the `--key`/`--exclude`/`--subkeys` patterns (the last that
    /// matches) select `name`, starting from `default`.
    fn selected(&self, name: &[u8], default: bool) -> bool {
        let mut inc = default;
        for arg in &self.call.args {
            let (text, include) = match arg {
                FuncArg::Option { name: "key", value } => (opt_value(value), true),
                FuncArg::Option { name: "exclude", value } => (opt_value(value), false),
                FuncArg::Option { name: "subkeys", value } => {
                    if glob_match(opt_value(value).as_bytes(), true, name) {
                        inc = true;
                    }
                    continue;
                }
                FuncArg::Raw(t) => (t.text.as_str(), true),
                _ => continue,
            };
            for pattern in text.split(',') {
                if glob_match(pattern.as_bytes(), false, name) {
                    inc = include;
                }
            }
        }
        inc
    }

    /// Applies the rekey transforms to `buf[start..]` (syslog-ng's
    /// `vp_transform_apply`), then the initial-dot rule.
    fn rekey(&self, buf: &mut Vec<u8>, start: usize) {
        let mut key: Option<&str> = None;
        // Some(active) while a transform set is open.
        let mut set: Option<bool> = None;
        for arg in &self.call.args {
            let FuncArg::Option { name, value } = arg else {
                if matches!(arg, FuncArg::Raw(_) | FuncArg::Pair { .. }) {
                    set = None;
                    key = if let FuncArg::Raw(t) = arg { Some(t.text.as_str()) } else { None };
                }
                continue;
            };
            let value = opt_value(value);
            match *name {
                "key" | "rekey" => {
                    set = None;
                    key = Some(value);
                }
                "scope" | "exclude" | "pair" => {
                    set = None;
                    key = None;
                }
                "subkeys" => {
                    key = None;
                    let active = glob_match(value.as_bytes(), true, &buf[start..]);
                    set = Some(active);
                    if active {
                        replace_prefix(buf, start, value.as_bytes(), b"");
                    }
                }
                "add-prefix" | "replace-prefix" | "replace" | "shift" | "shift-levels" => {
                    let active = match set {
                        Some(a) => a,
                        None => match key.take() {
                            Some(k) => {
                                let a = glob_match(k.as_bytes(), false, &buf[start..]);
                                set = Some(a);
                                a
                            }
                            None => false,
                        },
                    };
                    if !active {
                        continue;
                    }
                    match *name {
                        "add-prefix" => insert_at(buf, start, value.as_bytes()),
                        "shift" => {
                            let n = parse_strtol0(value).unwrap_or(0);
                            if n > 0 && start + n as usize <= buf.len() {
                                buf.drain(start..start + n as usize);
                            }
                        }
                        "shift-levels" => {
                            let n = parse_strtol0(value).unwrap_or(0);
                            let mut dots = buf[start..].iter().enumerate().filter(|&(_, &c)| c == b'.').map(|(i, _)| i);
                            if let Some(dot) = dots.nth((n.max(1) - 1) as usize) {
                                buf.drain(start..start + dot + 1);
                            }
                        }
                        _ => {
                            if let Some((old, new)) = value.split_once('=') {
                                replace_prefix(buf, start, old.as_bytes(), new.as_bytes());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if self.initial_dot && buf.get(start) == Some(&b'.') {
            buf[start] = b'_';
        }
    }
}

fn unsupported(call: &FuncCall) -> FormatError {
    FormatError::Unsupported(call.name.clone())
}

/// C's `strtol(s, &end, 0)` that must consume everything.
fn parse_strtol0(s: &str) -> Option<i64> {
    let (neg, t) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse::<i64>().ok()?
    };
    Some(if neg { -n } else { n })
}

fn insert_at(buf: &mut Vec<u8>, at: usize, s: &[u8]) {
    buf.extend_from_slice(s);
    buf[at..].rotate_right(s.len());
}

fn replace_prefix(buf: &mut Vec<u8>, start: usize, old: &[u8], new: &[u8]) {
    if buf[start..].starts_with(old) {
        buf.drain(start..start + old.len());
        insert_at(buf, start, new);
    }
}

/// GLib's `g_pattern_match_string`: `*` any run, `?` one UTF-8 character;
/// `star` appends a `*` to `pattern`.
pub(super) fn glob_match(pattern: &[u8], star: bool, s: &[u8]) -> bool {
    let pat = |i: usize| -> Option<u8> {
        match pattern.get(i) {
            Some(&c) => Some(c),
            None if star && i == pattern.len() => Some(b'*'),
            None => None,
        }
    };
    let char_len = |c: u8| -> usize {
        match c {
            0xf0..=0xff => 4,
            0xe0..=0xef => 3,
            0xc0..=0xdf => 2,
            _ => 1,
        }
    };
    let (mut p, mut i) = (0usize, 0usize);
    let mut back: Option<(usize, usize)> = None;
    loop {
        match pat(p) {
            Some(b'*') => {
                p += 1;
                back = Some((p, i));
                continue;
            }
            Some(c) if i < s.len() => {
                if c == b'?' {
                    i = (i + char_len(s[i])).min(s.len());
                    p += 1;
                    continue;
                }
                if c == s[i] {
                    i += 1;
                    p += 1;
                    continue;
                }
            }
            None if i == s.len() => return true,
            _ => {}
        }
        match back {
            Some((bp, bi)) if bi < s.len() => {
                let ni = (bi + char_len(s[bi])).min(s.len());
                back = Some((bp, ni));
                p = bp;
                i = ni;
            }
            _ => return false,
        }
    }
}

/// Collects the selected name-value pairs into a scratch (see [`collect`]) and hands them to
/// `write`; the scratch goes back to the pool afterwards.
fn with_collected(
    spec: &Spec<'_>,
    msg: &LogMessage,
    opts: &FormatOptions,
    keep_ids: bool,
    write: impl FnOnce(&mut VpScratch),
) -> Result<(), FormatError> {
    let mut sc = take();
    let result = collect(spec, msg, opts, &mut sc, keep_ids);
    if result.is_ok() {
        write(&mut sc);
    }
    give_back(sc);
    result
}

/// Collects the selected name-value pairs into `sc` (keys rekeyed), sorted in descending key
/// order with duplicates resolved (last source wins); `keep_ids` keeps every `id` entry
/// (`format-welf`'s comparator never finds an `id` equal to another).
fn collect(
    spec: &Spec<'_>,
    msg: &LogMessage,
    opts: &FormatOptions,
    sc: &mut VpScratch,
    keep_ids: bool,
) -> Result<(), FormatError> {
    let mut seq = 0u32;
    let mut push = |sc: &mut VpScratch, key_start: usize, val_start: usize, ty: VType| {
        spec.rekey(&mut sc.keys, key_start);
        sc.entries.push(Entry {
            key: (key_start as u32, sc.keys.len() as u32),
            val: (val_start as u32, sc.vals.len() as u32),
            ty,
            seq,
            first_seq: seq,
        });
        seq += 1;
    };
    // message values
    if spec.scopes & (NV_PAIRS | DOT_NV_PAIRS | SDATA | RFC5424) != 0 || spec.has_patterns {
        for (name, value) in msg.values() {
            if spec.omit_empty && value.is_empty() {
                continue;
            }
            let key_start = sc.keys.len();
            name.write(&mut sc.keys);
            let n = &sc.keys[key_start..];
            let dot = n.first() == Some(&b'.');
            let is_sdata = n.len() > 7 && n.starts_with(b".SDATA.");
            let default = (dot && spec.scopes & DOT_NV_PAIRS != 0)
                || (!dot && spec.scopes & NV_PAIRS != 0)
                || (is_sdata && spec.scopes & (SDATA | RFC5424) != 0);
            if !spec.selected(n, default) {
                sc.keys.truncate(key_start);
                continue;
            }
            let val_start = sc.vals.len();
            sc.vals.extend_from_slice(value);
            push(sc, key_start, val_start, VType::String);
        }
    }
    // macros of the scopes and patterns
    let mut builtin = |sc: &mut VpScratch, name: &str| {
        let val_start = sc.vals.len();
        match name {
            "PROGRAM" => sc.vals.extend_from_slice(msg.builtin(Builtin::Program)),
            "PID" => sc.vals.extend_from_slice(msg.builtin(Builtin::Pid)),
            "MSGID" => sc.vals.extend_from_slice(msg.builtin(Builtin::MsgId)),
            _ => expand_macro(name, msg, opts, false, &mut sc.vals),
        }
        if sc.vals.len() == val_start {
            return;
        }
        let key_start = sc.keys.len();
        sc.keys.extend_from_slice(name.as_bytes());
        push(sc, key_start, val_start, VType::String);
    };
    if spec.has_patterns {
        for name in macro_table() {
            if spec.selected(name.as_bytes(), false) {
                builtin(sc, name);
            }
        }
    }
    let sets: [(u8, &[&str]); 4] = [
        (RFC3164 | RFC5424 | SELECTED_MACROS, RFC3164_SET),
        (RFC5424, RFC5424_SET),
        (SELECTED_MACROS, SELECTED_SET),
        (ALL_MACROS, &[]),
    ];
    for (flags, set) in sets {
        if spec.scopes & flags == 0 {
            continue;
        }
        if flags == ALL_MACROS {
            for name in macro_table() {
                if spec.selected(name.as_bytes(), true) {
                    builtin(sc, name);
                }
            }
        }
        for name in set {
            if spec.selected(name.as_bytes(), true) {
                builtin(sc, name);
            }
        }
    }
    // explicit pairs
    for arg in &spec.call.args {
        let FuncArg::Pair { key, type_hint, value } = arg else { continue };
        let val_start = sc.vals.len();
        eval_elems(value.elems(), msg, opts, false, &mut sc.vals)?;
        if spec.omit_empty && sc.vals.len() == val_start {
            continue;
        }
        let key_start = sc.keys.len();
        sc.keys.extend_from_slice(key.as_bytes());
        push(sc, key_start, val_start, type_hint.as_deref().map_or(VType::String, vtype_of_hint));
    }
    // descending strcmp order; among equal keys the last one inserted wins
    let keys = &sc.keys;
    let key_of = |e: &Entry| super::c_str(&keys[e.key.0 as usize..e.key.1 as usize]);
    sc.entries.sort_unstable_by(|a, b| key_of(b).cmp(key_of(a)).then(b.seq.cmp(&a.seq)));
    sc.entries.dedup_by(|later, first| {
        let same = key_of(later) == key_of(first) && !(keep_ids && key_of(first) == b"id");
        if same {
            first.first_seq = first.first_seq.min(later.first_seq);
        }
        same
    });
    Ok(())
}

/// syslog-ng's `append_unsafe_utf8_as_escaped_text(.., "\"")`.
pub(super) fn json_escape(out: &mut Vec<u8>, s: &[u8]) {
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\\' => out.extend_from_slice(b"\\\\"),
                '"' => out.extend_from_slice(b"\\\""),
                // NUL counts as invalid UTF-8 for GLib
                '\0' => out.extend_from_slice(b"\\\\x00"),
                c if (c as u32) < 32 => {
                    out.extend_from_slice(b"\\u00");
                    push_hex2(out, c as u8);
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            out.extend_from_slice(b"\\\\x");
            push_hex2(out, b);
        }
    }
}

fn push_hex2(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
}

/// `strtol`/`strtoll` in base 10 consuming the whole C string.
fn is_c_integer(v: &[u8]) -> bool {
    let v = super::c_str(v);
    let t = &v[v.iter().position(|&c| !super::is_c_space(c)).unwrap_or(v.len())..];
    let t = t.strip_prefix(b"-").or_else(|| t.strip_prefix(b"+")).unwrap_or(t);
    !t.is_empty() && t.iter().all(u8::is_ascii_digit)
}

/// `strtod` consuming the whole C string without overflow (underflow is
/// accepted).
fn is_c_double(v: &[u8]) -> bool {
    super::numeric::strtod(v).is_some_and(|(d, erange)| !(erange && d.is_infinite()))
}

/// What happened to one value.
enum Appended {
    Ok,
    /// Skipped (`drop-property`).
    Dropped,
    /// The whole result is void (`drop-message`).
    Abort,
}

/// `"key":value` per `ty` (syslog-ng's `tf_json_append_with_type_hint`).
fn append_value(
    out: &mut Vec<u8>,
    need_comma: bool,
    key: &[u8],
    ty: VType,
    v: &[u8],
    on_error: OnError,
    item: &mut Vec<u8>,
) -> Appended {
    let start = out.len();
    if need_comma {
        out.push(b',');
    }
    out.push(b'"');
    json_escape(out, super::c_str(key));
    out.extend_from_slice(b"\":");
    let ok = match ty {
        VType::String => None,
        VType::Json => {
            out.extend_from_slice(v);
            return Appended::Ok;
        }
        VType::List => {
            out.push(b'[');
            let mut first = true;
            let mut rest = super::c_str(v);
            while let Some(next) = super::list::scan_next(rest, item) {
                rest = next;
                if !first {
                    out.push(b',');
                }
                first = false;
                out.push(b'"');
                json_escape(out, super::c_str(item));
                out.push(b'"');
            }
            out.push(b']');
            return Appended::Ok;
        }
        VType::Int32 | VType::Int64 => Some(is_c_integer(v)),
        VType::Double => Some(is_c_double(v)),
        VType::Boolean => Some(matches!(v.first(), Some(b'T' | b't' | b'1' | b'F' | b'f' | b'0'))),
        VType::Null => {
            out.extend_from_slice(b"null");
            return Appended::Ok;
        }
    };
    match ok {
        Some(true) if ty == VType::Boolean => {
            let t = matches!(v[0], b'T' | b't' | b'1');
            out.extend_from_slice(if t { b"true" } else { b"false" });
        }
        Some(true) => json_escape(out, v),
        Some(false) if on_error != OnError::FallbackToString => {
            out.truncate(start);
            return if on_error == OnError::DropMessage { Appended::Abort } else { Appended::Dropped };
        }
        _ => {
            out.push(b'"');
            json_escape(out, v);
            out.push(b'"');
        }
    }
    Appended::Ok
}

/// Splits `name` into tokens (syslog-ng's `vp_walker_split_name_to_tokens`).
fn tokenize(name: &[u8], delimiter: u8, tokens: &mut Vec<(usize, usize)>) {
    tokens.clear();
    let (mut start, mut end) = (0usize, 0usize);
    let at = |i: usize| name.get(i).copied().unwrap_or(0);
    let next_of = |i: usize, set: &[u8]| (i..name.len()).find(|&j| set.contains(&name[j])).unwrap_or(name.len());
    while at(end) != 0 {
        if delimiter == b'.' {
            match at(end) {
                b'@' => loop {
                    end += 1;
                    while at(end).is_ascii_digit() {
                        end += 1;
                    }
                    if !(at(end) == b'.' && at(end + 1).is_ascii_digit()) {
                        break;
                    }
                },
                b'.' if start != end => {
                    tokens.push((start, end));
                    end += 1;
                    start = end;
                }
                _ => {
                    end += 1;
                    end = next_of(end, b"@.");
                }
            }
        } else if at(end) == delimiter && start != end {
            tokens.push((start, end));
            end += 1;
            start = end;
        } else {
            end = next_of(end + 1, &[delimiter]);
        }
    }
    if start != end {
        tokens.push((start, end));
    }
}

/// `$(format-json)`.
pub(super) fn format_json(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let spec = Spec::new(call, true)?;
    with_collected(&spec, msg, opts, false, |sc| {
        let start = out.len();
        if !walk(&spec, sc, opts.on_error, out) {
            out.truncate(start);
        }
    })
}

/// Writes the sorted entries as nested JSON; false when the result is void.
fn walk(spec: &Spec<'_>, sc: &mut VpScratch, on_error: OnError, out: &mut Vec<u8>) -> bool {
    let VpScratch { keys, vals, entries, stack, prefixes, tokens, list_item } = sc;
    out.push(b'{');
    let mut need_comma = false;
    for e in entries.iter() {
        let name = super::c_str(&keys[e.key.0 as usize..e.key.1 as usize]);
        // close the objects `name` is not in
        while let Some(&(ps, pe)) = stack.last() {
            if name.starts_with(&prefixes[ps..pe]) {
                break;
            }
            stack.pop();
            prefixes.truncate(ps);
            out.push(b'}');
            need_comma = true;
        }
        tokenize(name, spec.delimiter, tokens);
        let Some(&(ks, ke)) = tokens.last() else { continue };
        for i in stack.len()..tokens.len().saturating_sub(1) {
            let ps = prefixes.len();
            for &(s, e) in &tokens[..i] {
                prefixes.extend_from_slice(&name[s..e]);
                prefixes.push(b'.');
            }
            let (s, e) = tokens[i];
            prefixes.extend_from_slice(&name[s..e]);
            stack.push((ps, prefixes.len()));
            if need_comma {
                out.push(b',');
            }
            out.push(b'"');
            json_escape(out, &name[s..e]);
            out.extend_from_slice(b"\":{");
            need_comma = false;
        }
        let value = &vals[e.val.0 as usize..e.val.1 as usize];
        match append_value(out, need_comma, &name[ks..ke], e.ty, value, on_error, list_item) {
            Appended::Abort => return false,
            Appended::Ok | Appended::Dropped => need_comma = true,
        }
    }
    for _ in stack.iter() {
        out.push(b'}');
    }
    out.push(b'}');
    true
}

/// `$(format-flat-json)`.
pub(super) fn format_flat_json(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let spec = Spec::new(call, true)?;
    with_collected(&spec, msg, opts, false, |sc| {
        let start = out.len();
        out.push(b'{');
        let mut need_comma = false;
        for e in &sc.entries {
            let key = &sc.keys[e.key.0 as usize..e.key.1 as usize];
            let value = &sc.vals[e.val.0 as usize..e.val.1 as usize];
            match append_value(out, need_comma, key, e.ty, value, opts.on_error, &mut sc.list_item) {
                Appended::Abort => {
                    out.truncate(start);
                    break;
                }
                Appended::Ok | Appended::Dropped => need_comma = true,
            }
        }
        if out.len() > start {
            out.push(b'}');
        }
    })
}

/// A spec for the functions that print keys as they are (no `_` for an
/// initial dot, which only the JSON formatters do).
fn plain_spec(call: &FuncCall) -> Result<Spec<'_>, FormatError> {
    let mut spec = Spec::new(call, false)?;
    spec.initial_dot = false;
    Ok(spec)
}

fn key_of<'a>(sc: &'a VpScratch, e: &Entry) -> &'a [u8] {
    super::c_str(&sc.keys[e.key.0 as usize..e.key.1 as usize])
}

fn val_of<'a>(sc: &'a VpScratch, e: &Entry) -> &'a [u8] {
    &sc.vals[e.val.0 as usize..e.val.1 as usize]
}

/// `$(values)` and `$(names)`: the selected values (or names) as a list, in
/// ascending key order.
pub(super) fn values_or_names(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    names: bool,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let spec = plain_spec(call)?;
    with_collected(&spec, msg, opts, false, |sc| {
        let start = out.len();
        for e in sc.entries.iter().rev() {
            if out.len() > start && out.last() != Some(&b',') {
                out.push(b',');
            }
            crate::strrepr::encode_append(out, if names { key_of(sc, e) } else { val_of(sc, e) }, b",");
        }
    })
}

/// `$(format-welf)`: `key=value` pairs, values with a space quoted.
///
/// 3.38 sorts with a comparator that puts `id` before any key it is
/// compared with when `id` is the key being inserted (so every `id` is
/// kept and becomes the first entry), but compares other keys with `id`
/// normally. Inserting a key then places it among the other keys in
/// order, and before the `id`s in its gap only when it sorts before `id`.
pub(super) fn format_welf(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let spec = plain_spec(call)?;
    with_collected(&spec, msg, opts, true, |sc| {
        welf_order(sc);
        for (n, &(i, _)) in sc.tokens.iter().enumerate() {
            let e = &sc.entries[i];
            if n > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(key_of(sc, e));
            out.push(b'=');
            let v = val_of(sc, e);
            if v.contains(&b' ') {
                out.push(b'"');
                crate::strrepr::escape_binary(out, v, true);
                out.push(b'"');
            } else {
                crate::strrepr::escape_binary(out, v, false);
            }
        }
    })
}

/// Puts the output order of `format-welf` (entry indexes) into `sc.tokens`
/// (see [`format_welf`]).
fn welf_order(sc: &mut VpScratch) {
    let VpScratch { keys, entries, tokens: order, .. } = sc;
    let key = |i: usize| super::c_str(&keys[entries[i].key.0 as usize..entries[i].key.1 as usize]);
    // the indexes in insertion order; each is then moved into the placed
    // prefix `order[..n]`, which ends up as the result
    order.clear();
    order.extend((0..entries.len()).map(|i| (i, 0)));
    order.sort_unstable_by_key(|&(i, _)| entries[i].first_seq);
    for n in 0..order.len() {
        let i = order[n].0;
        let placed = &order[..n];
        let at = if key(i) == b"id" {
            0
        } else {
            let k = key(i);
            let next = placed.iter().position(|&(j, _)| key(j) != b"id" && key(j) > k).unwrap_or(n);
            let mut run = next;
            while run > 0 && key(placed[run - 1].0) == b"id" {
                run -= 1;
            }
            if k < &b"id"[..] {
                run
            } else {
                next
            }
        };
        order[at..=n].rotate_right(1);
    }
}

/// `$(format-cef-extension)`: `key=value` pairs with CEF escaping; a key
/// that is not alphanumeric follows `on-error()`.
pub(super) fn format_cef_extension(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let spec = plain_spec(call)?;
    with_collected(&spec, msg, opts, false, |sc| {
        let start = out.len();
        let mut first = true;
        for e in sc.entries.iter().rev() {
            let key = key_of(sc, e);
            if !key.iter().all(u8::is_ascii_alphanumeric) {
                if opts.on_error == OnError::DropMessage {
                    out.truncate(start);
                    break;
                }
                continue;
            }
            if !first {
                out.push(b' ');
            }
            first = false;
            out.extend_from_slice(key);
            out.push(b'=');
            cef_escape(out, val_of(sc, e));
        }
    })
}

fn cef_escape(out: &mut Vec<u8>, s: &[u8]) {
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '=' => out.extend_from_slice(b"\\="),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\\' => out.extend_from_slice(b"\\\\"),
                // GLib rejects NUL inside a sized string: an invalid byte
                '\0' => out.extend_from_slice(b"\\x00"),
                c if (c as u32) < 32 => {
                    out.extend_from_slice(b"\\u00");
                    push_hex2(out, c as u8);
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            out.extend_from_slice(b"\\x");
            push_hex2(out, b);
        }
    }
}

/// `$(graphite-output)`: one `name value timestamp` line per selected pair, in ascending key
/// order, a leading dot in a name written as `_`. The timestamp is `--timestamp`'s template
/// (`$R_UNIXTIME` without it), expanded with default options as 3.38 does, not the caller's.
pub(super) fn graphite_output(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let spec = Spec::new(call, false)?;
    let defaults = FormatOptions::default();
    let mut stamp = Vec::new();
    match call.args.iter().find_map(|a| if let FuncArg::Template(t) = a { Some(t) } else { None }) {
        Some(t) => eval_elems(&t.elems, msg, &defaults, false, &mut stamp)?,
        None => expand_macro("R_UNIXTIME", msg, &defaults, false, &mut stamp),
    }
    with_collected(&spec, msg, opts, false, |sc| {
        for e in sc.entries.iter().rev() {
            out.extend_from_slice(key_of(sc, e));
            out.push(b' ');
            out.extend_from_slice(val_of(sc, e));
            out.push(b' ');
            out.extend_from_slice(&stamp);
            out.push(b'\n');
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(b"a*", false, b"abc"));
        assert!(glob_match(b"*c", false, b"abc"));
        assert!(glob_match(b"a?c", false, b"a\xc3\xa9c"));
        assert!(!glob_match(b"a?c", false, b"a\xc3\xa9\xc3\xa9c"));
        assert!(glob_match(b".SDATA.", true, b".SDATA.x.y"));
        assert!(glob_match(b"*", false, b""));
        assert!(!glob_match(b"a", false, b"ab"));
        assert!(glob_match(b"*b*d", false, b"abcbcd"));
    }

    #[test]
    fn tokens() {
        let mut t = Vec::new();
        let name = b"_SDATA.ex@32473.1.x.y";
        tokenize(name, b'.', &mut t);
        let parts: Vec<&[u8]> = t.iter().map(|&(s, e)| &name[s..e]).collect();
        assert_eq!(parts, [&b"_SDATA"[..], b"ex@32473.1", b"x", b"y"]);
        let name = b"a..b";
        tokenize(name, b'.', &mut t);
        let parts: Vec<&[u8]> = t.iter().map(|&(s, e)| &name[s..e]).collect();
        assert_eq!(parts, [&b"a"[..], b".b"]);
        let name = b"a/b//c";
        tokenize(name, b'/', &mut t);
        let parts: Vec<&[u8]> = t.iter().map(|&(s, e)| &name[s..e]).collect();
        assert_eq!(parts, [&b"a"[..], b"b", b"/c"]);
    }

    #[test]
    fn escaping() {
        let mut out = Vec::new();
        json_escape(&mut out, b"a\"b\\c\n\x01\x7f\0\xff\xc3 \xe2\x82\xac");
        assert_eq!(out, b"a\\\"b\\\\c\\n\\u0001\x7f\\\\x00\\\\xff\\\\xc3 \xe2\x82\xac");
    }
}

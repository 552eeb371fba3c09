//! Evaluating compiled templates against a [`LogMessage`].
//!
//! [`Template::format`] appends the expansion to a caller-owned buffer, so a
//! destination writer formats every message of a batch into one reused
//! `Vec<u8>`.
//!
//! # Design note: no allocation on the hot path
//!
//! * Literal text, macros and name-value pairs are copied straight from the
//!   message into the output buffer; numbers and dates are formatted with
//!   hand-written digit loops (no `format!`), the calendar fields come from
//!   integer arithmetic ([`WallClock`]), and the only zone work is one
//!   offset lookup in an already loaded `jiff` time zone, and only when the
//!   destination sets `time-zone()`.
//! * `$SDATA` is written in place; with `template-escape(yes)` it is
//!   escaped in place too (written, then escaped after itself, then the
//!   unescaped copy is drained).
//! * Function arguments must be expanded before the function runs. They go
//!   into a scratch buffer taken from a small per-thread pool and given back
//!   afterwards, so once a thread has formatted a few messages, nested
//!   calls such as `$(lowercase $(substr $MSG 0 5))` reuse warm buffers.
//!   Digests (`sha1`, `sha256`, `md5`) hash the argument ranges in place.
//! * Filters of `$(if)` and `$(grep)` get their `FilterScratch` from a
//!   per-thread pool too, and list items (`implode`, the `list-*`
//!   functions) are scanned into pooled buffers.
//! * What still allocates: `$(env)` (the environment lookup), `$LOGHOST` on
//!   first use, a number whose value is subnormal (checking that glibc would
//!   read it exactly), `$(list-search --mode pcre)` when a thread meets a
//!   pattern other than its last one, whatever the C library does inside
//!   `$(getent)` and `$(dns-resolve-ip)`, and error values.
//! * Macro names are matched by string at each evaluation (the compiled
//!   form keeps names, not ids). A `match` on `&str` compiles to length and
//!   byte comparisons; resolving names to ids at compile time is the next
//!   step if profiles show it.
//!
//! # What is covered
//!
//! Every macro of syslog-ng 3.38 except those that need state rsng does not
//! model yet: `$DESTIP`/`$DESTPORT` print syslog-ng's values for a
//! message without a receiving address (`127.0.0.1`, `0`) where none is
//! known (only stream connections record it), and
//! `$RUNID` and match groups are empty (`$RCPTID`, `$HOSTID` and `$UNIQID` only while
//! `use-uniqid()` numbers messages, see [`crate::message::uniqid`]);
//! `$_`/`$CONTEXT_ID` is the element `$(map)`/`$(filter)` work on (a
//! per-thread value, so filters run for an element see it too).
//!
//! Every function of syslog-ng 3.38 is evaluated: `echo`, `length`,
//! `substr`, `strip`, `sanitize`, `lowercase`, `uppercase`,
//! `replace-delimiter`, `padding`, `env`, `indent-multi-line`, `or`,
//! `hash`, `sha1`, `sha256`, `sha512`, `md5`, the `list-*` functions
//! ([`list_funcs`]), `if`, `grep`, `filter`, `map`, `iterate` and the
//! `context-*` functions ([`cond`], which need the filter compiler hook of
//! [`CompileContext`](super::CompileContext)), the numeric functions
//! ([`numeric`]), `dirname`, `basename`, `implode`, `explode`,
//! `ipv4-to-int`, `binary`, `base64-encode`, `url-encode`, `url-decode`
//! and `uuid` ([`text`]), `getent` ([`getent`]), `dns-resolve-ip`
//! ([`dns`]), the value-pairs functions `format-json`, `format-flat-json`,
//! `format-welf`, `format-cef-extension`, `values` and `names`
//! ([`value_pairs`], which has its own per-thread scratch and sorts its
//! entries in place; `--no-cast` is not supported), and `template` and
//! user `template-function`s, whose bodies are looked up by name in the
//! registry of the [`CompileContext`](super::CompileContext) the call was
//! compiled with. A call whose body was never registered (or that nests
//! named templates more than [`MAX_NESTING_DEPTH`](super::MAX_NESTING_DEPTH)
//! deep) and a filter compiled without a filter compiler fail with
//! [`FormatError::Unsupported`].
//!
//! `getent` and `dns-resolve-ip` call the C library's NSS and resolver
//! functions (which may do I/O); `list-search --mode pcre` compiles its
//! pattern once per thread and pattern.

mod cond;
mod dns;
mod getent;
pub(crate) mod list;
mod list_funcs;
mod numeric;
mod text;
mod value_pairs;

pub(super) use list_funcs::{glib_option_int, list_search_pcre_compiles, IntOptionError};
pub(super) use numeric::parse_int;
pub(super) use text::binary_octet;

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Instant;

use jiff::tz::TimeZone;
use sha1::Digest;

use super::{BuiltinFunction, Elem, FuncArg, FuncCall, Function, InvokeRef, Template, ValueKind, ValueRef};
use crate::bytes::c_str;
use crate::message::{zone_offset, Builtin, LogMessage, UnixTime, WallClock};
use crate::names::{facility_name, severity_name};

/// How `$STAMP` (and the `ts-format()` option) formats a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TsFormat {
    /// `rfc3164`/`bsd`: `Jan  2 03:04:05`.
    #[default]
    Rfc3164,
    /// `rfc3339`/`iso`: `2024-01-02T03:04:05+01:00`.
    Rfc3339,
    /// `full`: `2024 Jan  2 03:04:05`.
    Full,
    /// `unix`/`unix-time`: seconds since the epoch.
    Unix,
}

impl TsFormat {
    /// The format named `name` as the `ts-format()` option spells it.
    pub fn from_name(name: &str) -> Option<TsFormat> {
        Some(match name {
            "rfc3164" | "bsd" => TsFormat::Rfc3164,
            "rfc3339" | "iso" => TsFormat::Rfc3339,
            "full" => TsFormat::Full,
            "unix" | "unix-time" => TsFormat::Unix,
            _ => return None,
        })
    }
}

/// The destination-side options a template is evaluated with.
#[derive(Debug, Clone, Default)]
pub struct FormatOptions {
    /// `ts-format()`, for `$STAMP`.
    pub ts_format: TsFormat,
    /// `frac-digits()`: digits of the second fraction in dates (0..=6).
    pub frac_digits: u8,
    /// `time-zone()`/`send-time-zone()`: the zone dates are shown in; `None`
    /// shows each stamp in the zone it was received in.
    pub time_zone: Option<TimeZone>,
    /// `template-escape(yes)`: backslash-escape `'`, `"` and `\` (control
    /// characters as `\ooo`) in macro and value expansions.
    pub escape: bool,
    /// The writer's sequence number ([`LogMessage::writer_seq_num`]): `$SEQNUM`,
    /// and the `sequenceId` `$SDATA` adds when the message has none; 0 for none.
    pub seq_num: u32,
    /// `on-error()`: what failed type casts do.
    pub on_error: OnError,
}

/// syslog-ng's `on-error()`: what a failed type cast (`int(abc)` in
/// `$(format-json)`) does. The `silently-` variants only differ in logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// `drop-message` (the default): the function's whole output is dropped.
    #[default]
    DropMessage,
    /// `drop-property`: the value is left out.
    DropProperty,
    /// `fallback-to-string`: the value is written as a string.
    FallbackToString,
}

impl OnError {
    /// Parses an `on-error()` value (`drop-message`, `silently-drop-property`, ...).
    pub fn from_name(name: &str) -> Option<OnError> {
        Some(match name.strip_prefix("silently-").unwrap_or(name) {
            "drop-message" => OnError::DropMessage,
            "drop-property" => OnError::DropProperty,
            "fallback-to-string" => OnError::FallbackToString,
            _ => return None,
        })
    }
}

/// A template that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The template calls a function rsng cannot evaluate yet.
    #[error("template function `{0}` is not supported by rsng yet")]
    Unsupported(String),
}

impl Template {
    /// Appends the expansion of the template for `msg` to `out`. On error
    /// `out` is left as it was.
    pub fn format(&self, msg: &LogMessage, opts: &FormatOptions, out: &mut Vec<u8>) -> Result<(), FormatError> {
        let start = out.len();
        let result = eval_elems(&self.elems, msg, opts, opts.escape, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// [`Template::format`] within a correlation context: `msgs` oldest first, the last one
    /// being the message formatted. `${NAME}@N` and `$(...)@N` then read the message `N` back
    /// from the last, and `$(context-length)` counts `msgs`.
    pub fn format_with_context(
        &self,
        msgs: &[LogMessage],
        opts: &FormatOptions,
        out: &mut Vec<u8>,
    ) -> Result<(), FormatError> {
        let Some(last) = msgs.last() else { return Ok(()) };
        in_context(msgs, || self.format(last, opts, out))
    }
}

/// Runs `f` with `msgs` (oldest first) as the correlation context of the templates it formats,
/// such as those of a filter evaluated on the context's last message.
pub fn in_context<R>(msgs: &[LogMessage], f: impl FnOnce() -> R) -> R {
    let saved = CONTEXT.with(|c| c.replace(msgs.to_vec()));
    let result = f();
    CONTEXT.with(|c| c.replace(saved));
    result
}

thread_local! {
    /// The messages of the correlation context being formatted ([`Template::format_with_context`]);
    /// empty outside one.
    static CONTEXT: std::cell::RefCell<Vec<LogMessage>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The number of messages in the current correlation context (1 outside one).
pub(super) fn context_length() -> usize {
    CONTEXT.with(|c| c.borrow().len()).max(1)
}

/// Message `n` back from the newest of the current context; `None` outside one or past its
/// start.
fn context_message(n: u32) -> Option<Option<LogMessage>> {
    CONTEXT.with(|c| {
        let c = c.borrow();
        if c.is_empty() {
            return None;
        }
        Some(c.len().checked_sub(1 + n as usize).map(|i| c[i].clone()))
    })
}

fn eval_elems(
    elems: &[Elem],
    msg: &LogMessage,
    opts: &FormatOptions,
    escape: bool,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    for elem in elems {
        match elem {
            Elem::Literal(text) => out.extend_from_slice(text.as_bytes()),
            Elem::Value(v) => match v.context_ref.map(context_message) {
                Some(Some(Some(other))) => eval_value(v, &other, opts, escape, out),
                // Past the start of the context: empty.
                Some(Some(None)) => {}
                // With a single message, `@1` and above point past the context: empty.
                _ if v.context_ref.is_some_and(|n| n >= 1) => {}
                _ => eval_value(v, msg, opts, escape, out),
            },
            Elem::Func(call) => match call.context_ref.map(context_message) {
                Some(Some(Some(other))) => eval_func(call, &other, opts, out)?,
                Some(Some(None)) => {}
                _ if call.context_ref.is_some_and(|n| n >= 1) => {}
                _ => eval_func(call, msg, opts, out)?,
            },
        }
    }
    Ok(())
}

/// Names syslog-ng 3.38 resolves as macros although they are also values.
fn is_value_macro(name: &str) -> bool {
    matches!(name, "MSG" | "MESSAGE" | "HOST")
}

fn eval_value(v: &ValueRef, msg: &LogMessage, opts: &FormatOptions, escape: bool, out: &mut Vec<u8>) {
    let as_value: Option<&[u8]> = match v.kind {
        ValueKind::Builtin if is_value_macro(&v.name) => None,
        ValueKind::Builtin => Builtin::from_name(&v.name).map(|b| msg.builtin(b)),
        ValueKind::Pair | ValueKind::MatchGroup(_) => Some(msg.get(&v.name).unwrap_or(b"")),
        ValueKind::MatchAll => None,
    };
    match as_value {
        // A value: the default (escaped like the value) replaces an empty one.
        Some(value) => {
            let value = if value.is_empty() { v.default.as_deref().unwrap_or("").as_bytes() } else { value };
            append(out, value, escape);
        }
        // A macro: the default (verbatim) replaces an empty expansion.
        None => {
            let len = out.len();
            if v.kind == ValueKind::Builtin {
                expand_macro(&v.name, msg, opts, escape, out);
            }
            if out.len() == len {
                if let Some(d) = &v.default {
                    out.extend_from_slice(d.as_bytes());
                }
            }
        }
    }
}

/// syslog-ng's `result_append`.
fn append(out: &mut Vec<u8>, value: &[u8], escape: bool) {
    if !escape {
        out.extend_from_slice(value);
        return;
    }
    for &c in value {
        match c {
            b'\'' | b'"' | b'\\' => out.extend_from_slice(&[b'\\', c]),
            c if c < b' ' => out.extend_from_slice(&[b'\\', b'0' + (c >> 6), b'0' + ((c >> 3) & 7), b'0' + (c & 7)]),
            c => out.push(c),
        }
    }
}

/// Escapes `out[start..]` in place.
fn escape_tail(out: &mut Vec<u8>, start: usize) {
    let end = out.len();
    if !out[start..].iter().any(|&c| matches!(c, b'\'' | b'"' | b'\\') || c < b' ') {
        return;
    }
    for i in start..end {
        let c = out[i];
        append(out, &[c], true);
    }
    out.drain(start..end);
}

/// Appends `n` in decimal, left-padded with `pad` to `width`.
fn push_num(out: &mut Vec<u8>, n: u64, width: usize, pad: u8) {
    // Dates are made of two-digit fields, several per message.
    if width == 2 && n < 100 {
        let tens = if n < 10 { pad } else { b'0' + (n / 10) as u8 };
        out.extend_from_slice(&[tens, b'0' + (n % 10) as u8]);
        return;
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    for _ in len..width {
        out.push(pad);
    }
    out.extend_from_slice(&digits[i..]);
}

fn push_hex(out: &mut Vec<u8>, n: u64, width: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = HEX[(n & 15) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    for _ in digits.len() - i..width {
        out.push(b'0');
    }
    out.extend_from_slice(&digits[i..]);
}

/// `$HOST`: with a `chain-hostnames()` chain (`group@orig/relay/...`) only the original name.
fn shown_host(msg: &LogMessage) -> &[u8] {
    let host = msg.builtin(Builtin::Host);
    if !msg.is_host_chained() {
        return host;
    }
    let start = host.iter().position(|&c| c == b'@').map_or(0, |i| i + 1);
    let rest = &host[start..];
    let end = rest.iter().position(|&c| c == b'/').unwrap_or(rest.len());
    &rest[..end]
}

fn expand_macro(name: &str, msg: &LogMessage, opts: &FormatOptions, escape: bool, out: &mut Vec<u8>) {
    let pri = msg.pri();
    let facility = (pri & 0x3f8) >> 3;
    let severity = pri & 7;
    match name {
        "MSG" | "MESSAGE" => append(out, msg.builtin(Builtin::Message), escape),
        "HOST" => append(out, shown_host(msg), escape),
        "FACILITY" => match facility_name(facility as u8) {
            Some(n) => out.extend_from_slice(n.as_bytes()),
            None => push_hex(out, u64::from(facility), 0),
        },
        "FACILITY_NUM" => push_num(out, u64::from(facility), 0, b'0'),
        "SEVERITY" | "PRIORITY" | "LEVEL" => match severity_name(severity as u8) {
            Some(n) => out.extend_from_slice(n.as_bytes()),
            None => push_num(out, u64::from(severity), 0, b'0'),
        },
        "SEVERITY_NUM" | "LEVEL_NUM" => push_num(out, u64::from(severity), 0, b'0'),
        "TAG" => push_hex(out, u64::from(pri), 2),
        "TAGS" => msg.tags().format(out),
        "BSDTAG" => {
            push_num(out, u64::from(severity), 0, b'0');
            out.push((facility as u8).wrapping_add(b'A'));
        }
        "PRI" => push_num(out, u64::from(pri), 0, b'0'),
        "SDATA" => {
            let start = out.len();
            format_sdata(msg, opts.seq_num, out);
            if escape {
                escape_tail(out, start);
            }
        }
        "MSGHDR" => {
            let legacy = msg.builtin(Builtin::LegacyMsgHdr);
            if !legacy.is_empty() {
                append(out, legacy, escape);
            } else {
                let program = msg.builtin(Builtin::Program);
                if !program.is_empty() {
                    append(out, program, escape);
                    let pid = msg.builtin(Builtin::Pid);
                    if !pid.is_empty() {
                        out.push(b'[');
                        append(out, pid, escape);
                        out.push(b']');
                    }
                    out.extend_from_slice(b": ");
                }
            }
        }
        "SOURCEIP" => {
            use std::io::Write as _;
            match msg.source_ip() {
                Some(ip) => {
                    let start = out.len();
                    let _ = write!(out, "{ip}");
                    if escape {
                        escape_tail(out, start);
                    }
                }
                None => out.extend_from_slice(b"127.0.0.1"),
            }
        }
        "DESTIP" => match msg.dest() {
            Some(addr) => {
                use std::io::Write as _;
                let _ = write!(out, "{}", addr.ip());
            }
            None => out.extend_from_slice(b"127.0.0.1"),
        },
        "DESTPORT" => {
            let port = msg.dest().map_or(msg.destination().1, |a| a.port());
            push_num(out, u64::from(port), 0, b'0')
        }
        "PROTO" => push_num(out, u64::from(msg.destination().0), 0, b'0'),
        "SEQNUM" => {
            if opts.seq_num != 0 {
                push_num(out, u64::from(opts.seq_num), 0, b'0');
            }
        }
        "CONTEXT_ID" | "_" => CONTEXT_ID.with(|c| {
            let c = c.borrow();
            if c.0 {
                append(out, c_str(&c.1), escape);
            }
        }),
        "RCPTID" => {
            if msg.rcptid() != 0 {
                push_num(out, msg.rcptid(), 0, b'0');
            }
        }
        "HOSTID" => {
            if crate::message::uniqid::enabled() {
                push_hex(out, u64::from(crate::message::uniqid::host_id()), 8);
            }
        }
        "UNIQID" => {
            if msg.rcptid() != 0 {
                push_hex(out, u64::from(crate::message::uniqid::host_id()), 8);
                out.push(b'@');
                push_hex(out, msg.rcptid(), 16);
            }
        }
        "RUNID" => {}
        "LOGHOST" => append(out, loghost().as_bytes(), escape),
        "SYSUPTIME" => push_num(out, (uptime_start().elapsed().as_millis() / 10) as u64, 0, b'0'),
        _ => expand_date(name, msg, opts, out),
    }
}

thread_local! {
    /// `$_`/`$CONTEXT_ID`: the element `$(map)` and `$(filter)` are
    /// working on (set or not, value). Kept per thread rather than in
    /// [`FormatOptions`] so filters evaluated for an element see it too.
    static CONTEXT_ID: RefCell<(bool, Vec<u8>)> = const { RefCell::new((false, Vec::new())) };
}

/// Runs `f` with `$_` set to `value`, then restores the previous value
/// (elements of nested `$(map)`s).
fn with_context<R>(value: &[u8], f: impl FnOnce() -> R) -> R {
    let mut saved = take_scratch();
    saved.buf.extend_from_slice(value);
    let was_set = CONTEXT_ID.with(|c| {
        let mut c = c.borrow_mut();
        std::mem::swap(&mut c.1, &mut saved.buf);
        std::mem::replace(&mut c.0, true)
    });
    let result = f();
    CONTEXT_ID.with(|c| {
        let mut c = c.borrow_mut();
        std::mem::swap(&mut c.1, &mut saved.buf);
        c.0 = was_set;
    });
    give_back(saved);
    result
}

fn uptime_start() -> &'static Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now)
}

/// `$LOGHOST` as the configuration sets it ([`set_loghost`]), else the short host name.
fn loghost() -> std::sync::Arc<str> {
    let configured = LOGHOST.read().unwrap_or_else(|e| e.into_inner()).clone();
    configured.unwrap_or_else(|| std::sync::Arc::from(local_hostname()))
}

static LOGHOST: std::sync::RwLock<Option<std::sync::Arc<str>>> = std::sync::RwLock::new(None);

/// Sets `$LOGHOST`: the short or (with `use-fqdn(yes)`) the full name of this host, which
/// `custom-domain()` may change; at each start and reload.
pub fn set_loghost(name: &str) {
    *LOGHOST.write().unwrap_or_else(|e| e.into_inner()) = Some(std::sync::Arc::from(name));
}

/// The short host name (`$LOGHOST` without `use-fqdn`).
fn local_hostname() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .unwrap_or_default();
        name.trim().split('.').next().unwrap_or("").to_owned()
    })
}

/// syslog-ng's `$SDATA` (`log_msg_append_format_sdata`).
fn format_sdata(msg: &LogMessage, seq_num: u32, out: &mut Vec<u8>) {
    let has_seq = msg.get(".SDATA.meta.sequenceId").is_some_and(|v| !v.is_empty() && v[0] != 0);
    let mut need_seq = !has_seq && seq_num != 0;
    let mut cur: Option<&[u8]> = None;
    for (id, param, value) in msg.sdata() {
        let id: &[u8] = if id.is_empty() && param.is_empty() { b"none" } else { id };
        if cur != Some(id) {
            if cur.is_some() {
                out.push(b']');
            }
            out.push(b'[');
            sd_key(out, id);
            cur = Some(id);
        }
        if need_seq && id == b"meta" {
            out.extend_from_slice(b" sequenceId=\"");
            push_num(out, u64::from(seq_num), 0, b'0');
            out.push(b'"');
            need_seq = false;
        }
        if !param.is_empty() {
            out.push(b' ');
            sd_key(out, param);
            out.extend_from_slice(b"=\"");
            for &c in value {
                if matches!(c, b'"' | b'\\' | b']') {
                    out.push(b'\\');
                }
                out.push(c);
            }
            out.push(b'"');
        }
    }
    if cur.is_some() {
        out.push(b']');
    }
    if need_seq {
        out.extend_from_slice(b"[meta sequenceId=\"");
        push_num(out, u64::from(seq_num), 0, b'0');
        out.extend_from_slice(b"\"]");
    }
}

fn sd_key(out: &mut Vec<u8>, key: &[u8]) {
    for &c in key {
        if !c.is_ascii() || matches!(c, b'=' | b' ' | b'[' | b']' | b'"') {
            out.push(b'%');
            push_hex_upper(out, c);
        } else {
            out.push(c);
        }
    }
}

fn push_hex_upper(out: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(&[HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]);
}

const MONTH_ABBREV: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH_NAME: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAY_ABBREV: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const WEEKDAY_NAME: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

fn expand_date(name: &str, msg: &LogMessage, opts: &FormatOptions, out: &mut Vec<u8>) {
    let (stamp, which) = match name.as_bytes() {
        [b'R', b'_', ..] => (msg.received(), &name[2..]),
        [b'S', b'_', ..] => (msg.stamp(), &name[2..]),
        [b'C' | b'P', b'_', ..] => (UnixTime::now(&TimeZone::UTC), &name[2..]),
        _ => (msg.stamp(), name),
    };
    let stamp = match name.as_bytes() {
        // The current time shows in the message's received zone unless time-zone() says otherwise.
        [b'C' | b'P', b'_', ..] => UnixTime { gmtoff: msg.received().gmtoff, ..stamp },
        _ => stamp,
    };
    let offset = match &opts.time_zone {
        Some(tz) => zone_offset(tz, stamp.sec),
        None => stamp.gmtoff,
    };
    let wc = WallClock::new(&stamp, offset);
    let frac = opts.frac_digits;
    match which {
        "WEEKDAY" | "WEEK_DAY_ABBREV" => out.extend_from_slice(WEEKDAY_ABBREV[wc.wday as usize].as_bytes()),
        "WEEK_DAY_NAME" => out.extend_from_slice(WEEKDAY_NAME[wc.wday as usize].as_bytes()),
        "WEEK_DAY" => push_num(out, u64::from(wc.wday + 1), 0, b'0'),
        "WEEK" => push_num(out, u64::from(wc.week()), 2, b'0'),
        "ISOWEEK" => push_num(out, u64::from(wc.iso_week()), 2, b'0'),
        "YEAR" => push_year(out, wc.year, 4),
        "YEAR_DAY" => push_num(out, u64::from(wc.yday + 1), 3, b'0'),
        "MONTH" => push_num(out, u64::from(wc.mon + 1), 2, b'0'),
        "MONTH_WEEK" => {
            let week = wc.mday / 7 + u32::from(wc.wday > 0 && wc.mday % 7 >= wc.wday);
            push_num(out, u64::from(week), 0, b'0');
        }
        "MONTH_ABBREV" => out.extend_from_slice(MONTH_ABBREV[wc.mon as usize].as_bytes()),
        "MONTH_NAME" => out.extend_from_slice(MONTH_NAME[wc.mon as usize].as_bytes()),
        "DAY" => push_num(out, u64::from(wc.mday), 2, b'0'),
        "HOUR" => push_num(out, u64::from(wc.hour), 2, b'0'),
        "HOUR12" => {
            let h = if wc.hour < 12 { wc.hour } else { wc.hour - 12 };
            push_num(out, u64::from(if h == 0 { 12 } else { h }), 2, b'0');
        }
        "MIN" => push_num(out, u64::from(wc.min), 2, b'0'),
        "SEC" => push_num(out, u64::from(wc.sec), 2, b'0'),
        "MSEC" => push_num(out, u64::from(stamp.usec / 1000), 3, b'0'),
        "USEC" => push_num(out, u64::from(stamp.usec), 6, b'0'),
        "AMPM" => out.extend_from_slice(if wc.hour < 12 { b"AM" } else { b"PM" }),
        "DATE" => format_wall_clock(out, &wc, TsFormat::Rfc3164, frac),
        "STAMP" => match opts.ts_format {
            TsFormat::Unix => format_unix(out, &stamp, frac),
            f => format_wall_clock(out, &wc, f, frac),
        },
        "ISODATE" => format_wall_clock(out, &wc, TsFormat::Rfc3339, frac),
        "FULLDATE" => format_wall_clock(out, &wc, TsFormat::Full, frac),
        "UNIXTIME" => format_unix(out, &stamp, frac),
        "TZ" | "TZOFFSET" => format_zone(out, wc.gmtoff),
        _ => {}
    }
}

fn push_year(out: &mut Vec<u8>, year: i64, width: usize) {
    if year < 0 {
        out.push(b'-');
    }
    push_num(out, year.unsigned_abs(), width, b'0');
}

fn push_frac(out: &mut Vec<u8>, usec: u32, digits: u8) {
    if digits == 0 {
        return;
    }
    out.push(b'.');
    let mut usec = usec % 1_000_000;
    let mut x = 100_000;
    for _ in 0..digits.min(6) {
        out.push(b'0' + (usec / x) as u8);
        usec %= x;
        x /= 10;
    }
}

fn format_zone(out: &mut Vec<u8>, gmtoff: i32) {
    out.push(if gmtoff < 0 { b'-' } else { b'+' });
    let abs = gmtoff.unsigned_abs();
    push_num(out, u64::from(abs / 3600), 2, b'0');
    out.push(b':');
    push_num(out, u64::from(abs % 3600 / 60), 2, b'0');
}

fn format_unix(out: &mut Vec<u8>, stamp: &UnixTime, frac: u8) {
    // syslog-ng prints `(int) ut_sec` through an unsigned formatter.
    push_num(out, u64::from(stamp.sec as i32 as u32), 0, b'0');
    push_frac(out, stamp.usec, frac);
}

fn format_wall_clock(out: &mut Vec<u8>, wc: &WallClock, format: TsFormat, frac: u8) {
    let time = |out: &mut Vec<u8>| {
        push_num(out, u64::from(wc.hour), 2, b'0');
        out.push(b':');
        push_num(out, u64::from(wc.min), 2, b'0');
        out.push(b':');
        push_num(out, u64::from(wc.sec), 2, b'0');
        push_frac(out, wc.usec, frac);
    };
    match format {
        TsFormat::Rfc3164 => {
            out.extend_from_slice(MONTH_ABBREV[wc.mon as usize].as_bytes());
            out.push(b' ');
            push_num(out, u64::from(wc.mday), 2, b' ');
            out.push(b' ');
            time(out);
        }
        TsFormat::Rfc3339 => {
            push_year(out, wc.year, 0);
            out.push(b'-');
            push_num(out, u64::from(wc.mon + 1), 2, b'0');
            out.push(b'-');
            push_num(out, u64::from(wc.mday), 2, b'0');
            out.push(b'T');
            time(out);
            format_zone(out, wc.gmtoff);
        }
        TsFormat::Full => {
            push_year(out, wc.year, 0);
            out.push(b' ');
            out.extend_from_slice(MONTH_ABBREV[wc.mon as usize].as_bytes());
            out.push(b' ');
            push_num(out, u64::from(wc.mday), 2, b' ');
            out.push(b' ');
            time(out);
        }
        TsFormat::Unix => {
            let days = crate::message::days_from_civil(wc.year, wc.mon + 1, wc.mday);
            let sec = days * 86_400 + i64::from(wc.hour * 3600 + wc.min * 60 + wc.sec) - i64::from(wc.gmtoff);
            format_unix(out, &UnixTime { sec, usec: wc.usec, gmtoff: wc.gmtoff }, frac);
        }
    }
}

/// Expanded function arguments: one buffer and the ranges of each argument.
#[derive(Default)]
struct Scratch {
    buf: Vec<u8>,
    ranges: Vec<(usize, usize)>,
}

impl Scratch {
    fn arg(&self, i: usize) -> &[u8] {
        let (s, e) = self.ranges[i];
        &self.buf[s..e]
    }

    fn args(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.ranges.iter().map(|&(s, e)| &self.buf[s..e])
    }

    fn len(&self) -> usize {
        self.ranges.len()
    }
}

thread_local! {
    static POOL: RefCell<Vec<Scratch>> = const { RefCell::new(Vec::new()) };
}

fn take_scratch() -> Scratch {
    POOL.with(|p| p.borrow_mut().pop()).unwrap_or_default()
}

/// Runs `f` with an empty buffer from the pool (for list items and other
/// per-call temporaries).
fn with_item_buf<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut s = take_scratch();
    let r = f(&mut s.buf);
    give_back(s);
    r
}

fn give_back(mut s: Scratch) {
    s.buf.clear();
    s.ranges.clear();
    // Keep a few warm buffers; drop very large ones.
    if s.buf.capacity() <= 1 << 20 {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < 16 {
                p.push(s);
            }
        });
    }
}

/// The value of option `name` of a call (the last one given).
fn option<'a>(call: &'a FuncCall, name: &str) -> Option<Option<&'a str>> {
    call.args.iter().rev().find_map(|a| match a {
        FuncArg::Option { name: n, value } if *n == name => Some(value.as_ref().map(|v| v.text.as_str())),
        _ => None,
    })
}

fn raw_args(call: &FuncCall) -> impl Iterator<Item = &str> {
    call.args.iter().filter_map(|a| match a {
        FuncArg::Raw(t) => Some(t.text.as_str()),
        _ => None,
    })
}

fn eval_func(call: &FuncCall, msg: &LogMessage, opts: &FormatOptions, out: &mut Vec<u8>) -> Result<(), FormatError> {
    let f = match &call.function {
        Function::Builtin(f) => *f,
        Function::User(name) => {
            let body = invoke_ref(call).and_then(|r| r.body(None));
            let Some((body, escape)) = body else { return Err(FormatError::Unsupported(name.clone())) };
            return invoke(&body, escape, msg, opts, out, name);
        }
    };
    match f {
        BuiltinFunction::Template => return call_template(call, msg, opts, out),
        BuiltinFunction::Filter => return cond::filter(call, msg, opts, out),
        BuiltinFunction::Map => return cond::map(call, msg, opts, out),
        BuiltinFunction::Iterate => return cond::iterate(call, msg, out),
        BuiltinFunction::FormatJson => return value_pairs::format_json(call, msg, opts, out),
        BuiltinFunction::FormatFlatJson => return value_pairs::format_flat_json(call, msg, opts, out),
        BuiltinFunction::FormatWelf => return value_pairs::format_welf(call, msg, opts, out),
        BuiltinFunction::FormatCefExtension => return value_pairs::format_cef_extension(call, msg, opts, out),
        BuiltinFunction::GraphiteOutput => return value_pairs::graphite_output(call, msg, opts, out),
        BuiltinFunction::Values => return value_pairs::values_or_names(call, msg, opts, false, out),
        BuiltinFunction::Names => return value_pairs::values_or_names(call, msg, opts, true, out),
        BuiltinFunction::If
        | BuiltinFunction::Grep
        | BuiltinFunction::ContextLookup
        | BuiltinFunction::ContextValues
        | BuiltinFunction::ContextLength => return cond::call(f, call, msg, opts, out),
        _ => {}
    }
    if !is_supported(f) {
        return Err(FormatError::Unsupported(f.name().to_owned()));
    }
    let mut scratch = take_scratch();
    let result = eval_args(call, msg, opts, &mut scratch);
    if result.is_ok() {
        call_builtin(f, call, &scratch, out);
    }
    give_back(scratch);
    result
}

/// Expands the template arguments of `call` into `scratch`, one range each; stops at the first
/// that cannot be evaluated.
fn eval_args(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    scratch: &mut Scratch,
) -> Result<(), FormatError> {
    for arg in &call.args {
        if let FuncArg::Template(t) = arg {
            let start = scratch.buf.len();
            eval_elems(&t.elems, msg, opts, false, &mut scratch.buf)?;
            scratch.ranges.push((start, scratch.buf.len()));
        }
    }
    Ok(())
}

fn invoke_ref(call: &FuncCall) -> Option<&InvokeRef> {
    call.args.iter().find_map(|a| match a {
        FuncArg::Invoke(r) => Some(r),
        _ => None,
    })
}

thread_local! {
    /// How deeply named templates and user functions are nested on this
    /// thread: bodies are bound by name at evaluation time, so a template
    /// may end up calling itself.
    static INVOKE_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Formats a named template or user function body with the caller's
/// options but the body's own `template-escape()`.
fn invoke(
    body: &Template,
    escape: bool,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
    name: &str,
) -> Result<(), FormatError> {
    let depth = INVOKE_DEPTH.with(|d| d.get());
    if depth >= super::MAX_NESTING_DEPTH {
        return Err(FormatError::Unsupported(name.to_owned()));
    }
    INVOKE_DEPTH.with(|d| d.set(depth + 1));
    let result = eval_elems(&body.elems, msg, opts, escape, out);
    INVOKE_DEPTH.with(|d| d.set(depth));
    result
}

/// `$(template NAME)` (bound when compiled) or `$(template ${name} [FALLBACK...])`
/// (the expanded first argument names the template; when there is no such
/// template the other arguments are printed, joined by spaces).
fn call_template(
    call: &FuncCall,
    msg: &LogMessage,
    opts: &FormatOptions,
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    let Some(target) = invoke_ref(call) else { return Err(FormatError::Unsupported(call.name.clone())) };
    if let Some(name) = &target.name {
        let Some((body, escape)) = target.body(None) else { return Err(FormatError::Unsupported(call.name.clone())) };
        return invoke(&body, escape, msg, opts, out, name);
    }
    let mut scratch = take_scratch();
    let mut result = eval_args(call, msg, opts, &mut scratch);
    if result.is_ok() && scratch.len() > 0 {
        let name = std::str::from_utf8(c_str(scratch.arg(0))).ok();
        match name.and_then(|n| target.body(Some(n))) {
            Some((body, escape)) => result = invoke(&body, escape, msg, opts, out, &call.name),
            None => join(out, scratch.args().skip(1), b' '),
        }
    }
    give_back(scratch);
    result
}

fn is_supported(f: BuiltinFunction) -> bool {
    use BuiltinFunction::*;
    matches!(
        f,
        Echo | Length
            | Substr
            | Strip
            | Sanitize
            | Lowercase
            | Uppercase
            | ReplaceDelimiter
            | Padding
            | Env
            | IndentMultiLine
            | Sha1
            | Sha256
            | Sha512
            | Md5
            | ListConcat
            | ListAppend
            | ListCount
            | ListHead
            | ListNth
            | ListTail
            | ListSlice
            | ListSearch
            | Getent
            | DnsResolveIp
            | Or
            | Plus
            | Minus
            | Multiply
            | Divide
            | Modulo
            | Sum
            | Min
            | Max
            | Average
            | Round
            | Ceil
            | Floor
            | Dirname
            | Basename
            | Implode
            | Explode
            | Ipv4ToInt
            | Binary
            | Base64Encode
            | UrlEncode
            | UrlDecode
            | Uuid
            | Hash
            | Slog
    )
}

/// Appends `args` joined by `sep`.
fn join<'a>(out: &mut Vec<u8>, args: impl Iterator<Item = &'a [u8]>, sep: u8) {
    for (i, a) in args.enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.extend_from_slice(a);
    }
}

fn call_builtin(f: BuiltinFunction, call: &FuncCall, args: &Scratch, out: &mut Vec<u8>) {
    use BuiltinFunction::*;
    match f {
        Echo => join(out, args.args(), b' '),
        // Without prepared state (a configuration check) the text passes through, as 3.38 logs
        // in clear text when it cannot load the key.
        Slog => {
            let text = args.args().next().unwrap_or_default();
            match call.args.iter().find_map(|a| if let FuncArg::External(e) = a { Some(e) } else { None }) {
                Some(external) => external.0.call(text, out),
                None => out.extend_from_slice(text),
            }
        }
        Length => {
            for (i, a) in args.args().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                push_num(out, a.len() as u64, 0, b'0');
            }
        }
        Substr => substr(args, out),
        Strip => {
            let start = out.len();
            for a in args.args() {
                let a = trim_c_space(a);
                if a.is_empty() {
                    continue;
                }
                if out.len() > start {
                    out.push(b' ');
                }
                out.extend_from_slice(a);
            }
        }
        Sanitize => {
            let ctrl = match (option(call, "ctrl-chars"), option(call, "no-ctrl-chars")) {
                // GLib applies options in order; the later of the two wins.
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(_), Some(_)) => last_of(call, "ctrl-chars", "no-ctrl-chars"),
            };
            let invalid = option(call, "invalid-chars").flatten().unwrap_or("/").as_bytes();
            let replacement = option(call, "replacement").flatten().unwrap_or("_").bytes().next().unwrap_or(0);
            for (i, a) in args.args().enumerate() {
                if i > 0 {
                    out.push(b'/');
                }
                for &c in a {
                    let bad = (ctrl && c < 32) || c == 0 || c_str(invalid).contains(&c);
                    out.push(if bad { replacement } else { c });
                }
            }
        }
        Lowercase | Uppercase => {
            for (i, a) in args.args().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                change_case(out, a, f == Uppercase);
            }
        }
        ReplaceDelimiter => {
            if args.len() != 3 {
                return;
            }
            let delimiters = c_str(args.arg(0));
            let new = args.arg(1).first().copied().unwrap_or(0);
            for &c in c_str(args.arg(2)) {
                let c = if delimiters.contains(&c) { new } else { c };
                if c == 0 {
                    break;
                }
                out.push(c);
            }
        }
        Padding => {
            let mut raw = raw_args(call);
            let width = raw.next().and_then(|w| parse_int64(w.as_bytes())).unwrap_or(0);
            let pattern = raw.next().map(|p| c_str(p.as_bytes())).filter(|p| !p.is_empty()).unwrap_or(b" ");
            let input = args.arg(0);
            if (input.len() as i64) < width {
                let fill = (width - input.len() as i64) as usize;
                out.extend(pattern.iter().cycle().take(fill));
            }
            out.extend_from_slice(input);
        }
        Env => {
            let mut first = true;
            for name in args.args() {
                let Ok(name) = std::str::from_utf8(c_str(name)) else { continue };
                let Some(value) = std::env::var_os(name) else { continue };
                if !first {
                    out.push(b' ');
                }
                first = false;
                out.extend_from_slice(value.as_encoded_bytes());
            }
        }
        IndentMultiLine => {
            let start = out.len();
            join(out, args.args(), b' ');
            let mut i = start;
            while i < out.len() {
                if out[i] == b'\n' && out.get(i + 1) != Some(&b'\t') {
                    out.insert(i + 1, b'\t');
                }
                i += 1;
            }
        }
        Or => {
            if let Some(a) = args.args().find(|a| !a.is_empty()) {
                out.extend_from_slice(a);
            }
        }
        Sha1 => digest::<sha1::Sha1>(call, args, out),
        // `hash` is SHA-256.
        Sha256 | Hash => digest::<sha2::Sha256>(call, args, out),
        Sha512 => digest::<sha2::Sha512>(call, args, out),
        Md5 => digest::<md5::Md5>(call, args, out),
        Getent => getent::call(args, out),
        DnsResolveIp => dns::call(call, args, out),
        _ => {
            let _ = numeric::call(f, args, out)
                || text::call(f, call, args, out)
                || list_funcs::call(f, args, out)
                || list_funcs::list_search(f, call, args, out);
        }
    }
}

/// Which of two flag options came last.
fn last_of(call: &FuncCall, a: &str, b: &str) -> bool {
    call.args
        .iter()
        .rev()
        .find_map(|x| match x {
            FuncArg::Option { name, .. } if *name == a => Some(true),
            FuncArg::Option { name, .. } if *name == b => Some(false),
            _ => None,
        })
        .unwrap_or(true)
}

fn digest<D: Digest>(call: &FuncCall, args: &Scratch, out: &mut Vec<u8>) {
    let mut d = D::new();
    for a in args.args() {
        d.update(a);
    }
    let hash = d.finalize();
    let full = hash.len() * 2;
    let length = option(call, "length").flatten().and_then(|l| parse_int64(l.as_bytes())).unwrap_or(0);
    let length = if length <= 0 || length as usize > full { full } else { length as usize };
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, &b) in hash.iter().enumerate() {
        for (j, nibble) in [b >> 4, b & 15].into_iter().enumerate() {
            if i * 2 + j < length {
                out.push(HEX[nibble as usize]);
            }
        }
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn trim_c_space(a: &[u8]) -> &[u8] {
    let start = a.iter().position(|&c| !is_c_space(c)).unwrap_or(a.len());
    let end = a.iter().rposition(|&c| !is_c_space(c)).map_or(start, |i| i + 1);
    &a[start..end.max(start)]
}

/// syslog-ng's `parse_int64`: `strtoll` that must consume the whole text
/// (so the empty text and out-of-range numbers fail).
fn parse_int64(s: &[u8]) -> Option<i64> {
    numeric::parse_int(s, 10)
}

fn substr(args: &Scratch, out: &mut Vec<u8>) {
    if !(2..=3).contains(&args.len()) {
        return;
    }
    let s = args.arg(0);
    let slen = s.len() as i64;
    let Some(mut start) = parse_int64(args.arg(1)) else { return };
    let mut len = if args.len() > 2 {
        match parse_int64(args.arg(2)) {
            Some(l) => l,
            None => return,
        }
    } else {
        slen
    };
    if len < 0 && -len > slen {
        return;
    } else if len > slen {
        len = slen;
    }
    if start >= slen || (start < 0 && -start > slen) {
        return;
    }
    if len < 0 && ((start < 0 && start > len) || (start >= 0 && len + slen - start < 0)) {
        return;
    }
    if start < 0 {
        start = (start + slen).max(0);
    }
    if len < 0 {
        len += slen - start;
        if len < 0 {
            return;
        }
    }
    if start + len > slen {
        len = slen - start;
    }
    if len > 0 {
        out.extend_from_slice(&s[start as usize..(start + len) as usize]);
    }
}

/// GLib's `g_utf8_strdown`/`g_utf8_strup` on valid UTF-8 (per character);
/// bytes of invalid sequences are copied, ASCII letters changed.
fn change_case(out: &mut Vec<u8>, a: &[u8], upper: bool) {
    let a = c_str(a);
    for chunk in a.utf8_chunks() {
        for c in chunk.valid().chars() {
            let mut buf = [0u8; 4];
            if c.is_ascii() {
                out.push(if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() } as u8);
            } else if upper {
                c.to_uppercase().for_each(|u| out.extend_from_slice(u.encode_utf8(&mut buf).as_bytes()));
            } else {
                c.to_lowercase().for_each(|u| out.extend_from_slice(u.encode_utf8(&mut buf).as_bytes()));
            }
        }
        out.extend_from_slice(chunk.invalid());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rsng_proto::syslog::{parse, ParseOptions};

    use super::*;
    use crate::message::{days_from_civil, ReceiveInfo};
    use crate::template::{compile, CompileContext};

    fn msg(text: &[u8]) -> LogMessage {
        let raw: Arc<[u8]> = Arc::from(text);
        let flags = rsng_proto::syslog::ParseFlags { syslog_protocol: true, ..Default::default() };
        let parsed = parse(&raw, &ParseOptions::with_flags(flags)).expect("parses");
        let mut info = ReceiveInfo::new("s_net", "127.0.0.1", "127.0.0.1".parse().ok(), TimeZone::UTC);
        info.received = UnixTime { sec: days_from_civil(2024, 6, 1) * 86_400, usec: 0, gmtoff: 0 };
        LogMessage::from_parsed(raw.clone(), &parsed, &info)
    }

    fn fmt_with(tmpl: &str, m: &LogMessage, opts: &FormatOptions) -> String {
        let t = compile(tmpl, &CompileContext::new()).expect("compiles");
        let mut out = Vec::new();
        t.format(m, opts, &mut out).expect("formats");
        String::from_utf8(out).expect("utf8")
    }

    fn fmt(tmpl: &str, m: &LogMessage) -> String {
        fmt_with(tmpl, m, &FormatOptions::default())
    }

    const BSD: &[u8] = b"<34>Oct 11 22:14:05 mymachine su[123]: 'su root' failed";
    const RFC5424: &[u8] = b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 \
        [exampleSDID@32473 iut=\"3\" eventSource=\"App\\]\"] An application event";

    #[test]
    fn header_macros() {
        let m = msg(BSD);
        assert_eq!(
            fmt("$HOST|$PROGRAM|$PID|$MSG|$MSGHDR|$LEGACY_MSGHDR|$SOURCE|$HOST_FROM", &m),
            "mymachine|su|123|'su root' failed|su[123]: |su[123]: |s_net|127.0.0.1"
        );
        assert_eq!(
            fmt("$PRI $FACILITY $FACILITY_NUM $SEVERITY $LEVEL_NUM $TAG $BSDTAG $TAGS $SOURCEIP", &m),
            "34 auth 4 crit 2 22 2E .source.s_net 127.0.0.1"
        );
        assert_eq!(fmt("${MSGID:-none} ${PID:-x} ${.nope:-dflt} $SEQNUM", &m), "none 123 dflt ");
        let m = msg(RFC5424);
        assert_eq!(
            fmt("$MSGHDR|$MSGID|$SDATA|${.SDATA.exampleSDID@32473.eventSource}", &m),
            "evntslog: |ID47|[exampleSDID@32473 iut=\"3\" eventSource=\"App\\]\"]|App]"
        );
    }

    #[test]
    fn escaping_and_seq_num() {
        let m = msg(RFC5424);
        let opts = FormatOptions { escape: true, seq_num: 7, ..Default::default() };
        assert_eq!(
            fmt_with("'$SDATA' $SEQNUM", &m, &opts),
            "'[exampleSDID@32473 iut=\\\"3\\\" eventSource=\\\"App\\\\]\\\"][meta sequenceId=\\\"7\\\"]' 7"
        );
        assert_eq!(fmt_with("$MSG", &msg(b"<13>Jan  1 00:00:00 h p: a\"b\tc"), &opts), "a\\\"b\\011c");
    }

    #[test]
    fn dates() {
        let m = msg(RFC5424);
        assert_eq!(
            fmt("$DATE|$ISODATE|$FULLDATE|$UNIXTIME|$TZOFFSET|$MSEC|$USEC", &m),
            "Oct 11 22:14:15|2003-10-11T22:14:15+00:00|2003 Oct 11 22:14:15|1065910455|+00:00|003|003000"
        );
        assert_eq!(
            fmt("$YEAR $YEAR_DAY $MONTH $MONTH_WEEK $MONTH_ABBREV $MONTH_NAME $DAY $HOUR $HOUR12 $AMPM", &m),
            "2003 284 10 1 Oct October 11 22 10 PM"
        );
        assert_eq!(
            fmt("$WEEKDAY $WEEK_DAY $WEEK_DAY_NAME $WEEK $ISOWEEK $S_SEC $R_YEAR", &m),
            "Sat 7 Saturday 40 41 15 2024"
        );
        let opts = FormatOptions {
            frac_digits: 3,
            ts_format: TsFormat::Rfc3339,
            time_zone: Some(TimeZone::fixed(jiff::tz::offset(-7))),
            ..Default::default()
        };
        assert_eq!(
            fmt_with("$STAMP $UNIXTIME $DATE", &m, &opts),
            "2003-10-11T15:14:15.003-07:00 1065910455.003 Oct 11 15:14:15.003"
        );
        let opts = FormatOptions { ts_format: TsFormat::Unix, ..Default::default() };
        assert_eq!(fmt_with("$STAMP", &m, &opts), "1065910455");
        assert_eq!(fmt("$C_YEAR", &m).len(), 4);
    }

    #[test]
    fn functions() {
        let m = msg(BSD);
        assert_eq!(fmt("$(echo $HOST $PID)|$(length $PROGRAM $MSG)", &m), "mymachine 123|2 16");
        assert_eq!(
            fmt("$(substr $HOST 2 3)|$(substr $HOST -3)|$(substr $HOST 1 -2)|$(substr $HOST 20)", &m),
            "mac|ine|ymachi|"
        );
        assert_eq!(fmt("$(uppercase $HOST)|$(lowercase ÄBC)|$(strip '  a b  ' ' c ')", &m), "MYMACHINE|äbc|a b c");
        assert_eq!(
            fmt("$(sanitize a/b $(echo x\x01y))|$(replace-delimiter ' ' - $MSG)", &m),
            "a_b/x_y|'su-root'-failed"
        );
        assert_eq!(fmt("$(padding $PID 6 ab)|$(padding $PID 2)|$(padding $PID 5)", &m), "aba123|123|  123");
        assert_eq!(fmt("$(md5 abc)|$(sha1 --length 8 abc)", &m), "900150983cd24fb0d6963f7d28e17f72|a9993e36");
        assert_eq!(fmt("$(sha256 a bc)", &m), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(fmt("$(indent-multi-line 'a\nb')", &m), "a\n\tb");
    }

    #[test]
    fn unsupported_is_an_error() {
        let m = msg(BSD);
        // without a filter compiler, filters are kept as text and cannot run
        let t = compile("x$(if (level(err)) a b)", &CompileContext::new()).expect("compiles");
        let mut out = b"keep".to_vec();
        let err = t.format(&m, &FormatOptions::default(), &mut out).unwrap_err();
        assert_eq!(err, FormatError::Unsupported("if".into()));
        assert_eq!(out, b"keep");
    }

    #[test]
    fn format_json() {
        let m = msg(RFC5424);
        assert_eq!(
            fmt("$(format-json --scope rfc5424 --exclude DATE --exclude *Y a.b=int(12) a.c=x)", &m),
            r#"{"a":{"c":"x","b":12},"_SDATA":{"exampleSDID@32473":{"iut":"3","eventSource":"App]"}},"PROGRAM":"evntslog","MSGID":"ID47","MESSAGE":"An application event","HOST":"mymachine.example.com"}"#
        );
        assert_eq!(fmt("$(format-flat-json x.y=1 .z=2)", &m), r#"{"x.y":"1","_z":"2"}"#);
        // a failed cast voids the whole result by default (`on-error(drop-message)`)
        assert_eq!(fmt("$(format-json a=int($PID) b=1)", &m), "");
        let opts = FormatOptions { on_error: OnError::DropProperty, ..Default::default() };
        assert_eq!(fmt_with("$(format-json a=int(x) b=list(p,'q r'))", &m, &opts), r#"{"b":["p","q r"]}"#);
    }

    #[test]
    fn list_functions() {
        let m = msg(BSD);
        assert_eq!(
            fmt("$(list-concat a,b 'c d') $(list-count a,,b) $(list-nth -1 a,b) $(list-slice 1: a,b,c)", &m),
            "a,b,\"c d\" 2 b b,c"
        );
    }

    #[test]
    fn value_pairs_lists_and_kv_formats() {
        let m = msg(RFC5424);
        assert_eq!(fmt("$(names --scope rfc3164)", &m), "DATE,FACILITY,HOST,MESSAGE,PRIORITY,PROGRAM");
        assert_eq!(fmt("$(values x='a,b' y='c d' z='' .w=1)", &m), "1,\"a,b\",\"c d\",\"\"");
        assert_eq!(fmt("$(names x=1 .w=1)", &m), ".w,x");
        // `id` goes first when inserted, later smaller keys go before it
        assert_eq!(fmt("$(format-welf id=1 a=2 B=3)", &m), "B=3 a=2 id=1");
        assert_eq!(fmt("$(format-welf Z=0 id=1 a=2 B=3 j=4 C=5)", &m), "B=3 C=5 id=1 Z=0 a=2 j=4");
        assert_eq!(fmt("$(format-welf a='x y' b='q\"')", &m), "a=\"x y\" b=q\"");
        assert_eq!(fmt("$(format-welf a=1 id=2 Z=3 id=4 B=5)", &m), "B=5 id=4 Z=3 id=2 a=1");
        assert_eq!(fmt("$(format-cef-extension a=b=c x='\\\n')", &m), "a=b\\=c x=\\\\\\n");
        assert_eq!(fmt("$(format-cef-extension a.b=1 c=2)", &m), "");
        let opts = FormatOptions { on_error: OnError::DropProperty, ..Default::default() };
        assert_eq!(fmt_with("$(format-cef-extension a.b=1 c=2)", &m, &opts), "c=2");
    }

    #[test]
    fn list_search() {
        let m = msg(BSD);
        assert_eq!(
            fmt(
                "$(list-search b a,b,c)|$(list-search --mode glob *b* a,abc)|$(list-search --start-index -2 c a,b,c)",
                &m
            ),
            "1|1|0"
        );
        assert_eq!(fmt("$(list-search --mode pcre [0-9]+ a,b1,22)|$(list-search x a)", &m), "2|");
    }

    #[test]
    fn map_iterate_and_context_id() {
        let m = msg(BSD);
        assert_eq!(fmt("[$_]$(map $(uppercase $_) a,'b c')", &m), "[]A,\"B C\"");
        assert_eq!(fmt("$(map $(map $_$_ $_,x) a,b)", &m), "\"aa,xx\",\"bb,xx\"");
        let t = compile("$(iterate $(+ $_ 2) 1)", &CompileContext::new()).expect("compiles");
        let mut out = Vec::new();
        for _ in 0..3 {
            t.format(&m, &FormatOptions::default(), &mut out).expect("formats");
            out.push(b' ');
        }
        assert_eq!(out, b"1 3 5 ");
    }

    #[test]
    fn getent_and_dns() {
        let m = msg(BSD);
        assert_eq!(fmt("$(getent passwd root)|$(getent passwd 0 dir)|$(getent group 0)", &m), "0|/root|root");
        assert_eq!(fmt("$(getent passwd root nope)|$(getent nope x)", &m), "|");
        assert_eq!(fmt("$(dns-resolve-ip --use-dns no 127.1)|$(dns-resolve-ip -d no x)", &m), "127.0.0.1|");
    }

    #[test]
    fn context_refs() {
        let m = msg(BSD);
        assert_eq!(fmt("${HOST}@0|${HOST}@1|$(echo x)@2", &m), "mymachine||");
    }
}

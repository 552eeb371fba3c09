//! Compiled filter expressions, evaluated as syslog-ng 3.38 evaluates them (`lib/filter/`).
//!
//! A [`Filter`] is a tree of [`Node`]s built once (by `rsng-config`'s `filter_compile`) and
//! evaluated per message with [`Filter::eval`]. Evaluation does not allocate: values that must be
//! formatted first (template operands, `match()` without `value()`) go to the reusable buffers of
//! a [`FilterScratch`].
//!
//! | Node | Expression | Tests |
//! |---|---|---|
//! | [`Node::Facility`] | `facility(mail, local0..local3)`, `facility(13)` | the facility of `PRI` |
//! | [`Node::Severity`] | `level(err..emerg)` (= `priority()`, `severity()`) | the severity of `PRI` |
//! | [`Node::Match`] | `program() host() message() source() match()` | a [`Matcher`] on a value |
//! | [`Node::Netmask`], [`Node::Netmask6`] | `netmask("10.0.0.0/8")`, `netmask6("::1/128")` | `$SOURCEIP` (loopback for local messages) |
//! | [`Node::Tags`] | `tags("a", "b")` | any of the tags |
//! | [`Node::InList`] | `in-list("file" value("HOST"))` | the value is a line of the file |
//! | [`Node::Compare`] | `"$PID" > 100`, `$HOST eq "x"` | see [`compare`] |
//! | [`Node::Call`] | `filter(NAME)` | another filter, resolved at compile time |
//!
//! `store-matches` (setting `$1`... from a regex filter) is not done: evaluation only reads the
//! message.

pub mod compare;
pub mod matcher;
pub mod rate_limit;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

pub use compare::{Compare, CompareMode, CompareOp, Operand, ValueType};
pub use matcher::{Glob, Matcher, MatcherFlags, MatcherType};

use crate::message::{Builtin, LogMessage, TagId};
use crate::template::{compile, CompileContext, FormatOptions, Template};

/// A filter that could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FilterError {
    pub message: String,
}

impl FilterError {
    pub fn new(message: impl Into<String>) -> Self {
        FilterError { message: message.into() }
    }
}

/// Reusable buffers for [`Filter::eval`]; one per evaluating thread.
#[derive(Debug, Default)]
pub struct FilterScratch {
    left: Vec<u8>,
    right: Vec<u8>,
}

impl FilterScratch {
    pub fn new() -> Self {
        Self::default()
    }
}

/// A compiled filter: a named filter, an inline `#anon-filterN` or a condition.
#[derive(Debug, Clone)]
pub struct Filter {
    name: String,
    root: Node,
    format: FormatOptions,
}

impl Filter {
    /// A filter named `name` (empty for conditions) testing `root`.
    pub fn new(name: impl Into<String>, root: Node) -> Filter {
        Filter { name: name.into(), root, format: FormatOptions::default() }
    }

    /// Sets the options templates in this filter are formatted with (the global
    /// `ts-format()`, `frac-digits()`, `time-zone()`).
    pub fn with_format(mut self, format: FormatOptions) -> Filter {
        self.format = format;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn root(&self) -> &Node {
        &self.root
    }

    /// Whether `msg` passes the filter.
    pub fn eval(&self, msg: &LogMessage, scratch: &mut FilterScratch) -> bool {
        self.root.eval(msg, scratch, &self.format)
    }
}

/// `facility()`: a set of facility codes, or one exact code (`facility(13)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacilityTest {
    /// Bit `n` set for facility `n`. Facilities above 31 (from a `PRI` above 255) test bit
    /// `n % 32`, as syslog-ng's `1 << n` does on x86.
    Mask(u32),
    Exact(u32),
}

/// Which value a matcher reads.
#[derive(Debug, Clone)]
pub enum Subject {
    /// A name-value pair (`value("HOST")`, and `program()`, `host()`, ...).
    Value(ValueSel),
    /// `match("re" template("..."))`.
    Template(Template),
    /// `match("re")` without `value()`: `$PROGRAM[$PID]: $MESSAGE` (`[$PID]` only when there is
    /// a PID), syslog-ng's compatibility mode.
    ProgramPidMessage,
}

/// A name-value pair, resolved at compile time.
#[derive(Debug, Clone)]
pub enum ValueSel {
    Builtin(Builtin),
    /// A macro that is not stored in the message (`FACILITY`, `MSGHDR`, `ISODATE`, ...).
    Macro(Template),
    /// `.SDATA.*` or a user pair.
    Pair(String),
}

impl ValueSel {
    /// The value named `name`; a leading `$` is dropped as syslog-ng does.
    pub fn new(name: &str) -> ValueSel {
        let name = name.strip_prefix('$').unwrap_or(name);
        if let Some(b) = Builtin::from_name(name) {
            return ValueSel::Builtin(b);
        }
        if crate::template::is_builtin_macro(name) {
            if let Ok(t) = compile(&format!("${{{name}}}"), &CompileContext::new()) {
                return ValueSel::Macro(t);
            }
        }
        ValueSel::Pair(name.to_string())
    }

    fn get<'a>(&'a self, msg: &'a LogMessage, buf: &'a mut Vec<u8>, format: &FormatOptions) -> &'a [u8] {
        match self {
            ValueSel::Builtin(b) => msg.builtin(*b),
            ValueSel::Pair(name) => msg.get(name).unwrap_or(b""),
            ValueSel::Macro(t) => {
                buf.clear();
                // An unsupported macro reads as empty.
                let _ = t.format(msg, format, buf);
                buf
            }
        }
    }
}

/// A matcher applied to a subject.
#[derive(Debug, Clone)]
pub struct MatchNode {
    pub subject: Subject,
    pub matcher: Matcher,
}

/// `netmask()`: address and mask, both in host order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Netmask4 {
    pub address: u32,
    pub mask: u32,
}

impl Netmask4 {
    /// Parses `a.b.c.d/nn`, `a.b.c.d/m.m.m.m` or a lone address (`/32`), as syslog-ng 3.38's
    /// `filter_netmask_new` does (`inet_aton` forms; an address that does not parse is 0.0.0.0).
    pub fn parse(cidr: &str) -> Netmask4 {
        let (addr, mask) = match cidr.split_once('/') {
            Some((a, m)) if cidr.len() < 32 => {
                let mask = if m.contains('.') {
                    inet_aton(m).unwrap_or(0)
                } else {
                    let prefix = strtol_prefix(m);
                    if prefix == 32 {
                        u32::MAX
                    } else {
                        // `((1 << prefix) - 1) << (32 - prefix)` in C int arithmetic on x86.
                        (1i32.wrapping_shl(prefix as u32).wrapping_sub(1))
                            .wrapping_shl(32u32.wrapping_sub(prefix as u32)) as u32
                    }
                };
                (inet_aton(a).unwrap_or(0), mask)
            }
            _ => (inet_aton(cidr).unwrap_or(0), u32::MAX),
        };
        Netmask4 { address: addr & mask, mask }
    }

    fn matches(&self, ip: Option<IpAddr>) -> bool {
        let addr = match ip {
            Some(IpAddr::V4(a)) => a,
            None => Ipv4Addr::LOCALHOST,
            Some(IpAddr::V6(_)) => return false,
        };
        u32::from(addr) & self.mask == self.address
    }
}

/// `strtol(s, NULL, 10)` for a prefix length.
fn strtol_prefix(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    for c in t.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// `inet_aton`: `a.b.c.d`, `a.b.c`, `a.b`, `a`, each part decimal, octal (`0`) or hex (`0x`).
fn inet_aton(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        let n = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            if h.is_empty() {
                0
            } else {
                u64::from_str_radix(h, 16).ok()?
            }
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()?
        } else {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse::<u64>().ok()?
        };
        nums.push(n);
    }
    let (last, init) = nums.split_last()?;
    let mut v: u64 = 0;
    for (i, &n) in init.iter().enumerate() {
        if n > 255 {
            return None;
        }
        v |= n << (24 - 8 * i);
    }
    let room = 32 - 8 * init.len() as u32;
    if room < 64 && *last >= 1u64 << room {
        return None;
    }
    Some((v | last) as u32)
}

/// `netmask6()`: network address and prefix; an invalid specification never matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Netmask6 {
    network: Option<(u128, u32)>,
}

impl Netmask6 {
    /// Parses `addr/prefix` (prefix 1..=128) or a lone address (`/128`).
    pub fn parse(cidr: &str) -> Netmask6 {
        let (addr, prefix) = match cidr.split_once('/') {
            Some((a, p)) if cidr.len() < 46 + 5 => {
                let prefix = strtol_prefix(p);
                if (1..=128).contains(&prefix) {
                    (a, prefix as u32)
                } else {
                    ("", 0)
                }
            }
            _ => (cidr, 128),
        };
        let network = addr.parse::<Ipv6Addr>().ok().map(|a| (u128::from(a) & mask6(prefix), prefix));
        Netmask6 { network }
    }

    fn matches(&self, ip: Option<IpAddr>) -> bool {
        let Some((network, prefix)) = self.network else { return false };
        let addr = match ip {
            Some(IpAddr::V6(a)) => a,
            None => Ipv6Addr::LOCALHOST,
            Some(IpAddr::V4(_)) => return false,
        };
        u128::from(addr) & mask6(prefix) == network
    }
}

fn mask6(prefix: u32) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix.min(128))
    }
}

/// `in-list()`: the lines of a file, looked up exactly.
#[derive(Debug, Clone)]
pub struct InList {
    pub value: ValueSel,
    pub entries: HashSet<Vec<u8>>,
}

impl InList {
    /// The list from the contents of a list file: every line loses its last character (the
    /// newline, or the last character of an unterminated last line, as syslog-ng's `fgets`
    /// loop does); empty lines are skipped.
    pub fn from_contents(value: ValueSel, contents: &[u8]) -> InList {
        let mut entries = HashSet::new();
        let mut rest = contents;
        while !rest.is_empty() {
            let end = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |n| n + 1);
            let line = &rest[..end - 1];
            let line = line.iter().position(|&b| b == 0).map_or(line, |n| &line[..n]);
            if !line.is_empty() {
                entries.insert(line.to_vec());
            }
            rest = &rest[end..];
        }
        InList { value, entries }
    }
}

/// One node of a compiled filter.
#[derive(Debug, Clone)]
pub enum Node {
    Const(bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Facility(FacilityTest),
    /// Bit `n` set for severity `n`.
    Severity(u8),
    Match(Box<MatchNode>),
    Netmask(Netmask4),
    Netmask6(Netmask6),
    Tags(Vec<TagId>),
    InList(Box<InList>),
    Compare(Box<Compare>),
    /// `filter(NAME)`.
    Call(Arc<Filter>),
    /// `rate-limit()`: shared by every copy of the filter.
    RateLimit(Arc<rate_limit::RateLimit>),
}

/// The bits of codes `a..b` (either order), like syslog-ng's `syslog_make_range`.
pub fn code_range(a: u8, b: u8) -> u32 {
    let (lo, hi) = (a.min(b) as u32, a.max(b) as u32);
    let upper = if hi >= 31 { u32::MAX } else { (1u32 << (hi + 1)) - 1 };
    upper & !((1u32 << lo.min(31)) - 1)
}

impl Node {
    fn eval(&self, msg: &LogMessage, scratch: &mut FilterScratch, format: &FormatOptions) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::And(parts) => parts.iter().all(|p| p.eval(msg, scratch, format)),
            Node::Or(parts) => parts.iter().any(|p| p.eval(msg, scratch, format)),
            Node::Not(inner) => !inner.eval(msg, scratch, format),
            Node::Facility(test) => {
                let fac = u32::from(msg.pri() & 0x03f8) >> 3;
                match *test {
                    FacilityTest::Exact(code) => code == fac,
                    FacilityTest::Mask(bits) => bits & 1u32.wrapping_shl(fac) != 0,
                }
            }
            Node::Severity(bits) => bits & (1 << (msg.pri() & 7)) != 0,
            Node::Match(m) => match &m.subject {
                Subject::Value(sel) => m.matcher.is_match(sel.get(msg, &mut scratch.left, format)),
                Subject::Template(t) => {
                    scratch.left.clear();
                    let _ = t.format(msg, format, &mut scratch.left);
                    m.matcher.is_match(&scratch.left)
                }
                Subject::ProgramPidMessage => {
                    let buf = &mut scratch.left;
                    buf.clear();
                    buf.extend_from_slice(msg.builtin(Builtin::Program));
                    let pid = msg.builtin(Builtin::Pid);
                    if !pid.is_empty() {
                        buf.push(b'[');
                        buf.extend_from_slice(pid);
                        buf.push(b']');
                    }
                    buf.extend_from_slice(b": ");
                    buf.extend_from_slice(msg.builtin(Builtin::Message));
                    m.matcher.is_match(buf)
                }
            },
            Node::Netmask(n) => n.matches(msg.source_ip()),
            Node::Netmask6(n) => n.matches(msg.source_ip()),
            Node::Tags(tags) => tags.iter().any(|t| msg.tags().contains(*t)),
            Node::InList(list) => {
                let v = list.value.get(msg, &mut scratch.left, format);
                let v = v.iter().position(|&b| b == 0).map_or(v, |n| &v[..n]);
                list.entries.contains(v)
            }
            Node::Compare(c) => {
                let (left, right) = (&mut scratch.left, &mut scratch.right);
                left.clear();
                right.clear();
                let _ = c.lhs.template.format(msg, format, left);
                let _ = c.rhs.template.format(msg, format, right);
                c.decide(left, right)
            }
            Node::Call(f) => f.eval(msg, scratch),
            Node::RateLimit(r) => r.admit(msg, &mut scratch.left, format),
        }
    }
}

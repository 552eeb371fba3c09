//! syslog-ng 3.38's rewrite rules (`lib/rewrite/`), applied to a [`LogMessage`] in place.
//!
//! | Rule | syslog-ng | What it does |
//! |---|---|---|
//! | [`Set`] | `set("template" value("NAME"))` | formats the template into a value (default `MESSAGE`) |
//! | [`Unset`] | `unset(value("NAME"))` | unsets a value |
//! | [`Subst`] | `subst("re" "replacement" ...)` | replaces matches in a value, see [`subst`] |
//! | [`SetTag`] | `set-tag("t")`, `clear-tag("t")` | the tag name may be a template |
//! | [`GroupSet`] | `groupset("t" values("glob"...))`, `groupunset(...)` | see [`groupset`] |
//! | [`Rename`] | `rename("old" "new")` | moves a value that is set |
//! | [`SetPri`] | `set-pri()`, `set-severity()`, `set-facility()` | numbers or names from a template |
//! | [`SetMatches`] | `set-matches("a,b")`, `unset-matches()` | `$1`.. from a list |
//!
//! Templates are formatted with the options syslog-ng uses for each rule: `set()` and
//! `set-matches()` with their own template options, the others with the global ones. A
//! template function rsng cannot evaluate yet formats as empty. A rule's `condition()` is
//! evaluated by the caller.

pub mod groupset;
pub mod subst;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use groupset::GroupSet;
pub use subst::{Subst, SubstMatcher};

use crate::message::{Builtin, LogMessage, TagId};
use crate::names::{facility_code, severity_code};
use crate::parser::nv;
use crate::parser::scratch::Scratch;
use crate::strrepr::scan_list;
use crate::template::{FormatOptions, Template};

/// One rewrite rule.
#[derive(Debug)]
pub enum Rewrite {
    Set(Set),
    Unset(Unset),
    Subst(Subst),
    SetTag(SetTag),
    GroupSet(GroupSet),
    Rename(Rename),
    SetPri(SetPri),
    SetMatches(SetMatches),
    /// `unset-matches()`: unsets `$0`..`$255`.
    UnsetMatches,
}

impl Rewrite {
    /// Applies the rule to `msg`.
    pub fn apply(&self, msg: &mut LogMessage) {
        match self {
            Rewrite::Set(r) => r.apply(msg),
            Rewrite::Unset(r) => r.apply(msg),
            Rewrite::Subst(r) => r.apply(msg),
            Rewrite::SetTag(r) => r.apply(msg),
            Rewrite::GroupSet(r) => r.apply(msg),
            Rewrite::Rename(r) => r.apply(msg),
            Rewrite::SetPri(r) => r.apply(msg),
            Rewrite::SetMatches(r) => r.apply(msg),
            Rewrite::UnsetMatches => nv::clear_matches(msg),
        }
    }
}

/// `set("template" value("NAME"))`.
#[derive(Debug)]
pub struct Set {
    name: String,
    template: Arc<Template>,
    opts: FormatOptions,
}

impl Set {
    /// Sets value `name` to `template`, formatted with `opts` (the rule's template options).
    pub fn new(name: &str, template: Arc<Template>, opts: FormatOptions) -> Set {
        Set { name: name.to_string(), template, opts }
    }

    pub fn apply(&self, msg: &mut LogMessage) {
        let mut buf = Scratch::take();
        let _ = self.template.format(msg, &self.opts, &mut buf);
        nv::set(msg, &self.name, &buf);
    }
}

/// `unset(value("NAME"))`.
#[derive(Debug)]
pub struct Unset {
    name: String,
}

impl Unset {
    pub fn new(name: &str) -> Unset {
        Unset { name: name.to_string() }
    }

    pub fn apply(&self, msg: &mut LogMessage) {
        nv::unset(msg, &self.name);
    }
}

/// The tag of `set-tag()` / `clear-tag()`: fixed, or a template formatted per message.
#[derive(Debug)]
pub enum TagName {
    Fixed(TagId),
    Template(Arc<Template>, FormatOptions),
}

/// `set-tag("name")` (`on`) or `clear-tag("name")`.
#[derive(Debug)]
pub struct SetTag {
    tag: TagName,
    on: bool,
}

impl SetTag {
    pub fn new(tag: TagName, on: bool) -> SetTag {
        SetTag { tag, on }
    }

    pub fn apply(&self, msg: &mut LogMessage) {
        let id = match &self.tag {
            TagName::Fixed(id) => *id,
            TagName::Template(t, opts) => {
                let mut buf = Scratch::take();
                let _ = t.format(msg, opts, &mut buf);
                // The tag name is a C string.
                TagId::intern(&String::from_utf8_lossy(nv::c_str(&buf)))
            }
        };
        if self.on {
            msg.set_tag(id);
        } else {
            msg.clear_tag(id);
        }
    }
}

/// `rename("old" "new")`: moves a value that is set (an empty one too) to another name.
#[derive(Debug)]
pub struct Rename {
    from: String,
    to: String,
}

impl Rename {
    pub fn new(from: &str, to: &str) -> Rename {
        Rename { from: from.to_string(), to: to.to_string() }
    }

    /// Whether both names denote the same value (`MSG` and `MESSAGE` do).
    fn same(&self) -> bool {
        match (Builtin::from_name(&self.from), Builtin::from_name(&self.to)) {
            (Some(a), Some(b)) => a == b,
            _ => self.from == self.to,
        }
    }

    pub fn apply(&self, msg: &mut LogMessage) {
        if self.same() {
            return;
        }
        let mut buf = Scratch::take();
        match nv::get_if_set(msg, &self.from) {
            Some(v) => buf.extend_from_slice(v),
            None => return,
        }
        nv::set(msg, &self.to, &buf);
        nv::unset(msg, &self.from);
    }
}

/// Which part of `PRI` a [`SetPri`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriPart {
    /// `set-pri()`: the whole value, 0..=1023.
    Pri,
    /// `set-severity()`: a number 0..=7 or a severity name.
    Severity,
    /// `set-facility()`: a number 0..=127 or a facility name.
    Facility,
}

/// `set-pri()`, `set-severity()`, `set-facility()`. An invalid value leaves `PRI` alone.
#[derive(Debug)]
pub struct SetPri {
    part: PriPart,
    template: Arc<Template>,
    opts: FormatOptions,
}

/// C's `strtol(s, &end, 10)` requiring `end` to be the end of `s`: leading whitespace and a sign
/// allowed, nothing after the digits. Saturates like `strtol`.
fn strtol_whole(s: &[u8]) -> Option<i64> {
    let start = s.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))?;
    let s = &s[start..];
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        n = n.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    Some(if neg { -n } else { n })
}

impl SetPri {
    /// `opts` are the global template options.
    pub fn new(part: PriPart, template: Arc<Template>, opts: FormatOptions) -> SetPri {
        SetPri { part, template, opts }
    }

    /// The new `PRI` for the formatted `text`, or `None` when it is invalid.
    fn convert(&self, text: &[u8], pri: u16) -> Option<u16> {
        let text = nv::c_str(text);
        match self.part {
            PriPart::Pri => strtol_whole(text).filter(|n| (0..=1023).contains(n)).map(|n| n as u16),
            PriPart::Severity => {
                let sev = strtol_whole(text)
                    .filter(|n| (0..=7).contains(n))
                    .map(|n| n as u16)
                    .or_else(|| std::str::from_utf8(text).ok().and_then(severity_code).map(u16::from))?;
                Some((pri & !7) | sev)
            }
            PriPart::Facility => {
                // `parse_int64` refuses what `strtoll` reports as out of range.
                let fac = strtol_whole(text)
                    .filter(|n| (0..=127).contains(n))
                    .map(|n| n as u16)
                    .or_else(|| std::str::from_utf8(text).ok().and_then(facility_code).map(u16::from))?;
                Some((pri & !0x03f8) | (fac << 3))
            }
        }
    }

    pub fn apply(&self, msg: &mut LogMessage) {
        let mut buf = Scratch::take();
        let _ = self.template.format(msg, &self.opts, &mut buf);
        if let Some(pri) = self.convert(&buf, msg.pri()) {
            msg.set_pri(pri);
        }
    }
}

/// `set-matches("template")`: the formatted list becomes `$1`, `$2`, ... (previous matches are
/// unset first).
#[derive(Debug)]
pub struct SetMatches {
    template: Arc<Template>,
    opts: FormatOptions,
}

impl SetMatches {
    pub fn new(template: Arc<Template>, opts: FormatOptions) -> SetMatches {
        SetMatches { template, opts }
    }

    pub fn apply(&self, msg: &mut LogMessage) {
        let mut list = Scratch::take();
        let _ = self.template.format(msg, &self.opts, &mut list);
        nv::clear_matches(msg);
        let mut item = Scratch::take();
        let mut rest: &[u8] = &list;
        let mut i = 1;
        while i < nv::MAX_MATCHES {
            let Some(r) = scan_list(rest, &mut item) else { break };
            nv::set_match(msg, i, &item);
            rest = r;
            i += 1;
        }
    }
}

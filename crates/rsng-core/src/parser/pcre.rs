//! PCRE matching that stores what it matched in the message, as syslog-ng 3.38's PCRE matcher
//! (`lib/logmatcher.c`) does for `regexp-parser()` and `subst()`: numbered groups become `$0`,
//! `$1`..., named groups become name-value pairs (with an optional prefix), and groups the match
//! did not reach are unset.

use std::sync::Mutex;

use pcre2::bytes::{CaptureLocations, Regex, RegexBuilder};

use super::nv::{self, PrefixedName, MAX_MATCHES};
use crate::filter::MatcherFlags;
use crate::message::{Builtin, LogMessage};
use crate::template::{FormatOptions, Template};

/// Capture locations kept between matches, so that matching does not allocate.
#[derive(Debug)]
struct LocationPool {
    free: Mutex<Vec<CaptureLocations>>,
}

impl LocationPool {
    fn new() -> LocationPool {
        LocationPool { free: Mutex::new(Vec::new()) }
    }

    fn take(&self, re: &Regex) -> CaptureLocations {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_else(|| re.capture_locations())
    }

    fn give(&self, locs: CaptureLocations) {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).push(locs);
    }
}

/// A compiled PCRE pattern with syslog-ng's match storing.
#[derive(Debug)]
pub struct Pcre {
    re: Regex,
    /// The pattern anchored at the start offset and refusing an empty match: what PCRE's
    /// `PCRE_NOTEMPTY | PCRE_ANCHORED` does, which global replacement needs after an empty
    /// match. `None` when the wrapped pattern does not compile; such a retry then fails.
    nonempty: Option<Regex>,
    /// Named groups in PCRE's name-table order (by name).
    names: Vec<(String, usize)>,
    pool: LocationPool,
    nonempty_pool: LocationPool,
}

/// Splits leading `(*VERB)` items (`(*UTF)`, `(*CRLF)`, `(*LIMIT_MATCH=10)`), which PCRE accepts
/// only at the very start of a pattern.
fn leading_verbs(pattern: &str) -> (&str, &str) {
    let mut end = 0;
    while pattern[end..].starts_with("(*") {
        match pattern[end..].find(')') {
            Some(close)
                if pattern[end + 2..end + close]
                    .bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_' || c == b'=') =>
            {
                end += close + 1;
            }
            _ => break,
        }
    }
    pattern.split_at(end)
}

fn builder(flags: &MatcherFlags) -> RegexBuilder {
    let mut b = RegexBuilder::new();
    b.caseless(flags.icase).crlf(flags.newline).utf(flags.utf8).jit_if_available(!flags.disable_jit);
    b
}

impl Pcre {
    /// Compiles `pattern` with the matcher `flags` (`ignore-case`, `newline`, `utf8`,
    /// `dupnames`, `disable-jit`).
    ///
    /// # Errors
    /// syslog-ng's message for a pattern PCRE refuses.
    pub fn new(pattern: &str, flags: &MatcherFlags) -> Result<Pcre, String> {
        let (verbs, body) = leading_verbs(pattern);
        let dup = if flags.dupnames { "(?J)" } else { "" };
        let text = format!("{verbs}{dup}{body}");
        let re = builder(flags).build(&text).map_err(|e| {
            let text = e.to_string();
            let message = text
                .split_once("pattern")
                .and_then(|(_, rest)| rest.split_once(": "))
                .map_or(text.clone(), |(_, m)| m.to_string());
            format!(
                "Failed to compile PCRE expression >>>{pattern}<<< `{message}' at character {}",
                e.offset().unwrap_or(0).saturating_sub(dup.len())
            )
        })?;
        let nonempty = builder(flags).build(&format!("{verbs}{dup}\\G(?:{body})(?!\\G)")).ok().or_else(|| {
            // In extended mode a trailing `#` comment swallows the closing parenthesis; a
            // newline ends the comment (outside extended mode it would be a literal newline,
            // so it is only tried second).
            builder(flags).build(&format!("{verbs}{dup}\\G(?:{body}\n)(?!\\G)")).ok()
        });
        let nonempty = nonempty.filter(|n| n.captures_len() == re.captures_len());
        let mut names: Vec<(String, usize)> =
            re.capture_names().iter().enumerate().filter_map(|(i, n)| n.clone().map(|n| (n, i))).collect();
        names.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        Ok(Pcre { re, nonempty, names, pool: LocationPool::new(), nonempty_pool: LocationPool::new() })
    }

    /// Whether the non-empty retry pattern compiled.
    #[cfg(test)]
    fn has_nonempty(&self) -> bool {
        self.nonempty.is_some()
    }

    /// Stores groups of the match in `locs`: `$0`.. for numbered groups (unsetting the groups
    /// after the last one that matched), then the named groups as `prefix` + name.
    ///
    /// With `unset_source`, the subject is a name-value pair that is not set: syslog-ng then
    /// stores groups as references into that missing value, which stores nothing (only groups
    /// named after built-in values such as `HOST` are set).
    fn store(
        &self,
        msg: &mut LogMessage,
        subject: &[u8],
        locs: &CaptureLocations,
        names: &mut PrefixedName,
        unset_source: bool,
    ) {
        let groups = locs.len().min(MAX_MATCHES);
        // PCRE reports one more than the highest group that matched.
        let rc = (0..groups).rev().find(|&i| locs.get(i).is_some()).map_or(0, |i| i + 1);
        if !unset_source {
            for i in 0..rc {
                if let Some((s, e)) = locs.get(i) {
                    nv::set_match(msg, i, &subject[s..e]);
                }
            }
        }
        nv::truncate_matches(msg, rc);
        for (name, i) in &self.names {
            if let Some((s, e)) = locs.get(*i) {
                let target = names.with(name.as_bytes());
                if !unset_source || Builtin::from_name(target).is_some() {
                    nv::set(msg, target, &subject[s..e]);
                }
            }
        }
    }

    /// Matches `subject`; with `store`, sets the match groups and named groups (named ones as
    /// `prefix` + name) on `msg`. A subject PCRE refuses (invalid UTF-8 with `utf8`) does not match.
    pub fn matches(&self, msg: &mut LogMessage, subject: &[u8], store: bool, prefix: &str) -> bool {
        let mut locs = self.pool.take(&self.re);
        let found = matches!(self.re.captures_read(&mut locs, subject), Ok(Some(_)));
        if found && store {
            let mut names = PrefixedName::new(prefix);
            self.store(msg, subject, &locs, &mut names, false);
        }
        self.pool.give(locs);
        found
    }

    /// Replaces the first match in `subject` (every match with `global`) by `replacement`,
    /// formatted after the match groups of that match were stored, and appends the result to
    /// `out`. Returns `false` (leaving `out` alone) when nothing matched.
    ///
    /// An empty match is followed by an attempt at a non-empty match at the same place and, when
    /// that fails, by a search one byte further, as syslog-ng does (so `a*` on `message` gives
    /// `#m#e#s#s##g#e`). `unset_source`: see [`Pcre::store`].
    #[allow(clippy::too_many_arguments)]
    pub fn replace(
        &self,
        msg: &mut LogMessage,
        subject: &[u8],
        unset_source: bool,
        global: bool,
        replacement: &Template,
        opts: &FormatOptions,
        out: &mut Vec<u8>,
    ) -> bool {
        let mut locs = self.pool.take(&self.re);
        let mut anchored = self.nonempty.as_ref().map(|re| self.nonempty_pool.take(re));
        let mut names = PrefixedName::new("");
        let (mut start, mut last) = (0usize, 0usize);
        let mut last_empty = false;
        let mut matched = false;
        let begin = out.len();
        loop {
            let found = if last_empty {
                match (&self.nonempty, &mut anchored) {
                    (Some(re), Some(l)) => re.captures_read_at(l, subject, start).map(|m| m.map(|_| &*l)),
                    _ => Ok(None),
                }
            } else {
                self.re.captures_read_at(&mut locs, subject, start).map(|m| m.map(|_| &locs))
            };
            match found {
                // A matching error ends the replacement, keeping what was done.
                Err(_) => break,
                Ok(None) if !last_empty => break,
                Ok(None) => {
                    // No non-empty match here: step over one byte and search on.
                    start += 1;
                    last_empty = false;
                }
                Ok(Some(l)) => {
                    let (s, e) = l.get(0).unwrap_or((start, start));
                    self.store(msg, subject, l, &mut names, unset_source);
                    matched = true;
                    out.extend_from_slice(&subject[last..s]);
                    // A function rsng cannot evaluate leaves nothing for this match.
                    let _ = replacement.format(msg, opts, out);
                    last_empty = s == e;
                    start = e;
                    last = e;
                }
            }
            if !(global && start < subject.len()) {
                break;
            }
        }
        self.pool.give(locs);
        if let Some(l) = anchored {
            self.nonempty_pool.give(l);
        }
        if matched {
            out.extend_from_slice(&subject[last..]);
        } else {
            out.truncate(begin);
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ReceiveInfo;
    use crate::template::{compile, CompileContext};

    fn msg() -> LogMessage {
        LogMessage::new(&ReceiveInfo::new("s", "h", None, jiff::tz::TimeZone::UTC))
    }

    fn subst(pattern: &str, repl: &str, input: &str, global: bool) -> Option<String> {
        let re = Pcre::new(pattern, &MatcherFlags::default()).expect("compiles");
        let t = compile(repl, &CompileContext::new()).expect("template");
        let mut out = Vec::new();
        let mut m = msg();
        re.replace(&mut m, input.as_bytes(), false, global, &t, &FormatOptions::default(), &mut out)
            .then(|| String::from_utf8(out).expect("utf8"))
    }

    #[test]
    fn replaces_like_syslog_ng() {
        assert_eq!(subst("a*", "#", "message", true).as_deref(), Some("#m#e#s#s##g#e"));
        assert_eq!(subst("a*", "#", "banana", true).as_deref(), Some("#b##n##n#"));
        assert_eq!(subst("a", "<$0>", "banana", false).as_deref(), Some("b<a>nana"));
        assert_eq!(subst("(a)(n)?", "[$1$2]", "banana", true).as_deref(), Some("b[an][an][a]"));
        assert_eq!(subst("x", "y", "banana", true), None);
        assert_eq!(subst("^$", "empty", "", false).as_deref(), Some("empty"));
        assert_eq!(subst("a*?", "-", "aa", true).as_deref(), Some("----"));
    }

    #[test]
    fn stores_groups() {
        let re = Pcre::new("(?<word>[a-z]+)=(\\d+)?", &MatcherFlags::default()).expect("compiles");
        assert!(re.has_nonempty());
        let mut m = msg();
        nv::set_match(&mut m, 5, b"old");
        assert!(re.matches(&mut m, b"key=", true, ".p."));
        assert_eq!(m.get("0"), Some(&b"key="[..]));
        assert_eq!(m.get("1"), Some(&b"key"[..]));
        assert_eq!(m.get("2"), None);
        assert_eq!(m.get("5"), None);
        assert_eq!(m.get(".p.word"), Some(&b"key"[..]));
        assert!(!re.matches(&mut m, b"KEY", true, ""));
        let err = Pcre::new("(", &MatcherFlags::default()).unwrap_err();
        assert!(err.starts_with("Failed to compile PCRE expression >>>(<<<"), "{err}");
    }

    #[test]
    fn verbs_stay_in_front() {
        assert_eq!(leading_verbs("(*UTF)(*CRLF)abc"), ("(*UTF)(*CRLF)", "abc"));
        assert_eq!(leading_verbs("(*x)"), ("", "(*x)"));
        let re = Pcre::new("(*CRLF)a", &MatcherFlags { dupnames: true, ..Default::default() }).expect("compiles");
        assert!(re.has_nonempty());
    }
}

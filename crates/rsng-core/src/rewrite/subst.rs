//! `subst("pattern" "replacement" value("NAME") type(...) flags(...))`.
//!
//! As in syslog-ng 3.38 (`lib/rewrite/rewrite-subst.c`, `lib/logmatcher.c`):
//! * The value (default `MESSAGE`) is read even when unset, as an empty string; so `subst("^$"
//!   "x")` sets an unset value, while a `string` pattern never matches an empty value.
//! * With `type(pcre)` (the default) every match stores its groups as `$0`, `$1`, ... (and named
//!   groups by name) before the replacement template is formatted, so the replacement can use
//!   them, and they stay set on the message afterwards.
//! * `type(string)` compares the whole value, or a prefix (`flags(prefix)`) or any substring
//!   (`flags(substring)`) of what is left after the previous replacement; `flags(global)`
//!   repeats. `store-matches` then unsets `$0`..`$255` before each replacement.
//! * `type(glob)` cannot replace; building such a rule fails.
//! * When nothing matched, the value is left as it was (an unset value stays unset).

use std::sync::Arc;

use crate::filter::matcher::StringMode;
use crate::filter::MatcherFlags;
use crate::message::LogMessage;
use crate::parser::nv;
use crate::parser::pcre::Pcre;
use crate::parser::scratch::Scratch;
use crate::template::{FormatOptions, Template};

/// The pattern of a [`Subst`].
#[derive(Debug)]
pub enum SubstMatcher {
    Pcre(Pcre),
    String { pattern: Vec<u8>, mode: StringMode, icase: bool },
}

/// `subst()`.
#[derive(Debug)]
pub struct Subst {
    name: String,
    matcher: SubstMatcher,
    replacement: Arc<Template>,
    opts: FormatOptions,
    global: bool,
    store_matches: bool,
}

impl Subst {
    /// Replaces `pattern` in value `name`. `opts` are the global template options (the
    /// replacement is formatted with them).
    ///
    /// # Errors
    /// A PCRE pattern that does not compile.
    pub fn new(
        name: &str,
        pattern: &str,
        string_type: bool,
        flags: &MatcherFlags,
        replacement: Arc<Template>,
        opts: FormatOptions,
    ) -> Result<Subst, String> {
        let matcher = if string_type {
            // syslog-ng tests `prefix` before `substring`.
            let mode = if flags.prefix {
                StringMode::Prefix
            } else if flags.substring {
                StringMode::Substring
            } else {
                StringMode::Exact
            };
            SubstMatcher::String { pattern: pattern.as_bytes().to_vec(), mode, icase: flags.icase }
        } else {
            SubstMatcher::Pcre(Pcre::new(pattern, flags)?)
        };
        Ok(Subst {
            name: name.to_string(),
            matcher,
            replacement,
            opts,
            global: flags.global,
            store_matches: flags.store_matches,
        })
    }

    pub fn apply(&self, msg: &mut LogMessage) {
        let mut subject = Scratch::take();
        // Groups are stored as references into the value, unless it is a match group itself.
        let unset_source = nv::missing(msg, &self.name) && nv::match_index(self.name.as_bytes()).is_none();
        subject.extend_from_slice(msg.get(&self.name).unwrap_or(b""));
        let mut out = Scratch::take();
        let replaced = match &self.matcher {
            SubstMatcher::Pcre(re) => {
                re.replace(msg, &subject, unset_source, self.global, &self.replacement, &self.opts, &mut out)
            }
            SubstMatcher::String { pattern, mode, icase } => {
                self.replace_string(msg, &subject, pattern, *mode, *icase, &mut out)
            }
        };
        if replaced {
            nv::set(msg, &self.name, &out);
        }
    }

    fn replace_string(
        &self,
        msg: &mut LogMessage,
        value: &[u8],
        pattern: &[u8],
        mode: StringMode,
        icase: bool,
        out: &mut Vec<u8>,
    ) -> bool {
        let mut cur = 0usize;
        let mut first = true;
        let mut replaced = false;
        loop {
            if cur == value.len() {
                break;
            }
            let Some(found) = string_match(pattern, mode, icase, &value[cur..]) else {
                if replaced {
                    out.extend_from_slice(&value[cur..]);
                }
                break;
            };
            let (mut start, mut end) = (cur + found, cur + found + pattern.len());
            // An empty pattern would match at the same place forever: step one byte.
            if start == end && !first {
                start += 1;
                end += 1;
            }
            if self.store_matches {
                nv::clear_matches(msg);
            }
            replaced = true;
            out.extend_from_slice(&value[cur..start.min(value.len())]);
            let _ = self.replacement.format(msg, &self.opts, out);
            cur = end.min(value.len());
            if !self.global {
                out.extend_from_slice(&value[cur..]);
                break;
            }
            first = false;
        }
        replaced
    }
}

/// Where the string pattern matches `value` (syslog-ng's `log_matcher_string_match_string`),
/// with C string comparison (a NUL ends either side).
fn string_match(pattern: &[u8], mode: StringMode, icase: bool, value: &[u8]) -> Option<usize> {
    if pattern.len() > value.len() {
        return None;
    }
    let eq = |a: u8, b: u8| if icase { a.eq_ignore_ascii_case(&b) } else { a == b };
    // `strncmp(value, pattern, n) == 0` where `pattern` is NUL-terminated.
    let strncmp_eq = |v: &[u8], n: usize| -> bool {
        for i in 0..n {
            let a = v.get(i).copied().unwrap_or(0);
            let b = pattern.get(i).copied().unwrap_or(0);
            if !eq(a, b) {
                return false;
            }
            if a == 0 {
                return true;
            }
        }
        true
    };
    match mode {
        StringMode::Exact => strncmp_eq(value, value.len()).then_some(0),
        StringMode::Prefix => strncmp_eq(value, pattern.len()).then_some(0),
        StringMode::Substring => {
            // Both `g_strstr_len` and `strcasestr` stop at a NUL in the value.
            let hay = nv::c_str(value);
            if pattern.is_empty() {
                return Some(0);
            }
            hay.windows(pattern.len()).position(|w| w.iter().zip(pattern).all(|(&a, &b)| eq(a, b)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_matching() {
        assert_eq!(string_match(b"abc", StringMode::Exact, false, b"abc"), Some(0));
        assert_eq!(string_match(b"abc", StringMode::Exact, false, b"abcd"), None);
        assert_eq!(string_match(b"ABC", StringMode::Exact, true, b"abc"), Some(0));
        assert_eq!(string_match(b"ab", StringMode::Prefix, false, b"abcd"), Some(0));
        assert_eq!(string_match(b"cd", StringMode::Substring, false, b"abcd"), Some(2));
        assert_eq!(string_match(b"", StringMode::Substring, false, b"abcd"), Some(0));
        assert_eq!(string_match(b"x", StringMode::Substring, false, b""), None);
    }
}

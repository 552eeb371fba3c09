//! `kv-parser()`: `key=value` pairs, as syslog-ng 3.38's kv-scanner reads them
//! (`lib/scanner/kv-scanner/kv-scanner.c`, `lib/str-repr/decode.c`).
//!
//! * A key is the run of `[A-Za-z0-9_.-]` right before the value separator (spaces between the
//!   key and the separator are allowed); anything before it that is not a key is a stray word.
//! * A value starts after spaces; `"…"` and `'…'` values are unquoted with backslash escapes
//!   decoded. An unquoted value ends at the pair separator (default `, `), or at a space that is
//!   followed by the next `key=` or by the end.
//! * A malformed quoted value (unterminated, or text after the closing quote) is taken
//!   verbatim, and the scan for the next key restarts at its beginning.
//! * The input ends at its first NUL byte. The parser never fails.
//! * `extract-stray-words-into("NAME")` collects the stray words as a comma-separated list
//!   (always set, empty when there were none).

use super::nv::{c_str, PrefixedName};
use super::scratch::Scratch;
use crate::message::LogMessage;
use crate::strrepr::{decode_backslash, encode_append};

/// `kv-parser()`.
#[derive(Debug, Clone)]
pub struct KvParser {
    prefix: String,
    value_separator: u8,
    pair_separator: Vec<u8>,
    stray_words: Option<String>,
}

impl KvParser {
    /// `value_separator` must not be a space or a quote (syslog-ng refuses those).
    pub fn new(prefix: &str, value_separator: u8, pair_separator: &str, stray_words: Option<&str>) -> KvParser {
        KvParser {
            prefix: prefix.to_string(),
            value_separator,
            pair_separator: pair_separator.as_bytes().to_vec(),
            stray_words: stray_words.map(str::to_string),
        }
    }

    /// Whether `c` may be `value-separator()`.
    pub fn valid_separator(c: u8) -> bool {
        !matches!(c, b' ' | b'\'' | b'"')
    }

    pub fn parse(&self, msg: &mut LogMessage, input: &[u8]) -> bool {
        let mut key = Scratch::take();
        let mut value = Scratch::take();
        let mut stray = Scratch::take();
        let mut scanner = Scanner {
            input: c_str(input),
            pos: 0,
            value_sep: self.value_separator,
            pair_sep: &self.pair_separator,
            stray: self.stray_words.as_ref().map(|_| &mut *stray),
            value_was_quoted: false,
        };
        let mut name = PrefixedName::new(&self.prefix);
        while scanner.next(&mut key, &mut value) {
            // Values are C strings in syslog-ng.
            super::nv::set(msg, name.with(&key), c_str(&value));
        }
        if let Some(stray_name) = &self.stray_words {
            super::nv::set(msg, stray_name, &stray);
        }
        true
    }
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
    value_sep: u8,
    pair_sep: &'a [u8],
    stray: Option<&'a mut Vec<u8>>,
    value_was_quoted: bool,
}

/// States of syslog-ng's quoted-string decoder.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    Initial,
    String,
    Backslash,
    ExpectDelimiter,
    Error,
    Unquoted,
    Success,
    Failure,
}

impl Scanner<'_> {
    /// The byte at `i`, 0 past the end (the C string's terminator).
    fn at(&self, i: usize) -> u8 {
        self.input.get(i).copied().unwrap_or(0)
    }

    fn next(&mut self, key: &mut Vec<u8>, value: &mut Vec<u8>) -> bool {
        if self.at(self.pos) == 0 {
            return false;
        }
        if !self.extract_key(key) {
            return false;
        }
        self.value_was_quoted = false;
        self.skip_initial_spaces();
        self.decode_value(value);
        true
    }

    fn extract_key(&mut self, key: &mut Vec<u8>) -> bool {
        let base = self.pos;
        let mut search = base;
        while let Some(off) = self.input[search..].iter().position(|&c| c == self.value_sep) {
            let sep = search + off;
            let mut end = sep;
            while end > base && self.at(end - 1) == b' ' {
                end -= 1;
            }
            let mut start = end;
            while start > base && is_key_char(self.at(start - 1)) {
                start -= 1;
            }
            if end > start {
                key.clear();
                key.extend_from_slice(&self.input[start..end]);
                self.stray_word(base, start);
                self.pos = sep + 1;
                return true;
            }
            search = sep + 1;
        }
        self.stray_word(base, self.input.len());
        false
    }

    fn stray_word(&mut self, start: usize, end: usize) {
        let Some(out) = self.stray.as_deref_mut() else { return };
        let mut word = &self.input[start..end];
        while let [rest @ .., b' '] = word {
            word = rest;
        }
        while let [b' ', rest @ ..] = word {
            word = rest;
        }
        if !word.is_empty() {
            if !out.is_empty() {
                out.push(b',');
            }
            encode_append(out, word, b",");
        }
    }

    fn pair_separator_at(&self, cur: usize) -> Option<usize> {
        let n = self.pair_sep.len();
        // `strncmp` against the C string: the separator may not run past the end.
        let matches = (0..n).all(|i| self.at(cur + i) == self.pair_sep[i]);
        matches.then_some(cur + n)
    }

    fn key_follows(&self, cur: usize) -> bool {
        let mut k = cur;
        while is_key_char(self.at(k)) {
            k += 1;
        }
        while self.at(k) == b' ' {
            k += 1;
        }
        k != cur && self.at(k) == self.value_sep
    }

    /// Where the value ends when a delimiter starts at `cur` (syslog-ng's `_match_delimiter`).
    fn match_delimiter(&self, cur: usize) -> Option<usize> {
        let c = self.at(cur);
        if !self.value_was_quoted && c == b' ' {
            if self.pair_sep.first() == Some(&b' ') {
                if let Some(next) = self.pair_separator_at(cur) {
                    return Some(next);
                }
            }
            let mut p = cur;
            while self.at(p) == b' ' {
                p += 1;
            }
            if self.at(p) == 0 || self.key_follows(p) {
                Some(p)
            } else {
                self.pair_separator_at(p)
            }
        } else if c == b' ' {
            Some(cur + 1)
        } else if c == 0 {
            Some(cur)
        } else {
            self.pair_separator_at(cur)
        }
    }

    fn skip_initial_spaces(&mut self) {
        while self.at(self.pos) == b' ' && self.match_delimiter(self.pos).is_none() {
            self.pos += 1;
        }
    }

    /// Only a space or the pair separator's first byte can start a delimiter inside a value.
    fn delimiter(&self, cur: usize) -> Option<usize> {
        let c = self.at(cur);
        if c == b' ' || Some(&c) == self.pair_sep.first() {
            self.match_delimiter(cur)
        } else {
            None
        }
    }

    fn decode_value(&mut self, value: &mut Vec<u8>) {
        value.clear();
        let start = self.pos;
        self.value_was_quoted = matches!(self.at(start), b'"' | b'\'');
        let mut quote = 0u8;
        let mut state = Quote::Initial;
        let mut cur = start;
        while cur < self.input.len() {
            let c = self.input[cur];
            let mut next = cur + 1;
            state = match state {
                Quote::Initial => match self.delimiter(cur) {
                    Some(n) => {
                        next = n;
                        Quote::Success
                    }
                    None if c == b'"' || c == b'\'' => {
                        quote = c;
                        Quote::String
                    }
                    None => {
                        value.push(c);
                        Quote::Unquoted
                    }
                },
                Quote::String if c == quote => Quote::ExpectDelimiter,
                Quote::String if c == b'\\' => Quote::Backslash,
                Quote::String => {
                    value.push(c);
                    Quote::String
                }
                Quote::Backslash => {
                    decode_backslash(value, quote, c);
                    Quote::String
                }
                Quote::ExpectDelimiter => match self.delimiter(cur) {
                    Some(n) => {
                        next = n;
                        Quote::Success
                    }
                    None => Quote::Error,
                },
                Quote::Error => match self.delimiter(cur) {
                    Some(n) => {
                        next = n;
                        Quote::Failure
                    }
                    None => Quote::Error,
                },
                Quote::Unquoted => match self.delimiter(cur) {
                    Some(n) => {
                        next = n;
                        Quote::Success
                    }
                    None => {
                        value.push(c);
                        Quote::Unquoted
                    }
                },
                Quote::Success | Quote::Failure => unreachable!("the loop stops on these"),
            };
            if matches!(state, Quote::Success | Quote::Failure) {
                // A delimiter found: the decoder stops on it without stepping further.
                cur = next;
                break;
            }
            cur = next;
        }
        let ok = matches!(state, Quote::Initial | Quote::ExpectDelimiter | Quote::Unquoted | Quote::Success);
        if ok {
            self.pos = cur;
        } else {
            // Taken verbatim; the next key is searched from the value's start.
            value.clear();
            value.extend_from_slice(&self.input[start..cur.min(self.input.len())]);
            self.value_was_quoted = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ReceiveInfo;

    fn parse(input: &str, parser: &KvParser) -> Vec<(String, String)> {
        let mut m = LogMessage::new(&ReceiveInfo::new("s", "h", None, jiff::tz::TimeZone::UTC));
        assert!(parser.parse(&mut m, input.as_bytes()));
        m.pairs()
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn basic_pairs() {
        let p = KvParser::new("", b'=', ", ", None);
        assert_eq!(parse("a=1 b=2", &p), kv(&[("a", "1"), ("b", "2")]));
        assert_eq!(parse("a=1, b=two words, c=3", &p), kv(&[("a", "1"), ("b", "two words"), ("c", "3")]));
        assert_eq!(parse("k=\"quoted \\\"x\\\"\" z='s q'", &p), kv(&[("k", "quoted \"x\""), ("z", "s q")]));
        assert_eq!(parse("foo = bar", &p), kv(&[("foo", "bar")]));
        assert_eq!(parse("a= b=", &p), kv(&[("a", ""), ("b", "")]));
        assert_eq!(parse("no pairs here", &p), kv(&[]));
    }

    #[test]
    fn malformed_quotes_are_kept() {
        let p = KvParser::new(".kv.", b'=', ", ", Some("stray"));
        assert_eq!(parse("a=\"open b=c", &p), kv(&[(".kv.a", "\"open b=c"), (".kv.b", "c"), ("stray", "'\"open'")]));
        assert_eq!(
            parse("x \"y\" a=\"v\"junk next=1", &p),
            kv(&[(".kv.a", "\"v\"junk "), (".kv.next", "1"), ("stray", "'x \"y\"','\"v\"junk'")])
        );
    }

    #[test]
    fn custom_separators_and_stray_words() {
        let p = KvParser::new("", b':', ";", Some("sw"));
        assert_eq!(parse("lead a:1;b:2;tail", &p), kv(&[("a", "1"), ("b", "2"), ("sw", "lead,tail")]));
        let p = KvParser::new("", b'=', ", ", Some("sw"));
        assert_eq!(parse("", &p), kv(&[("sw", "")]));
    }
}

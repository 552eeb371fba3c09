//! `regexp-parser(patterns(...) prefix(...))`, as in syslog-ng 3.38
//! (`modules/regexp-parser/regexp-parser.c`): the patterns are tried in order and the first
//! that matches stores its groups (`$0`, `$1`, ... and named groups as `prefix` + name); the
//! parser fails when none matches. With `type(string)` or `type(glob)` the patterns only decide
//! whether the message passes.

use super::pcre::Pcre;
use crate::filter::Matcher;
use crate::message::LogMessage;

/// One pattern of a [`RegexpParser`].
#[derive(Debug)]
pub enum RegexpPattern {
    Pcre(Pcre),
    /// A `string` or `glob` matcher: matches, stores nothing.
    Plain(Matcher),
}

/// `regexp-parser()`.
#[derive(Debug)]
pub struct RegexpParser {
    patterns: Vec<RegexpPattern>,
    prefix: String,
}

impl RegexpParser {
    pub fn new(patterns: Vec<RegexpPattern>, prefix: Option<&str>) -> RegexpParser {
        RegexpParser { patterns, prefix: prefix.unwrap_or("").to_string() }
    }

    pub fn parse(&self, msg: &mut LogMessage, input: &[u8]) -> bool {
        // The input is `$MSG`, which every message has, or a template: groups are always stored.
        self.patterns.iter().any(|p| match p {
            RegexpPattern::Pcre(re) => re.matches(msg, input, true, &self.prefix),
            RegexpPattern::Plain(m) => m.is_match(input),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{MatcherFlags, MatcherType};
    use crate::message::ReceiveInfo;

    #[test]
    fn first_matching_pattern_wins() {
        let f = MatcherFlags::default();
        let p = RegexpParser::new(
            vec![
                RegexpPattern::Pcre(Pcre::new("^(?<a>x+)$", &f).expect("compiles")),
                RegexpPattern::Pcre(Pcre::new("(?<b>\\d+)", &f).expect("compiles")),
            ],
            Some(".r."),
        );
        let mut m = LogMessage::new(&ReceiveInfo::new("s", "h", None, jiff::tz::TimeZone::UTC));
        assert!(p.parse(&mut m, b"id 42 here"));
        assert_eq!(m.get(".r.b"), Some(&b"42"[..]));
        assert_eq!(m.get(".r.a"), None);
        assert_eq!(m.get("1"), Some(&b"42"[..]));
        assert!(!p.parse(&mut m, b"none"));
        let s = RegexpParser::new(
            vec![RegexpPattern::Plain(Matcher::new("ab*", MatcherType::Glob, f).expect("glob"))],
            None,
        );
        assert!(s.parse(&mut m, b"abbb"));
    }
}

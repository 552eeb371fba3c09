//! The matchers of `program()`, `host()`, `message()`, `source()` and `match()`: PCRE (the
//! default), plain strings and globs, with syslog-ng 3.38's `lib/logmatcher.c` semantics.

use super::FilterError;
use crate::bytes::c_str;

/// `type()` of a matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatcherType {
    /// Perl compatible regular expression (`pcre`, also `posix`).
    #[default]
    Pcre,
    /// Plain text: whole value, or `prefix` / `substring` with those flags.
    String,
    /// Shell-like glob with `*` and `?` over UTF-8 characters.
    Glob,
}

impl MatcherType {
    /// The type named `name` (`posix` is read as `pcre`, as syslog-ng does).
    pub fn from_name(name: &str) -> Option<MatcherType> {
        match name {
            "pcre" | "posix" => Some(MatcherType::Pcre),
            "string" => Some(MatcherType::String),
            "glob" => Some(MatcherType::Glob),
            _ => None,
        }
    }
}

/// `flags()` of a matcher. `global` and `store-matches` only matter to rewrites (and to
/// storing `$1`..., which rsng's filters do not do), the rest change how a pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MatcherFlags {
    pub icase: bool,
    pub newline: bool,
    pub utf8: bool,
    pub substring: bool,
    pub prefix: bool,
    pub global: bool,
    pub store_matches: bool,
    pub disable_jit: bool,
    pub dupnames: bool,
}

impl MatcherFlags {
    /// Sets the flag named `name` (`_` and `-` are the same); false for an unknown flag.
    pub fn set(&mut self, name: &str) -> bool {
        let name = name.replace('_', "-");
        let field = match name.as_str() {
            "icase" | "ignore-case" => &mut self.icase,
            "newline" => &mut self.newline,
            "utf8" | "unicode" => &mut self.utf8,
            "substring" => &mut self.substring,
            "prefix" => &mut self.prefix,
            "global" => &mut self.global,
            "store-matches" => &mut self.store_matches,
            "disable-jit" => &mut self.disable_jit,
            "dupnames" => &mut self.dupnames,
            _ => return false,
        };
        *field = true;
        true
    }
}

/// How a string matcher compares: whole value, `prefix` or `substring`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringMode {
    Exact,
    Prefix,
    Substring,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub enum Matcher {
    Pcre(Box<pcre2::bytes::Regex>),
    String { pattern: Vec<u8>, mode: StringMode, icase: bool },
    Glob(Glob),
}

impl Matcher {
    /// Compiles `pattern` as a matcher of type `kind` with `flags`.
    ///
    /// # Errors
    /// A PCRE pattern that does not compile.
    pub fn new(pattern: &str, kind: MatcherType, flags: MatcherFlags) -> Result<Matcher, FilterError> {
        Ok(match kind {
            MatcherType::Pcre => {
                let re = pcre2::bytes::RegexBuilder::new()
                    .caseless(flags.icase)
                    .crlf(flags.newline)
                    .utf(flags.utf8)
                    .jit_if_available(!flags.disable_jit)
                    .build(pattern)
                    .map_err(|e| {
                        // Display prefixes "PCRE2: error compiling pattern at offset N: ".
                        let text = e.to_string();
                        let message = text
                            .split_once("pattern")
                            .and_then(|(_, rest)| rest.split_once(": "))
                            .map_or(text.clone(), |(_, m)| m.to_string());
                        FilterError::new(format!(
                            "compiling the regexp failed: Failed to compile PCRE expression >>>{pattern}<<< `{message}' at character {}",
                            e.offset().unwrap_or(0)
                        ))
                    })?;
                Matcher::Pcre(Box::new(re))
            }
            MatcherType::String => {
                // syslog-ng tests `prefix` before `substring`.
                let mode = if flags.prefix {
                    StringMode::Prefix
                } else if flags.substring {
                    StringMode::Substring
                } else {
                    StringMode::Exact
                };
                Matcher::String { pattern: pattern.as_bytes().to_vec(), mode, icase: flags.icase }
            }
            MatcherType::Glob => Matcher::Glob(Glob::new(pattern)),
        })
    }

    /// Whether `value` matches.
    pub fn is_match(&self, value: &[u8]) -> bool {
        match self {
            // A subject PCRE refuses (invalid UTF-8 in `utf8` mode) does not match.
            Matcher::Pcre(re) => re.is_match(value).unwrap_or(false),
            Matcher::String { pattern, mode, icase } => string_match(pattern, *mode, *icase, value),
            Matcher::Glob(g) => g.is_match(value),
        }
    }
}

fn string_match(pattern: &[u8], mode: StringMode, icase: bool, value: &[u8]) -> bool {
    if pattern.len() > value.len() {
        return false;
    }
    let value = c_str(value);
    let eq = |a: &[u8], b: &[u8]| if icase { a.eq_ignore_ascii_case(b) } else { a == b };
    match mode {
        Mode::Exact => eq(value, pattern),
        Mode::Prefix => value.len() >= pattern.len() && eq(&value[..pattern.len()], pattern),
        Mode::Substring => pattern.is_empty() || value.windows(pattern.len()).any(|w| eq(w, pattern)),
    }
}

use StringMode as Mode;

/// A GLib-style glob (`GPatternSpec`): `*` is any run of characters, `?` one character; no
/// escapes or classes. The value must be valid UTF-8, otherwise it never matches.
#[derive(Debug, Clone)]
pub struct Glob {
    pattern: Vec<char>,
}

impl Glob {
    /// A glob for `pattern`.
    pub fn new(pattern: &str) -> Glob {
        Glob { pattern: pattern.chars().collect() }
    }

    /// Whether `value` matches the whole glob.
    pub fn is_match(&self, value: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(c_str(value)) else { return false };
        let p = &self.pattern;
        // Wildcard matching with one backtrack point: the last `*` seen and where the text
        // stood then.
        let (mut pi, mut ti) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        loop {
            if pi < p.len() && p[pi] == '*' {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            match text[ti..].chars().next() {
                Some(c) if pi < p.len() && (p[pi] == '?' || p[pi] == c) => {
                    pi += 1;
                    ti += c.len_utf8();
                }
                None if pi == p.len() => return true,
                _ => {
                    let Some((sp, st)) = star else { return false };
                    let Some(c) = text[st..].chars().next() else { return false };
                    star = Some((sp, st + c.len_utf8()));
                    pi = sp + 1;
                    ti = st + c.len_utf8();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, kind: MatcherType, flags: &[&str]) -> Matcher {
        let mut f = MatcherFlags::default();
        for x in flags {
            assert!(f.set(x));
        }
        Matcher::new(pattern, kind, f).expect("compiles")
    }

    #[test]
    fn string_modes() {
        let exact = m("sshd", MatcherType::String, &[]);
        assert!(exact.is_match(b"sshd"));
        assert!(!exact.is_match(b"sshd2"));
        assert!(!exact.is_match(b"ssh"));
        let prefix = m("ss", MatcherType::String, &["prefix"]);
        assert!(prefix.is_match(b"sshd") && !prefix.is_match(b"xsshd"));
        let sub = m("SH", MatcherType::String, &["substring", "ignore-case"]);
        assert!(sub.is_match(b"xsshd") && !sub.is_match(b"s"));
        let icase = m("SSHD", MatcherType::String, &["icase"]);
        assert!(icase.is_match(b"sshd"));
    }

    #[test]
    fn globs() {
        let g = Glob::new("a*b?c");
        assert!(g.is_match(b"abxc"));
        assert!(g.is_match(b"a123b\xc3\xa9c"));
        assert!(!g.is_match(b"abc"));
        assert!(!g.is_match(b"a\xffbxc"));
        assert!(Glob::new("*").is_match(b""));
        assert!(Glob::new("*x*").is_match(b"aaxbb"));
        assert!(!Glob::new("x").is_match(b"xx"));
        assert!(Glob::new("**a").is_match(b"ba"));
    }

    #[test]
    fn pcre_flags() {
        assert!(m("^FOO", MatcherType::Pcre, &["icase"]).is_match(b"foobar"));
        assert!(!m("^FOO", MatcherType::Pcre, &[]).is_match(b"foobar"));
        assert!(Matcher::new("[x", MatcherType::Pcre, MatcherFlags::default()).is_err());
    }
}

//! Backtick substitution: `` `name` `` replaced by a define, a block argument or an environment
//! variable, on raw text, as syslog-ng does it (inside strings and comments too).

use super::buf::Buf;

/// A failed substitution: `at` is the byte offset of the problem in the input buffer.
#[derive(Debug)]
pub struct BacktickError {
    pub at: usize,
    pub message: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

/// Substitutes every backtick reference in `input` into `out`. Quote state is tracked per line,
/// restarting at each newline, which is how syslog-ng decides whether a value needs re-quoting.
pub fn substitute(
    input: &Buf,
    lookup: &mut dyn FnMut(&str) -> Option<String>,
    out: &mut Buf,
) -> Result<(), BacktickError> {
    let text = input.text.as_str();
    let bytes = text.as_bytes();
    if !text.contains('`') {
        out.push_slice(input, 0, text.len());
        return Ok(());
    }
    let mut quote = Quote::None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match (b, quote) {
            (b'\n', _) => quote = Quote::None,
            (b'\\', Quote::Double) => {
                if bytes.get(i + 1) == Some(&b'`') {
                    return Err(BacktickError {
                        at: i + 1,
                        message: "cannot substitute a backticked value right after a backslash in a string".into(),
                    });
                }
                i += 2;
                continue;
            }
            (b'"', Quote::None) => quote = Quote::Double,
            (b'"', Quote::Double) => quote = Quote::None,
            (b'\'', Quote::None) => quote = Quote::Single,
            (b'\'', Quote::Single) => quote = Quote::None,
            (b'`', _) => {
                let line_end = text[i + 1..].find('\n').map_or(text.len(), |p| i + 1 + p);
                let Some(close) = text[i + 1..line_end].find('`').map(|p| i + 1 + p) else {
                    return Err(BacktickError { at: i, message: "missing closing backtick (`) character".into() });
                };
                out.push_slice(input, copied, i);
                let site = input.span(i, close + 1).expect("buffer has provenance");
                let name = &text[i + 1..close];
                if name.is_empty() {
                    out.push_substituted("`", site);
                } else {
                    let value = lookup(name).unwrap_or_default();
                    let value = requote(&value, quote).map_err(|message| BacktickError { at: i, message })?;
                    out.push_substituted(&value, site);
                }
                copied = close + 1;
                i = close + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_slice(input, copied, text.len());
    Ok(())
}

/// Inside quotes, a value that is itself one quoted literal is pasted as its content, escaped for
/// the enclosing quotes; anything else is pasted raw.
fn requote(value: &str, quote: Quote) -> Result<String, String> {
    if quote == Quote::None {
        return Ok(value.to_string());
    }
    let Some((content, inner)) = single_literal(value) else {
        return Ok(value.to_string());
    };
    match quote {
        Quote::Double if inner == Quote::Single => Ok(content.replace('\\', "\\\\").replace('"', "\\\"")),
        Quote::Single if content.contains('\'') => {
            Err("cannot represent apostrophes within apostroph-enclosed string".into())
        }
        _ => Ok(content.to_string()),
    }
}

/// If `value` is exactly one quoted string literal, its raw content and quote style.
fn single_literal(value: &str) -> Option<(&str, Quote)> {
    let v = value.trim_matches(|c| c == ' ' || c == '\t');
    let bytes = v.as_bytes();
    if bytes.len() < 2 {
        return None;
    }
    match bytes[0] {
        b'\'' => {
            let inner = &v[1..];
            let end = inner.find('\'')?;
            (end == inner.len() - 1).then(|| (&inner[..end], Quote::Single))
        }
        b'"' => {
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return (i == bytes.len() - 1).then(|| (&v[1..i], Quote::Double)),
                    _ => i += 1,
                }
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source_map::FileSpan;

    fn run(text: &str, vars: &[(&str, &str)]) -> Result<String, BacktickError> {
        let mut input = Buf::default();
        input.push_verbatim(text, FileSpan { file: 0, start: 0, end: text.len() });
        let mut out = Buf::default();
        let mut lookup = |n: &str| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string());
        substitute(&input, &mut lookup, &mut out)?;
        Ok(out.text)
    }

    #[test]
    fn substitutes_in_code_strings_and_comments() {
        assert_eq!(run("file(`p`) # `p`", &[("p", "/x")]).unwrap(), "file(/x) # /x");
        assert_eq!(run("a `` b", &[]).unwrap(), "a ` b");
        assert_eq!(run("x(`nope`)", &[]).unwrap(), "x()");
    }

    #[test]
    fn requotes_single_literals_inside_strings() {
        assert_eq!(run("file(\"`p`\")", &[("p", "\"/x\"")]).unwrap(), "file(\"/x\")");
        assert_eq!(run("file(\"`p`\")", &[("p", "'a\"b'")]).unwrap(), "file(\"a\\\"b\")");
        assert_eq!(run("file(`p`)", &[("p", "\"/x\"")]).unwrap(), "file(\"/x\")");
        assert!(run("file('`p`')", &[("p", "\"it's\"")]).is_err());
    }

    #[test]
    fn unclosed_backtick_is_an_error() {
        let err = run("ok\n# don`t\n", &[]).unwrap_err();
        assert_eq!(err.at, 8);
    }
}

//! The pragma line mini-language: `@version`, `@include`, `@define`, `@module`, `@requires`.

/// A token of a pragma line; offsets are relative to the line.
#[derive(Debug, Clone, PartialEq)]
pub enum PTok {
    Word(String),
    /// A quoted string's value (escapes applied for `"..."`).
    Str(String),
    Colon,
    Open,
    Close,
    Other(char),
}

#[derive(Debug, Clone)]
pub struct Spanned {
    pub tok: PTok,
    pub start: usize,
    pub end: usize,
}

/// Splits a pragma line (without its leading `@`) into tokens. Comments end the line.
pub fn tokenize(line: &str, base: usize) -> Result<Vec<Spanned>, (usize, String)> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        match b {
            b' ' | b'\t' | b'\r' | b'\n' | b',' => i += 1,
            b'#' => break,
            b'\\' if matches!(bytes.get(i + 1), Some(b'\n') | Some(b'\r')) => i += 2,
            b':' => {
                out.push(Spanned { tok: PTok::Colon, start: base + i, end: base + i + 1 });
                i += 1;
            }
            b'(' | b')' => {
                let tok = if b == b'(' { PTok::Open } else { PTok::Close };
                out.push(Spanned { tok, start: base + i, end: base + i + 1 });
                i += 1;
            }
            b'"' => {
                let (value, len) = unescape_double(&line[i..]).ok_or((base + i, "unterminated string".to_string()))?;
                i += len;
                out.push(Spanned { tok: PTok::Str(value), start: base + start, end: base + i });
            }
            b'\'' => {
                let end = line[i + 1..].find('\'').ok_or((base + i, "unterminated string".to_string()))?;
                let value = line[i + 1..i + 1 + end].to_string();
                i += end + 2;
                out.push(Spanned { tok: PTok::Str(value), start: base + start, end: base + i });
            }
            _ if is_word_byte(b) || b == b'.' => {
                while i < bytes.len() && (is_word_byte(bytes[i]) || bytes[i] == b'.') {
                    i += 1;
                }
                out.push(Spanned { tok: PTok::Word(line[start..i].to_string()), start: base + start, end: base + i });
            }
            _ => {
                let c = line[i..].chars().next().unwrap_or('?');
                out.push(Spanned { tok: PTok::Other(c), start: base + i, end: base + i + c.len_utf8() });
                i += c.len_utf8();
            }
        }
    }
    Ok(out)
}

/// Bytes that may stand in an unquoted word (syslog-ng's identifier class, dots handled apart).
pub fn is_word_byte(b: u8) -> bool {
    !matches!(
        b,
        b' ' | b'\t'
            | b'\r'
            | b'\n'
            | b'#'
            | b'\''
            | b'"'
            | b'('
            | b')'
            | b'{'
            | b'}'
            | b'['
            | b']'
            | b'\\'
            | b';'
            | b','
            | b'|'
            | b'.'
            | b'@'
            | b':'
            | b'`'
            | 0x0c
    )
}

/// Decodes a double-quoted string starting at `s[0] == '"'`; returns the value and the bytes used.
pub fn unescape_double(s: &str) -> Option<(String, usize)> {
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let text =
                    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                return Some((text, i + 1));
            }
            b'\\' if i + 1 < bytes.len() => {
                let (decoded, used) = decode_escape(&bytes[i + 1..]);
                out.extend_from_slice(&decoded);
                i += 1 + used;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// Decodes one escape after a backslash, as syslog-ng's lexer does: `\a \n \r \t \v`, `\xHH`,
/// `\oOOO`, backslash-newline (removed), anything else stands for itself (`"\101"` is `101`).
pub fn decode_escape(rest: &[u8]) -> (Vec<u8>, usize) {
    let Some(&c) = rest.first() else {
        return (vec![b'\\'], 0);
    };
    match c {
        b'a' => (vec![7], 1),
        b'n' => (vec![b'\n'], 1),
        b'r' => (vec![b'\r'], 1),
        b't' => (vec![b'\t'], 1),
        b'v' => (vec![11], 1),
        b'\n' => (Vec::new(), 1),
        b'x' => {
            let digits = rest[1..].iter().take(2).take_while(|b| b.is_ascii_hexdigit()).count();
            if digits == 0 {
                return (vec![b'x'], 1);
            }
            let s = std::str::from_utf8(&rest[1..1 + digits]).unwrap_or("0");
            (vec![u8::from_str_radix(s, 16).unwrap_or(0)], 1 + digits)
        }
        b'o' => {
            let digits = rest[1..].iter().take(3).take_while(|b| (b'0'..=b'7').contains(b)).count();
            if digits == 0 {
                return (vec![b'o'], 1);
            }
            let s = std::str::from_utf8(&rest[1..1 + digits]).unwrap_or("0");
            (vec![u32::from_str_radix(s, 8).unwrap_or(0) as u8], 1 + digits)
        }
        _ => {
            let len = utf8_len(c);
            (rest[..len.min(rest.len())].to_vec(), len.min(rest.len()))
        }
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_syslog_ng() {
        assert_eq!(unescape_double("\"\\101\"").unwrap().0, "101");
        assert_eq!(unescape_double("\"\\o101\\x4A4\"").unwrap().0, "AJ4");
        assert_eq!(unescape_double("\"a\\\nb\"").unwrap().0, "ab");
        assert_eq!(unescape_double("\"\\q\\\"\"").unwrap().0, "q\"");
    }

    #[test]
    fn tokenizes_pragmas() {
        let toks = tokenize("version: 3.38 # c", 1).unwrap();
        assert_eq!(toks[0].tok, PTok::Word("version".into()));
        assert_eq!(toks[1].tok, PTok::Colon);
        assert_eq!(toks[2].tok, PTok::Word("3.38".into()));
        assert_eq!(toks.len(), 3);
    }
}

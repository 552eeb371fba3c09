//! syslog-ng's string representation of list elements and stray words (`lib/str-repr`,
//! `lib/scanner/list-scanner`): quoting a string so that it survives as one element of a
//! comma-separated list, and scanning such a list back.

/// Appends `s`, quoted when needed (syslog-ng's `str_repr_encode_append`): an empty string as
/// `""`; a string without quotes, whitespace, backslashes and `forbidden` bytes as is; otherwise
/// in `'…'` (when it contains `"` only), else `"…"`, with control characters and invalid UTF-8
/// escaped.
pub fn encode_append(out: &mut Vec<u8>, s: &[u8], forbidden: &[u8]) {
    if s.is_empty() {
        out.extend_from_slice(b"\"\"");
        return;
    }
    let apostrophe = s.contains(&b'\'');
    let quote = s.contains(&b'"');
    if !apostrophe && !quote {
        // `strcspn` stops at the first NUL, so a NUL always asks for quoting.
        let plain = crate::bytes::c_str(s);
        let needs =
            plain.len() < s.len() || plain.iter().any(|c| b"\x08\x0c\n\r\t\\ ".contains(c) || forbidden.contains(c));
        if !needs {
            out.extend_from_slice(s);
            return;
        }
    }
    let (q, quote_unsafe) = match (apostrophe, quote) {
        (false, true) => (b'\'', false),
        (true, false) => (b'"', false),
        _ => (b'"', true),
    };
    out.push(q);
    escape_binary(out, s, quote_unsafe);
    out.push(q);
}

/// `append_unsafe_utf8_as_escaped_binary`: control characters and invalid UTF-8 as `\xNN`, the
/// usual C escapes, and `\"` when `quote` is set.
pub fn escape_binary(out: &mut Vec<u8>, s: &[u8], quote: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex = |out: &mut Vec<u8>, b: u8| {
        out.extend_from_slice(&[b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]])
    };
    for chunk in s.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (i, c) in valid.bytes().enumerate() {
            let escape: Option<&[u8]> = match c {
                8 => Some(b"\\b"),
                12 => Some(b"\\f"),
                b'\n' => Some(b"\\n"),
                b'\r' => Some(b"\\r"),
                b'\t' => Some(b"\\t"),
                b'\\' => Some(b"\\\\"),
                b'"' if quote => Some(b"\\\""),
                c if c < 32 => Some(b""),
                _ => None,
            };
            if let Some(e) = escape {
                out.extend_from_slice(&valid.as_bytes()[start..i]);
                if e.is_empty() {
                    hex(out, c);
                } else {
                    out.extend_from_slice(e);
                }
                start = i + 1;
            }
        }
        out.extend_from_slice(&valid.as_bytes()[start..]);
        for &b in chunk.invalid() {
            hex(out, b);
        }
    }
}

/// Scans the next element of the comma-separated list `input` into `item` (cleared first):
/// empty elements are skipped, `"…"` and `'…'` elements are unquoted with backslash escapes
/// decoded, a malformed element is taken verbatim. Returns the rest of the input, or `None`
/// when the list is exhausted. The list ends at a NUL byte.
pub fn scan_list<'a>(input: &'a [u8], item: &mut Vec<u8>) -> Option<&'a [u8]> {
    item.clear();
    let input = crate::bytes::c_str(input);
    let start = input.iter().position(|&c| c != b',')?;
    let input = &input[start..];
    #[derive(PartialEq)]
    enum St {
        Initial,
        Quoted,
        Backslash,
        ExpectDelimiter,
        QuoteError,
        Unquoted,
    }
    let mut st = St::Initial;
    let mut quote = 0u8;
    let mut cur = 0usize;
    let mut finished = false;
    while cur < input.len() {
        let c = input[cur];
        cur += 1;
        st = match st {
            St::Initial | St::Unquoted if c == b',' => {
                finished = true;
                st
            }
            St::Initial if c == b'"' || c == b'\'' => {
                quote = c;
                St::Quoted
            }
            St::Initial | St::Unquoted => {
                item.push(c);
                St::Unquoted
            }
            St::Quoted if c == quote => St::ExpectDelimiter,
            St::Quoted if c == b'\\' => St::Backslash,
            St::Quoted => {
                item.push(c);
                St::Quoted
            }
            St::Backslash => {
                decode_backslash(item, quote, c);
                St::Quoted
            }
            St::ExpectDelimiter if c == b',' => {
                finished = true;
                st
            }
            St::QuoteError if c == b',' => {
                // The element is malformed: keep it verbatim, delimiter included.
                item.clear();
                item.extend_from_slice(&input[..cur]);
                return Some(&input[cur..]);
            }
            St::ExpectDelimiter | St::QuoteError => St::QuoteError,
        };
        if finished {
            break;
        }
    }
    if !finished && !matches!(st, St::Initial | St::ExpectDelimiter | St::Unquoted) {
        item.clear();
        item.extend_from_slice(&input[..cur]);
    }
    Some(&input[cur..])
}

/// The character a backslash escape inside quotes stands for (`\n`, `\t`, ...); an unknown
/// escape keeps its backslash unless it escapes the quote itself.
pub fn decode_backslash(out: &mut Vec<u8>, quote: u8, c: u8) {
    let control = match c {
        b'b' => 8,
        b'f' => 12,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'\\' => b'\\',
        c => {
            if c != quote {
                out.push(b'\\');
            }
            c
        }
    };
    out.push(control);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &[u8], forbidden: &[u8]) -> String {
        let mut out = Vec::new();
        encode_append(&mut out, s, forbidden);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn items(s: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut item = Vec::new();
        let mut rest = s;
        while let Some(r) = scan_list(rest, &mut item) {
            out.push(String::from_utf8_lossy(&item).into_owned());
            rest = r;
        }
        out
    }

    #[test]
    fn encoding() {
        assert_eq!(enc(b"", b","), "\"\"");
        assert_eq!(enc(b"plain", b","), "plain");
        assert_eq!(enc(b"a,b", b","), "\"a,b\"");
        assert_eq!(enc(b"a,b", b""), "a,b");
        assert_eq!(enc(b"say \"hi\"", b","), "'say \"hi\"'");
        assert_eq!(enc(b"it's", b","), "\"it's\"");
        assert_eq!(enc(b"'\"", b","), "\"'\\\"\"");
        assert_eq!(enc(b"tab\there\x01\xff", b","), "\"tab\\there\\x01\\xff\"");
        assert_eq!(enc("caf\u{e9} x".as_bytes(), b","), "\"caf\u{e9} x\"");
    }

    #[test]
    fn scanning() {
        assert_eq!(items(b"a,b,,c"), ["a", "b", "c"]);
        assert_eq!(items(b"'x,y',\"q\\\"t\""), ["x,y", "q\"t"]);
        assert_eq!(items(b"\"bad\"x,ok"), ["\"bad\"x,", "ok"]);
        assert_eq!(items(b"\"open"), ["\"open"]);
        assert_eq!(items(b""), Vec::<String>::new());
        assert_eq!(items(b"a\0,b"), ["a"]);
    }
}

//! syslog-ng 3.38's comma-separated lists (`lib/scanner/list-scanner`,
//! `lib/str-repr`): scanning them for `list(...)` values of
//! `$(format-json)` and the `list-*` template functions, and encoding
//! elements back.

/// Scans the next element of the list `input` into `item` (cleared first):
/// empty elements are skipped, `"…"` and `'…'` elements are unquoted with
/// backslash escapes decoded, a malformed element is taken verbatim.
/// Returns the rest of the input, or `None` when the list is exhausted.
pub(super) fn scan_next<'a>(input: &'a [u8], item: &mut Vec<u8>) -> Option<&'a [u8]> {
    item.clear();
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
        Success,
        Failure,
    }
    let mut st = St::Initial;
    let mut quote = 0u8;
    let mut cur = 0usize;
    while cur < input.len() && input[cur] != 0 {
        let c = input[cur];
        st = match st {
            St::Initial if c == b',' => St::Success,
            St::Initial if c == b'"' || c == b'\'' => {
                quote = c;
                St::Quoted
            }
            St::Initial | St::Unquoted if c != b',' => {
                item.push(c);
                St::Unquoted
            }
            St::Unquoted => St::Success,
            St::Quoted if c == quote => St::ExpectDelimiter,
            St::Quoted if c == b'\\' => St::Backslash,
            St::Quoted => {
                item.push(c);
                St::Quoted
            }
            St::Backslash => {
                let control = match c {
                    b'b' => 8,
                    b'f' => 12,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'\\' => b'\\',
                    c => {
                        if c != quote {
                            item.push(b'\\');
                        }
                        c
                    }
                };
                item.push(control);
                St::Quoted
            }
            St::ExpectDelimiter if c == b',' => St::Success,
            St::QuoteError if c == b',' => St::Failure,
            St::ExpectDelimiter | St::QuoteError => St::QuoteError,
            St::Success | St::Failure => unreachable!(),
            St::Initial => unreachable!(),
        };
        if matches!(st, St::Success | St::Failure) {
            // the delimiter is consumed
            cur += 1;
            break;
        }
        cur += 1;
    }
    if !matches!(st, St::Initial | St::ExpectDelimiter | St::Unquoted | St::Success) {
        item.clear();
        item.extend_from_slice(&input[..cur]);
    }
    Some(&input[cur..])
}

/// Appends `s` as a list element (syslog-ng's `str_repr_encode_append`
/// with `,` forbidden).
pub(super) fn encode_item(out: &mut Vec<u8>, s: &[u8]) {
    if s.is_empty() {
        out.extend_from_slice(b"\"\"");
        return;
    }
    let apostrophe = s.contains(&b'\'');
    let quote = s.contains(&b'"');
    if !apostrophe && !quote {
        // strcspn runs to the first NUL
        let cs = super::c_str(s);
        let needs = cs.iter().any(|c| b"\x08\x0c\n\r\t\\ ,".contains(c)) || cs.len() < s.len();
        if !needs {
            out.extend_from_slice(s);
            return;
        }
    }
    let (q, unsafe_quote) = match (apostrophe, quote) {
        (false, true) => (b'\'', false),
        (true, false) => (b'"', false),
        _ => (b'"', true),
    };
    out.push(q);
    escape_binary(out, s, unsafe_quote);
    out.push(q);
}

/// `append_unsafe_utf8_as_escaped_binary`: control characters and invalid
/// UTF-8 as `\xNN`, the usual C escapes, `\"` when `quote` is unsafe.
pub(super) fn escape_binary(out: &mut Vec<u8>, s: &[u8], quote: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex = |out: &mut Vec<u8>, b: u8| {
        out.extend_from_slice(&[b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]])
    };
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\\' => out.extend_from_slice(b"\\\\"),
                '"' if quote => out.extend_from_slice(b"\\\""),
                c if (c as u32) < 32 => hex(out, c as u8),
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            hex(out, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(s: &[u8]) -> Vec<String> {
        let mut item = Vec::new();
        let mut rest = s;
        let mut v = Vec::new();
        while let Some(r) = scan_next(rest, &mut item) {
            rest = r;
            v.push(String::from_utf8_lossy(&item).into_owned());
        }
        v
    }

    #[test]
    fn scanning() {
        assert_eq!(items(b"a,b,,c"), ["a", "b", "c"]);
        assert_eq!(items(b",\"x,y\",'q\\'r' ,z"), ["x,y", "'q\\'r' ,", "z"]);
        assert_eq!(items(b"\"a\\tb\\q\""), ["a\tb\\q"]);
        assert_eq!(items(b""), Vec::<String>::new());
        assert_eq!(items(b"\"open"), ["\"open"]);
    }

    #[test]
    fn encoding() {
        let mut out = Vec::new();
        for s in [&b"plain"[..], b"a b", b"x,y", b"", b"it's", b"say \"hi\"", b"both ' \""] {
            encode_item(&mut out, s);
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain|\"a b\"|\"x,y\"|\"\"|\"it's\"|'say \"hi\"'|\"both ' \\\"\"|"
        );
    }
}

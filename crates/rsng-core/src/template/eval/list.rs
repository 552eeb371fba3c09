//! syslog-ng 3.38's comma-separated lists (`lib/scanner/list-scanner`): scanning them for
//! `list(...)` values of `$(format-json)` and the `list-*` template functions. Elements are
//! encoded back with [`crate::strrepr::encode_append`].

/// Scans the next element of the list `input` into `item` (cleared first):
/// empty elements are skipped, `"…"` and `'…'` elements are unquoted with
/// backslash escapes decoded, a malformed element is taken verbatim.
/// Returns the rest of the input, or `None` when the list is exhausted.
pub(crate) fn scan_next<'a>(input: &'a [u8], item: &mut Vec<u8>) -> Option<&'a [u8]> {
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
            crate::strrepr::encode_append(&mut out, s, b",");
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain|\"a b\"|\"x,y\"|\"\"|\"it's\"|'say \"hi\"'|\"both ' \\\"\"|"
        );
    }
}

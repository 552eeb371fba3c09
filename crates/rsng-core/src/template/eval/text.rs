//! String template functions of syslog-ng 3.38 that the other modules do
//! not cover: `dirname`, `basename` (GLib's path functions), `implode`,
//! `explode`, `ipv4-to-int`, `binary`, `base64-encode`, `url-encode`,
//! `url-decode` and `uuid`.
//!
//! Most of them hand `argv[i]->str` to C functions, so a value ends at its
//! first NUL there ([`c_str`]).

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use super::list::scan_next;
use super::numeric::parse_int;
use super::{c_str, is_c_space, push_hex, with_item_buf, Scratch};
use crate::strrepr::encode_append;
use crate::template::{BuiltinFunction, FuncArg, FuncCall};

/// Runs string function `f`; false when `f` is not one.
pub(super) fn call(f: BuiltinFunction, call: &FuncCall, args: &Scratch, out: &mut Vec<u8>) -> bool {
    use BuiltinFunction::*;
    // syslog-ng reads `argv[0]` even when there is no argument (and crashes);
    // an empty value is the closest harmless reading.
    let first = args.args().next().unwrap_or(b"");
    match f {
        Dirname => dirname(c_str(first), out),
        Basename => basename(c_str(first), out),
        Implode => implode(args, out),
        Explode => explode(args, out),
        Ipv4ToInt => {
            // glibc leaves the address untouched when it cannot parse one, so
            // syslog-ng prints whatever the variable held: the previous
            // argument's address, or stack garbage (0 here) for the first.
            let mut last = 0u32;
            for (i, a) in args.args().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if let Some(addr) = inet_aton(c_str(a)) {
                    last = addr;
                }
                super::push_num(out, u64::from(last), 0, b'0');
            }
        }
        Binary => {
            for a in &call.args {
                if let FuncArg::Template(t) = a {
                    if let Some(Ok(octet)) = t.as_literal().and_then(|text| binary_octet(text.as_bytes())) {
                        out.push(octet);
                    }
                }
            }
        }
        Base64Encode => base64_encode(args, out),
        UrlEncode => {
            for a in args.args() {
                url_encode(c_str(a), out);
            }
        }
        UrlDecode => {
            for a in args.args() {
                url_decode(c_str(a), out);
            }
        }
        Uuid => uuid(out),
        _ => return false,
    }
    true
}

/// A `$(binary)` argument: the byte, `Err(n)` for a number above 255, `None`
/// for text that is not a decimal, `0x` hex or `0` octal number. Negative
/// numbers wrap, as syslog-ng's `(gchar)` cast does.
pub(in crate::template) fn binary_octet(text: &[u8]) -> Option<Result<u8, i64>> {
    let n = parse_int(text, 0)?;
    Some(if n > 0xff { Err(n) } else { Ok(n as u8) })
}

/// `g_path_get_dirname`.
fn dirname(path: &[u8], out: &mut Vec<u8>) {
    let Some(mut base) = path.iter().rposition(|&c| c == b'/') else {
        out.push(b'.');
        return;
    };
    while base > 0 && path[base] == b'/' {
        base -= 1;
    }
    out.extend_from_slice(&path[..=base]);
}

/// `g_path_get_basename`.
fn basename(path: &[u8], out: &mut Vec<u8>) {
    if path.is_empty() {
        out.push(b'.');
        return;
    }
    let Some(last) = path.iter().rposition(|&c| c != b'/') else {
        out.push(b'/');
        return;
    };
    let start = path[..last].iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    out.extend_from_slice(&path[start..=last]);
}

/// `$(implode SEP LIST...)`: the elements of the lists joined by `SEP`.
fn implode(args: &Scratch, out: &mut Vec<u8>) {
    let mut rest = args.args();
    let Some(separator) = rest.next() else { return };
    let start = out.len();
    with_item_buf(|item| {
        for list in rest {
            let mut input = c_str(list);
            while let Some(next) = scan_next(input, item) {
                input = next;
                if out.len() > start {
                    out.extend_from_slice(separator);
                }
                out.extend_from_slice(item);
            }
        }
    });
}

/// `$(explode SEP TEXT...)`: each text split at `SEP` (GLib's `g_strsplit`),
/// as one list.
fn explode(args: &Scratch, out: &mut Vec<u8>) {
    let mut rest = args.args();
    let Some(separator) = rest.next() else { return };
    let separator = c_str(separator);
    // g_strsplit refuses an empty separator and syslog-ng then crashes.
    if separator.is_empty() {
        return;
    }
    let start = out.len();
    for text in rest {
        let text = c_str(text);
        // g_strsplit gives no pieces at all for an empty string.
        if text.is_empty() {
            continue;
        }
        let mut piece_start = 0;
        let mut i = 0;
        loop {
            let at_separator = text[i..].starts_with(separator);
            if at_separator || i == text.len() {
                if out.len() > start && out.last() != Some(&b',') {
                    out.push(b',');
                }
                encode_append(out, &text[piece_start..i], b",");
                if !at_separator {
                    break;
                }
                i += separator.len();
                piece_start = i;
            } else {
                i += 1;
            }
        }
    }
}

/// glibc's `inet_aton`: `a.b.c.d`, `a.b.c`, `a.b` or `a`, each part
/// decimal, `0` octal or `0x` hex; after the last part only the end or
/// white space (then anything) may follow.
fn inet_aton(s: &[u8]) -> Option<u32> {
    let mut parts = [0u32; 3];
    let mut count = 0;
    let mut i = 0;
    loop {
        if !s.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        // strtoul with base 0
        let (radix, digits_start) = match s[i..] {
            [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, i + 2),
            [b'0', ..] => (8, i),
            _ => (10, i),
        };
        let mut j = digits_start;
        let mut value: u64 = 0;
        while let Some(d) = s.get(j).and_then(|&c| char::from(c).to_digit(radix)) {
            value = value.saturating_mul(u64::from(radix)).saturating_add(u64::from(d));
            j += 1;
        }
        if value > 0xffff_ffff {
            return None;
        }
        i = j;
        if s.get(i) == Some(&b'.') {
            if count > 2 || value > 0xff {
                return None;
            }
            parts[count] = value as u32;
            count += 1;
            i += 1;
            continue;
        }
        if let Some(&c) = s.get(i) {
            if !(c.is_ascii() && is_c_space(c)) {
                return None;
            }
        }
        const MAX: [u32; 4] = [0xffff_ffff, 0xff_ffff, 0xffff, 0xff];
        let value = value as u32;
        if value > MAX[count] {
            return None;
        }
        let high = parts[..count].iter().enumerate().fold(0u32, |acc, (k, &p)| acc | (p << (24 - 8 * k)));
        return Some(high | value);
    }
}

/// `base64-encode`: the arguments encoded as one stream, padded, without
/// line breaks.
fn base64_encode(args: &Scratch, out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut group = [0u8; 3];
    let mut filled = 0;
    let emit = |group: &[u8; 3], n: usize, out: &mut Vec<u8>| {
        let v = (u32::from(group[0]) << 16) | (u32::from(group[1]) << 8) | u32::from(group[2]);
        for k in 0..4 {
            out.push(if k <= n { ALPHABET[(v >> (18 - 6 * k)) as usize & 63] } else { b'=' });
        }
    };
    for &b in args.args().flatten() {
        group[filled] = b;
        filled += 1;
        if filled == 3 {
            emit(&group, 3, out);
            filled = 0;
        }
    }
    if filled > 0 {
        group[filled..].fill(0);
        emit(&group, filled, out);
    }
}

/// GLib's `g_uri_escape_string(s, NULL, FALSE)`: all but the unreserved
/// characters as `%XX`.
fn url_encode(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &c in s {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]);
        }
    }
}

/// GLib's `g_uri_unescape_string(s, NULL)`: nothing at all when a `%` is
/// not followed by two hex digits or when the result would contain a NUL.
fn url_decode(s: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        let hex = |k: usize| s.get(k).and_then(|&h| char::from(h).to_digit(16));
        match (hex(i + 1), hex(i + 2)) {
            (Some(hi), Some(lo)) if hi * 16 + lo != 0 => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            _ => {
                out.truncate(start);
                return;
            }
        }
    }
}

thread_local! {
    /// Per-thread random keys and a counter for `$(uuid)`.
    static UUID_STATE: (RandomState, Cell<u64>) = (RandomState::new(), const { Cell::new(0) });
}

/// 16 random bytes: SipHash with per-thread random keys over a counter.
fn random_bytes() -> [u8; 16] {
    UUID_STATE.with(|(keys, counter)| {
        let n = counter.get();
        counter.set(n.wrapping_add(1));
        let mut bytes = [0u8; 16];
        for (half, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = keys.build_hasher();
            h.write_u64(n);
            h.write_u8(half as u8);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        bytes
    })
}

/// `$(uuid)`: a random UUID in syslog-ng's form. It fills a struct with
/// random bytes, sets the variant bits and the version (through `htons`),
/// and prints the fields as host-order integers, so on a little-endian
/// host the version digit `4` is the third of the third group.
fn uuid(out: &mut Vec<u8>) {
    let mut b = random_bytes();
    b[8] = (b[8] & !0xc0) | 0x80;
    let time_hi = u16::from_ne_bytes([b[6], b[7]]);
    // `to_be` is `htons`.
    let version = ((time_hi & !0xf000) | 0x4000).to_be();
    let time_low = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    let time_mid = u16::from_ne_bytes([b[4], b[5]]);
    push_hex(out, u64::from(time_low), 8);
    out.push(b'-');
    push_hex(out, u64::from(time_mid), 4);
    out.push(b'-');
    push_hex(out, u64::from(version), 4);
    out.push(b'-');
    push_hex(out, u64::from(b[8]), 2);
    push_hex(out, u64::from(b[9]), 2);
    out.push(b'-');
    for &byte in &b[10..16] {
        push_hex(out, u64::from(byte), 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: fn(&[u8], &mut Vec<u8>), s: &str) -> String {
        let mut out = Vec::new();
        f(s.as_bytes(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn paths() {
        let cases = [
            ("/usr/lib/x.so", "/usr/lib", "x.so"),
            ("x", ".", "x"),
            ("/", "/", "/"),
            ("//a", "/", "a"),
            ("a//b", "a", "b"),
            ("a/", "a", "a"),
            ("", ".", "."),
            ("///", "/", "/"),
            ("/usr/lib/", "/usr/lib", "lib"),
        ];
        for (path, dir, base) in cases {
            assert_eq!(with(dirname, path), dir, "dirname {path:?}");
            assert_eq!(with(basename, path), base, "basename {path:?}");
        }
    }

    #[test]
    fn addresses() {
        let a = |s: &str| inet_aton(s.as_bytes());
        assert_eq!(a("1.2.3.4"), Some(0x0102_0304));
        assert_eq!(a("10.1"), Some(0x0a00_0001));
        assert_eq!(a("0x7f.1"), Some(0x7f00_0001));
        assert_eq!(a("4294967295"), Some(u32::MAX));
        assert_eq!(a("1.2.3.4 x"), Some(0x0102_0304));
        assert_eq!(a("010.0.0.1"), Some(0x0800_0001));
        assert_eq!(a("1.2.3.256"), None);
        assert_eq!(a("1.2.3.4.5"), None);
        assert_eq!(a(" 1.2.3.4"), None);
        assert_eq!(a("1.2.3.4x"), None);
        assert_eq!(a("08"), None);
        assert_eq!(a("0x"), None);
        assert_eq!(a("1..2"), None);
        assert_eq!(a(""), None);
    }

    #[test]
    fn urls() {
        assert_eq!(with(url_encode, "a b/c?d=é&x~_.-"), "a%20b%2Fc%3Fd%3D%C3%A9%26x~_.-");
        assert_eq!(with(url_decode, "a%20b%2fc"), "a b/c");
        assert_eq!(with(url_decode, "%zz"), "");
        assert_eq!(with(url_decode, "ab%4"), "");
        assert_eq!(with(url_decode, "a%00b"), "");
        assert_eq!(with(url_decode, "a+b%41"), "a+bA");
    }

    #[test]
    fn uuids_have_syslog_ngs_shape() {
        let mut out = Vec::new();
        uuid(&mut out);
        let text = String::from_utf8(out.clone()).unwrap();
        let groups: Vec<&str> = text.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{text}");
        assert!(text.bytes().all(|c| c == b'-' || c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_eq!(groups[2].as_bytes()[2], b'4', "{text}");
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{text}");
        out.clear();
        uuid(&mut out);
        assert_ne!(String::from_utf8(out).unwrap(), text);
    }
}

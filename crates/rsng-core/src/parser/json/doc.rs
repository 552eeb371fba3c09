//! A JSON document read the way json-c 0.16's tokener reads it in its default (non-strict)
//! mode, and written back the way `json_object_to_json_string_ext(..., PLAIN)` writes it.
//!
//! What the tokener accepts beyond RFC 8259, and where it refuses:
//! * strings in `'…'` as well as `"…"`; raw control characters and invalid UTF-8 in strings;
//!   escapes `\" \\ \/ \b \f \n \r \t \uXXXX` only (`\'` is an error); unpaired surrogates
//!   become U+FFFD;
//! * `true`, `false`, `null`, `NaN`, `Infinity`, `-Infinity` in any letter case;
//! * numbers with leading zeros, a trailing `e`, `e+` or `-` (dropped), integers beyond 64 bits
//!   clamped; a number inside a container must be followed by `,`, `]`, `}`, `/`, whitespace,
//!   `I` or `i`;
//! * `/* … */` and `// …` comments wherever whitespace may stand; a trailing comma before `]`
//!   or `}`;
//! * containers nest at most 32 levels deep;
//! * after the top-level value anything may follow, except an unfinished comment when the
//!   input ends exactly there (with a NUL-terminated input the comment may stay open).
//!
//! Duplicate keys keep the first key's position and the last value. The document lives in
//! flat vectors that are reused from one message to the next.

use std::io::Write as _;

/// A parsed value. Containers refer to a range of [`Doc::links`]: child nodes for arrays,
/// key/value node pairs for objects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` (json-c's `uint64` type).
    UInt(u64),
    /// A double and, when it was read from text, that text in [`Doc::text`].
    Double(f64, Option<(u32, u32)>),
    /// A range of [`Doc::text`].
    Str(u32, u32),
    Array(u32, u32),
    Object(u32, u32),
}

/// json-c's `JSON_TOKENER_DEFAULT_DEPTH`.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Default)]
pub struct Doc {
    pub nodes: Vec<Node>,
    pub text: Vec<u8>,
    pub links: Vec<u32>,
    stack: Vec<u32>,
    path: String,
}

struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// Skips whitespace and comments. `Err` for a malformed or unfinished comment.
    fn skip_ws(&mut self) -> Result<(), Unfinished> {
        loop {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.pos += 1;
            }
            if self.peek() != Some(b'/') {
                return Ok(());
            }
            self.pos += 1;
            match self.bump() {
                Some(b'*') => match self.src[self.pos..].windows(2).position(|w| w == b"*/") {
                    Some(p) => self.pos += p + 2,
                    None => return Err(Unfinished::Comment),
                },
                Some(b'/') => match self.src[self.pos..].iter().position(|&c| c == b'\n') {
                    Some(p) => self.pos += p + 1,
                    None => return Err(Unfinished::Comment),
                },
                _ => return Err(Unfinished::Bad),
            }
        }
    }
}

/// Why whitespace skipping stopped short.
enum Unfinished {
    /// A comment runs to the end of the input.
    Comment,
    /// A `/` not followed by `*` or `/`.
    Bad,
}

fn hex(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();

fn push_utf8(out: &mut Vec<u8>, ucs: u32) {
    match char::from_u32(ucs) {
        Some(c) => {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
        None => out.extend_from_slice(REPLACEMENT),
    }
}

impl Doc {
    /// Parses `src` (which must not contain NUL bytes); `nul_end` says whether json-c sees the
    /// end as a terminating NUL rather than as the end of its buffer. Returns the root node.
    pub fn parse(&mut self, src: &[u8], nul_end: bool) -> Option<u32> {
        self.nodes.clear();
        self.text.clear();
        self.links.clear();
        self.stack.clear();
        let mut r = Reader { src, pos: 0 };
        r.skip_ws().ok()?;
        let root = self.value(&mut r, 0)?;
        match r.skip_ws() {
            Ok(()) => Some(root),
            Err(Unfinished::Comment) if nul_end => Some(root),
            Err(_) => None,
        }
    }

    fn push(&mut self, node: Node) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    /// The bytes of a string node.
    pub fn str_of(&self, node: u32) -> &[u8] {
        match self.nodes[node as usize] {
            Node::Str(s, e) => &self.text[s as usize..e as usize],
            _ => b"",
        }
    }

    /// The value of member `name` of the object `links[s..e]`.
    pub fn member(&self, s: u32, e: u32, name: &[u8]) -> Option<u32> {
        (s..e).step_by(2).find(|&i| self.str_of(self.links[i as usize]) == name).map(|i| self.links[i as usize + 1])
    }

    /// The name buffer of the extraction, reused.
    pub fn take_path(&mut self) -> String {
        let mut p = std::mem::take(&mut self.path);
        p.clear();
        p
    }

    pub fn give_path(&mut self, p: String) {
        self.path = p;
    }

    fn value(&mut self, r: &mut Reader<'_>, depth: usize) -> Option<u32> {
        match r.peek()? {
            b'{' => {
                r.pos += 1;
                self.object(r, depth)
            }
            b'[' => {
                r.pos += 1;
                self.array(r, depth)
            }
            q @ (b'"' | b'\'') => {
                r.pos += 1;
                let (s, e) = self.string(r, q, false)?;
                Some(self.push(Node::Str(s, e)))
            }
            b'i' | b'I' => self.infinity(r, false),
            b'n' | b'N' => self.null_or_nan(r),
            b't' | b'T' | b'f' | b'F' => self.boolean(r),
            b'0'..=b'9' | b'-' => self.number(r, depth),
            _ => None,
        }
    }

    /// `true`/`false`: the word in any case; json-c needs one more byte after it.
    fn boolean(&mut self, r: &mut Reader<'_>) -> Option<u32> {
        let rest = &r.src[r.pos..];
        let (word, value): (&[u8], bool) = if rest.first().is_some_and(|c| c.eq_ignore_ascii_case(&b't')) {
            (b"true", true)
        } else {
            (b"false", false)
        };
        if rest.len() <= word.len() || !rest[..word.len()].eq_ignore_ascii_case(word) {
            return None;
        }
        r.pos += word.len();
        Some(self.push(Node::Bool(value)))
    }

    fn null_or_nan(&mut self, r: &mut Reader<'_>) -> Option<u32> {
        let rest = &r.src[r.pos..];
        let starts = |w: &[u8]| rest.len() > w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
        // json-c checks the `null` spelling first, one byte at a time.
        let null_prefix = rest.iter().zip(b"null").take_while(|(a, b)| a.eq_ignore_ascii_case(b)).count();
        if null_prefix >= 2 || (null_prefix == 1 && !rest.get(1).is_some_and(|c| c.eq_ignore_ascii_case(&b'a'))) {
            if !starts(b"null") {
                return None;
            }
            r.pos += 4;
            return Some(self.push(Node::Null));
        }
        if !starts(b"nan") {
            return None;
        }
        r.pos += 3;
        Some(self.push(Node::Double(f64::NAN, None)))
    }

    fn infinity(&mut self, r: &mut Reader<'_>, negative: bool) -> Option<u32> {
        let rest = &r.src[r.pos..];
        if rest.len() <= 8 || !rest[..8].eq_ignore_ascii_case(b"infinity") {
            return None;
        }
        r.pos += 8;
        Some(self.push(Node::Double(if negative { f64::NEG_INFINITY } else { f64::INFINITY }, None)))
    }

    fn number(&mut self, r: &mut Reader<'_>, depth: usize) -> Option<u32> {
        let start = r.pos;
        let (mut is_double, mut is_exponent) = (false, false);
        let (mut neg_ok, mut pos_ok) = (true, false);
        while let Some(c) = r.peek() {
            let ok = c.is_ascii_digit()
                || (!is_exponent && (c == b'e' || c == b'E'))
                || (neg_ok && c == b'-')
                || (pos_ok && c == b'+')
                || (!is_double && c == b'.');
            if !ok {
                break;
            }
            neg_ok = false;
            pos_ok = false;
            match c {
                b'.' => {
                    is_double = true;
                    neg_ok = true;
                    pos_ok = true;
                }
                b'e' | b'E' => {
                    is_exponent = true;
                    is_double = true;
                    neg_ok = true;
                    pos_ok = true;
                }
                _ => {}
            }
            r.pos += 1;
        }
        // The number must be followed by something (json-c waits for more input otherwise).
        let next = r.peek()?;
        if depth > 0 && !matches!(next, b',' | b']' | b'}' | b'/' | b'I' | b'i' | b' ' | b'\t' | b'\n' | b'\r') {
            return None;
        }
        let mut text = &r.src[start..r.pos];
        if text == b"-" && matches!(next, b'i' | b'I') {
            return self.infinity(r, true);
        }
        if is_double {
            while text.len() > 1 && matches!(text.last(), Some(b'e' | b'E' | b'-' | b'+')) {
                text = &text[..text.len() - 1];
            }
            let value = strtod_whole(text)?;
            let s = self.text.len() as u32;
            self.text.extend_from_slice(text);
            let e = self.text.len() as u32;
            return Some(self.push(Node::Double(value, Some((s, e)))));
        }
        let digits = text.strip_prefix(b"-").unwrap_or(text);
        if digits.is_empty() {
            return None;
        }
        let mut n: u128 = 0;
        for &c in digits {
            n = (n * 10 + u128::from(c - b'0')).min(u128::from(u64::MAX) + 1);
        }
        let node = if text[0] == b'-' {
            Node::Int(if n > 1 << 63 { i64::MIN } else { (n as i128).wrapping_neg() as i64 })
        } else if n <= i64::MAX as u128 {
            Node::Int(n as i64)
        } else {
            Node::UInt(n.min(u128::from(u64::MAX)) as u64)
        };
        Some(self.push(node))
    }

    /// Reads a string after its opening quote into [`Doc::text`]; keys stop at a NUL.
    fn string(&mut self, r: &mut Reader<'_>, quote: u8, key: bool) -> Option<(u32, u32)> {
        let s = self.text.len();
        loop {
            let c = r.bump()?;
            if c == quote {
                break;
            }
            if c != b'\\' {
                self.text.push(c);
                continue;
            }
            let e = r.bump()?;
            self.escape(r, e)?;
        }
        let mut e = self.text.len();
        if key {
            if let Some(nul) = self.text[s..].iter().position(|&c| c == 0) {
                e = s + nul;
            }
        }
        Some((s as u32, e as u32))
    }

    fn escape(&mut self, r: &mut Reader<'_>, c: u8) -> Option<()> {
        let out = match c {
            b'"' | b'\\' | b'/' => c,
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => return self.unicode(r),
            _ => return None,
        };
        self.text.push(out);
        Some(())
    }

    /// `\uXXXX` (the `\u` already read), with surrogate pairs.
    fn unicode(&mut self, r: &mut Reader<'_>) -> Option<()> {
        let mut high: Option<u32> = None;
        loop {
            let mut ucs = 0u32;
            for _ in 0..4 {
                ucs = ucs << 4 | hex(r.bump()?)?;
            }
            if let Some(h) = high.take() {
                if (0xdc00..0xe000).contains(&ucs) {
                    ucs = (((h & 0x3ff) << 10) | (ucs & 0x3ff)) + 0x10000;
                } else {
                    self.text.extend_from_slice(REPLACEMENT);
                }
            }
            if (0xd800..0xdc00).contains(&ucs) {
                // A high surrogate wants `\u` and a low one next.
                if r.peek()? != b'\\' {
                    self.text.extend_from_slice(REPLACEMENT);
                    return Some(());
                }
                r.pos += 1;
                let c = r.bump()?;
                if c != b'u' {
                    self.text.extend_from_slice(REPLACEMENT);
                    return self.escape(r, c);
                }
                high = Some(ucs);
                continue;
            }
            push_utf8(&mut self.text, ucs);
            return Some(());
        }
    }

    fn array(&mut self, r: &mut Reader<'_>, depth: usize) -> Option<u32> {
        let mark = self.stack.len();
        r.skip_ws().ok()?;
        if r.peek()? != b']' {
            loop {
                if depth >= MAX_DEPTH - 1 {
                    return None;
                }
                let v = self.value(r, depth + 1)?;
                self.stack.push(v);
                r.skip_ws().ok()?;
                match r.bump()? {
                    b']' => break,
                    b',' => {
                        r.skip_ws().ok()?;
                        if r.peek()? == b']' {
                            r.pos += 1;
                            break;
                        }
                    }
                    _ => return None,
                }
            }
        } else {
            r.pos += 1;
        }
        Some(self.close(mark, false))
    }

    fn object(&mut self, r: &mut Reader<'_>, depth: usize) -> Option<u32> {
        let mark = self.stack.len();
        r.skip_ws().ok()?;
        loop {
            let q = r.bump()?;
            if q == b'}' {
                break;
            }
            if q != b'"' && q != b'\'' {
                return None;
            }
            let (ks, ke) = self.string(r, q, true)?;
            r.skip_ws().ok()?;
            if r.bump()? != b':' {
                return None;
            }
            r.skip_ws().ok()?;
            if depth >= MAX_DEPTH - 1 {
                return None;
            }
            let v = self.value(r, depth + 1)?;
            let key = &self.text[ks as usize..ke as usize];
            let existing = (mark..self.stack.len()).step_by(2).find(|&i| {
                let Node::Str(s, e) = self.nodes[self.stack[i] as usize] else { return false };
                &self.text[s as usize..e as usize] == key
            });
            match existing {
                Some(i) => self.stack[i + 1] = v,
                None => {
                    let k = self.push(Node::Str(ks, ke));
                    self.stack.push(k);
                    self.stack.push(v);
                }
            }
            r.skip_ws().ok()?;
            match r.bump()? {
                b'}' => break,
                b',' => r.skip_ws().ok()?,
                _ => return None,
            }
        }
        Some(self.close(mark, true))
    }

    /// Moves the children collected since `mark` to [`Doc::links`] and makes the container.
    fn close(&mut self, mark: usize, object: bool) -> u32 {
        let s = self.links.len() as u32;
        self.links.extend_from_slice(&self.stack[mark..]);
        self.stack.truncate(mark);
        let e = self.links.len() as u32;
        self.push(if object { Node::Object(s, e) } else { Node::Array(s, e) })
    }

    /// Appends `node` as compact JSON (json-c's `JSON_C_TO_STRING_PLAIN`).
    pub fn serialize(&self, node: u32, out: &mut Vec<u8>) {
        match self.nodes[node as usize] {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            Node::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Node::UInt(n) => {
                let _ = write!(out, "{n}");
            }
            Node::Double(_, Some((s, e))) => out.extend_from_slice(&self.text[s as usize..e as usize]),
            Node::Double(v, None) => out.extend_from_slice(if v.is_nan() {
                b"NaN"
            } else if v > 0.0 {
                b"Infinity"
            } else {
                b"-Infinity"
            }),
            Node::Str(s, e) => {
                out.push(b'"');
                escape_json(out, &self.text[s as usize..e as usize]);
                out.push(b'"');
            }
            Node::Array(s, e) => {
                out.push(b'[');
                for i in s..e {
                    if i != s {
                        out.push(b',');
                    }
                    self.serialize(self.links[i as usize], out);
                }
                out.push(b']');
            }
            Node::Object(s, e) => {
                out.push(b'{');
                for i in (s..e).step_by(2) {
                    if i != s {
                        out.push(b',');
                    }
                    out.push(b'"');
                    escape_json(out, self.str_of(self.links[i as usize]));
                    out.extend_from_slice(b"\":");
                    self.serialize(self.links[i as usize + 1], out);
                }
                out.push(b'}');
            }
        }
    }
}

/// json-c's `json_escape_str`: `"`, `\`, `/` and the C escapes backslashed, other control
/// characters as `\u00xx`; everything else (UTF-8 or not) as is.
fn escape_json(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &c in s {
        match c {
            8 => out.extend_from_slice(b"\\b"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            12 => out.extend_from_slice(b"\\f"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            c if c < 0x20 => {
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]])
            }
            c => out.push(c),
        }
    }
}

/// C's `strtod` over the whole of `text` (as json-c requires): `[-]digits[.digits][e[±]digits]`
/// with at least one mantissa digit.
fn strtod_whole(text: &[u8]) -> Option<f64> {
    let mut i = usize::from(text.first() == Some(&b'-'));
    let int_digits = text[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if text.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = text[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(text.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = text[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    if i != text.len() {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse::<f64>().ok()
}

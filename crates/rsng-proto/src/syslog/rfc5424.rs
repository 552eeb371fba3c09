//! RFC 5424 messages and their structured data: validation as syslog-ng 3.38 does it, and
//! iterators over the elements and parameters of validated data.

use super::*;

pub(super) fn parse_rfc5424<'a>(data: &'a [u8], options: &ParseOptions) -> Result<ParsedMessage<'a>, ParseError> {
    let flags = options.flags;
    let mut cur = Cursor { data, pos: 0 };
    let pri = parse_pri(&mut cur);
    let version_ok = pri.is_ok() && {
        let start = cur.pos;
        while cur.peek().is_some_and(|c| c != b' ') {
            cur.pos += 1;
        }
        let digits = &data[start..cur.pos];
        digits.iter().all(u8::is_ascii_digit)
            && digits.iter().fold(0u32, |v, d| v.wrapping_mul(10).wrapping_add(u32::from(d - b'0'))) == 1
    };
    if !version_ok {
        if flags.no_rfc3164_fallback {
            return Err(ParseError { position: 0 });
        }
        return parse_rfc3164(data, options);
    }
    let pri = pri.ok().flatten();
    let mut msg = ParsedMessage::empty(Syntax::Rfc5424, Priority(pri.unwrap_or(options.default_pri())), flags);
    msg.pri_present = pri.is_some();
    let err = |cur: &Cursor<'_>| ParseError { position: cur.pos };
    if !cur.eat(b' ') {
        return Err(err(&cur));
    }
    if cur.eat(b'-') {
        msg.stamp = Stamp::Nil;
    } else {
        msg.stamp = Stamp::Parsed(scan_iso_stamp(&mut cur).ok_or_else(|| err(&cur))?);
    }
    if !cur.eat(b' ') {
        return Err(err(&cur));
    }
    let host = parse_hostname(&mut cur, &flags);
    if !cur.eat(b' ') {
        return Err(ParseError { position: cur.pos + 1 });
    }
    if host != Some(b"-") {
        msg.host = host;
    }
    let column = |cur: &mut Cursor<'a>, max: usize| -> Result<Option<&'a [u8]>, ParseError> {
        let rest = cur.rest();
        match rest.iter().position(|&c| c == b' ') {
            Some(len) => {
                cur.pos += len + 1;
                Ok(if len == 1 && rest[0] == b'-' { None } else { Some(&rest[..len.min(max)]) })
            }
            None => {
                cur.pos = cur.data.len();
                Err(ParseError { position: cur.pos })
            }
        }
    };
    msg.program = column(&mut cur, 48)?.unwrap_or(b"");
    msg.pid = column(&mut cur, 128)?;
    msg.msgid = column(&mut cur, 32)?;
    let sd_start = cur.pos;
    scan_structured_data(&mut cur).map_err(|()| err(&cur))?;
    if cur.data[sd_start..cur.pos] != *b"-" {
        msg.structured_data = &cur.data[sd_start..cur.pos];
    }
    if cur.left() != 0 {
        if !cur.eat(b' ') {
            return Err(err(&cur));
        }
        if cur.rest().starts_with(BOM) {
            msg.utf8 = true;
            cur.pos += BOM.len();
        } else if flags.validate_utf8 && is_glib_valid_utf8(cur.rest()) {
            msg.utf8 = true;
        }
    }
    msg.message = cur.rest();
    Ok(msg)
}

fn is_sd_name_char(c: u8) -> bool {
    c.is_ascii() && !matches!(c, b'=' | b' ' | b']' | b'"')
}

/// Validates structured data the way syslog-ng does, leaving the cursor on
/// the first byte after it (or where the error is).
fn scan_structured_data(cur: &mut Cursor<'_>) -> Result<(), ()> {
    if cur.eat(b'-') {
        return Ok(());
    }
    if !cur.eat(b'[') {
        return Ok(());
    }
    loop {
        // SD-ID
        if !cur.peek().is_some_and(is_sd_name_char) {
            return Err(());
        }
        let start = cur.pos;
        while let Some(c) = cur.peek() {
            if c == b' ' || c == b']' {
                break;
            }
            if !is_sd_name_char(c) || cur.pos - start >= 255 - 7 {
                return Err(());
            }
            cur.pos += 1;
        }
        let id_len = cur.pos - start;
        // params
        while cur.peek().is_some_and(|c| c != b']') {
            if !cur.eat(b' ') {
                return Err(());
            }
            if !cur.peek().is_some_and(is_sd_name_char) {
                return Err(());
            }
            let name_start = cur.pos;
            while let Some(c) = cur.peek() {
                if c == b'=' {
                    break;
                }
                if !is_sd_name_char(c) || cur.pos - name_start >= 255 - id_len {
                    return Err(());
                }
                cur.pos += 1;
            }
            if !cur.eat(b'=') || !cur.eat(b'"') {
                return Err(());
            }
            let mut escaped = false;
            loop {
                match cur.peek() {
                    None => return Err(()),
                    Some(b'"') if !escaped => break,
                    Some(b'\\') if !escaped => escaped = true,
                    Some(b']') if !escaped => {
                        cur.pos += 1;
                        return Err(());
                    }
                    Some(_) => escaped = false,
                }
                cur.pos += 1;
            }
            cur.pos += 1; // closing quote
        }
        if !cur.eat(b']') {
            return Err(());
        }
        // syslog-ng stops when the input ends right after another `[`.
        if cur.eat(b'[') && cur.left() > 0 {
            continue;
        }
        return Ok(());
    }
}

/// One structured data element: `[id name="value" ...]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdElement<'a> {
    pub id: &'a [u8],
    /// The parameters as written, after the id (starting with a space, or empty).
    pub raw_params: &'a [u8],
}

impl<'a> SdElement<'a> {
    pub fn params(&self) -> SdParams<'a> {
        SdParams { rest: self.raw_params }
    }
}

/// One parameter of an [`SdElement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdParam<'a> {
    pub name: &'a [u8],
    /// The value between the quotes, escapes still in place.
    pub raw_value: &'a [u8],
}

impl<'a> SdParam<'a> {
    /// The value as syslog-ng stores it: `\"`, `\\` and `\]` lose their
    /// backslash; any other backslash is kept.
    pub fn value(&self) -> Cow<'a, [u8]> {
        if !self.raw_value.contains(&b'\\') {
            return Cow::Borrowed(self.raw_value);
        }
        let mut out = Vec::with_capacity(self.raw_value.len());
        let mut escaped = false;
        for &c in self.raw_value {
            if !escaped && c == b'\\' {
                escaped = true;
                continue;
            }
            if escaped && !matches!(c, b'"' | b']' | b'\\') {
                out.push(b'\\');
            }
            out.push(c);
            escaped = false;
        }
        Cow::Owned(out)
    }
}

/// Iterator over validated structured data; see [`ParsedMessage::sd_elements`].
#[derive(Debug, Clone)]
pub struct SdElements<'a> {
    pub(super) rest: &'a [u8],
}

impl<'a> Iterator for SdElements<'a> {
    type Item = SdElement<'a>;

    fn next(&mut self) -> Option<SdElement<'a>> {
        let s = self.rest.strip_prefix(b"[")?;
        let id_len = s.iter().position(|&c| c == b' ' || c == b']')?;
        let mut i = id_len;
        // find the closing bracket outside quotes
        let mut in_value = false;
        let mut escaped = false;
        while i < s.len() {
            let c = s[i];
            if in_value {
                if escaped {
                    escaped = false;
                } else if c == b'\\' {
                    escaped = true;
                } else if c == b'"' {
                    in_value = false;
                }
            } else if c == b'"' {
                in_value = true;
            } else if c == b']' {
                break;
            }
            i += 1;
        }
        let element = SdElement { id: &s[..id_len], raw_params: &s[id_len..i.min(s.len())] };
        self.rest = s.get(i + 1..).unwrap_or(b"");
        Some(element)
    }
}

/// Iterator over the parameters of an [`SdElement`].
#[derive(Debug, Clone)]
pub struct SdParams<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SdParams<'a> {
    type Item = SdParam<'a>;

    fn next(&mut self) -> Option<SdParam<'a>> {
        let s = self.rest.strip_prefix(b" ")?;
        let eq = s.iter().position(|&c| c == b'=')?;
        let name = &s[..eq];
        let v = s.get(eq + 2..)?;
        let mut escaped = false;
        let mut end = v.len();
        for (i, &c) in v.iter().enumerate() {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                end = i;
                break;
            }
        }
        self.rest = v.get(end + 1..).unwrap_or(b"");
        Some(SdParam { name, raw_value: &v[..end] })
    }
}

//! RFC 3164 ("BSD") headers as syslog-ng 3.38 reads them: the legacy header with its many
//! timestamp notations (BSD, ISO, PIX, LinkSys, Cisco sequence numbers), host names and
//! `program[pid]:`.

use super::*;

pub(super) fn parse_rfc3164<'a>(data: &'a [u8], options: &ParseOptions) -> Result<ParsedMessage<'a>, ParseError> {
    let flags = options.flags;
    let mut cur = Cursor { data, pos: 0 };
    let pri = parse_pri(&mut cur).map_err(|()| ParseError { position: 0 })?;
    let mut msg = ParsedMessage::empty(Syntax::Rfc3164, Priority(pri.unwrap_or(options.default_pri())), flags);
    msg.pri_present = pri.is_some();
    if !flags.no_header {
        parse_legacy_header(&mut cur, &mut msg, &flags);
    }
    msg.message = cur.rest();
    // sanitize-utf8 flags what it had to escape; validate-utf8 (without sanitize-utf8) flags valid text.
    let valid = is_glib_valid_utf8(msg.message);
    msg.utf8 = (flags.sanitize_utf8 && !valid) || (flags.validate_utf8 && !flags.sanitize_utf8 && valid);
    Ok(msg)
}

fn parse_legacy_header<'a>(cur: &mut Cursor<'a>, msg: &mut ParsedMessage<'a>, flags: &ParseFlags) {
    parse_cisco_sequence_id(cur, msg);
    cur.skip_spaces();
    match cur.peek() {
        Some(b'*') => {
            if !flags.no_parse_date {
                msg.time_synced = Some(false);
            }
            cur.pos += 1;
        }
        Some(b'.') => {
            if !flags.no_parse_date {
                msg.time_synced = Some(true);
            }
            cur.pos += 1;
        }
        _ => {}
    }
    if let Some(stamp) = scan_rfc3164_timestamp(cur) {
        msg.stamp = Stamp::Parsed(stamp);
        cur.skip_spaces();
        let mut host = None;
        if cur.rest().starts_with(AIX_FORWARDED) {
            cur.pos += AIX_FORWARDED.len();
            let start = cur.pos;
            while cur.peek().is_some_and(|c| c != b':') {
                cur.pos += 1;
            }
            host = Some(&cur.data[start..cur.pos]);
            while cur.peek().is_some_and(|c| c == b' ' || c == b':') {
                cur.pos += 1;
            }
        }
        // syslog-ng compares the string's length including its NUL terminator.
        if cur.left() > LAST_MESSAGE_REPEATED.len() && cur.rest().starts_with(LAST_MESSAGE_REPEATED) {
            // no hostname or program follows
        } else {
            if host.is_none() && flags.expect_hostname {
                host = parse_hostname(cur, flags);
                cur.skip_spaces();
            }
            parse_legacy_program(cur, msg, flags);
        }
        if host.is_some() {
            msg.host = host;
        }
    } else if msg.pri.0 & 0x03f8 == 0 && flags.local {
        msg.program = b"kernel";
    } else {
        parse_legacy_program(cur, msg, flags);
    }
}

/// `123: ` at the start of a Cisco message.
fn parse_cisco_sequence_id<'a>(cur: &mut Cursor<'a>, msg: &mut ParsedMessage<'a>) {
    let rest = cur.rest();
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if rest.get(digits) == Some(&b':') && rest.get(digits + 1) == Some(&b' ') {
        msg.cisco_sequence_id = Some(&rest[..digits]);
        cur.pos += digits + 1;
    }
}

fn parse_legacy_program<'a>(cur: &mut Cursor<'a>, msg: &mut ParsedMessage<'a>, flags: &ParseFlags) {
    let start = cur.pos;
    while cur.peek().is_some_and(|c| !matches!(c, b' ' | b'[' | b':')) {
        cur.pos += 1;
    }
    msg.program = &cur.data[start..cur.pos];
    if cur.peek() == Some(b'[') {
        let pid_start = cur.pos + 1;
        while cur.peek().is_some_and(|c| !matches!(c, b' ' | b']' | b':')) {
            cur.pos += 1;
        }
        if cur.left() > 0 {
            msg.pid = Some(&cur.data[pid_start..cur.pos]);
        }
        cur.eat(b']');
    }
    cur.eat(b':');
    cur.eat(b' ');
    if flags.store_legacy_msghdr {
        msg.legacy_msghdr = Some(&cur.data[start..cur.pos]);
    }
}

fn is_hostname_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':' | b'@' | b'/')
}

/// syslog-ng's hostname rule: up to 255 bytes ending at a space; `[` ends
/// the field (no hostname); `:` ends it (no hostname) unless everything so
/// far could be an IPv6 address.
pub(super) fn parse_hostname<'a>(cur: &mut Cursor<'a>, flags: &ParseFlags) -> Option<&'a [u8]> {
    let start = cur.pos;
    let mut segments = 0u8;
    let mut digits = 0u8;
    let mut ipv6_failed = false;
    let mut len = 0;
    while let Some(c) = cur.peek() {
        if c == b' ' || c == b'[' || len >= 255 {
            break;
        }
        if !ipv6_failed {
            if c != b':' && !c.is_ascii_hexdigit() {
                ipv6_failed = true;
            } else if c == b':' {
                digits = 0;
                segments += 1;
                if segments >= 8 {
                    ipv6_failed = true;
                }
            } else {
                digits += 1;
                if digits > 4 {
                    ipv6_failed = true;
                }
            }
        }
        if c == b':' && ipv6_failed {
            break;
        }
        if flags.check_hostname && !is_hostname_char(c) {
            break;
        }
        len += 1;
        cur.pos += 1;
    }
    if cur.peek() == Some(b' ') {
        Some(&cur.data[start..cur.pos])
    } else {
        cur.pos = start;
        None
    }
}

fn month_abbrev(s: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] =
        [b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"];
    let s = s.get(..3)?;
    // syslog-ng dispatches on the first letter case-sensitively, then compares case-insensitively:
    // `JAN` and `JaN` are months, `jan` is not.
    if !s[0].is_ascii_uppercase() {
        return None;
    }
    MONTHS.iter().position(|m| m.eq_ignore_ascii_case(s)).map(|i| i as u32 + 1)
}

/// The RFC 3164 position accepts ISO, PIX, LinkSys and BSD stamps, followed by an optional `:`.
fn scan_rfc3164_timestamp<'a>(cur: &mut Cursor<'a>) -> Option<Timestamp<'a>> {
    let mut c = *cur;
    let s = c.rest();
    let is_iso = s.len() >= 19
        && s[4] == b'-'
        && s[7] == b'-'
        && (s[10] == b'T' || s[10] == b' ')
        && s[13] == b':'
        && s[16] == b':';
    let stamp = if is_iso { scan_iso_stamp(&mut c)? } else { scan_bsd_stamp(&mut c)? };
    c.eat(b':');
    *cur = c;
    Some(stamp)
}

fn scan_bsd_stamp<'a>(cur: &mut Cursor<'a>) -> Option<Timestamp<'a>> {
    let s = cur.rest();
    let digit = |i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
    let is_pix = s.len() >= 21
        && s[3] == b' '
        && s[6] == b' '
        && s[11] == b' '
        && s[14] == b':'
        && s[17] == b':'
        && (s[20] == b':' || s[20] == b' ')
        && (7..11).all(digit);
    let is_linksys = s.len() >= 21
        && s[3] == b' '
        && s[6] == b' '
        && s[9] == b':'
        && s[12] == b':'
        && s[15] == b' '
        && (16..20).all(digit)
        && matches!(s[20], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let is_bsd = s.len() >= 15 && s[3] == b' ' && s[6] == b' ' && s[9] == b':' && s[12] == b':';
    let mut c = *cur;
    let month = month_abbrev(s)?;
    c.pos += 3;
    let mut stamp = Timestamp {
        format: TimestampFormat::Bsd,
        year: None,
        month,
        day: 0,
        hour: 0,
        minute: 0,
        second: 0,
        fraction: b"",
        usec: 0,
        offset: None,
    };
    let hms = |c: &mut Cursor<'a>, stamp: &mut Timestamp<'a>| -> Option<()> {
        stamp.hour = c.positive_int(2)?;
        c.eat(b':').then_some(())?;
        stamp.minute = c.positive_int(2)?;
        c.eat(b':').then_some(())?;
        stamp.second = c.positive_int(2)?;
        Some(())
    };
    if is_pix {
        stamp.format = TimestampFormat::Pix;
        c.eat(b' ').then_some(())?;
        stamp.day = c.positive_int(2)?;
        c.eat(b' ').then_some(())?;
        stamp.year = Some(c.positive_int(4)?);
        c.eat(b' ').then_some(())?;
        hms(&mut c, &mut stamp)?;
        c.eat(b':');
    } else if is_linksys {
        stamp.format = TimestampFormat::Linksys;
        c.eat(b' ').then_some(())?;
        stamp.day = c.positive_int(2)?;
        c.eat(b' ').then_some(())?;
        hms(&mut c, &mut stamp)?;
        c.eat(b' ').then_some(())?;
        stamp.year = Some(c.positive_int(4)?);
    } else if is_bsd {
        c.eat(b' ').then_some(())?;
        stamp.day = c.positive_int(2)?;
        c.eat(b' ').then_some(())?;
        hms(&mut c, &mut stamp)?;
        scan_fraction(&mut c, &mut stamp);
    } else {
        return None;
    }
    *cur = c;
    Some(stamp)
}

fn scan_fraction<'a>(cur: &mut Cursor<'a>, stamp: &mut Timestamp<'a>) {
    if !matches!(cur.peek(), Some(b'.' | b',')) {
        return;
    }
    cur.pos += 1;
    let start = cur.pos;
    while cur.peek().is_some_and(|c| c.is_ascii_digit()) {
        cur.pos += 1;
    }
    stamp.fraction = &cur.data[start..cur.pos];
    let mut usec = 0u32;
    for i in 0..6 {
        usec = usec * 10 + stamp.fraction.get(i).map_or(0, |d| u32::from(d - b'0'));
    }
    stamp.usec = usec;
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+hh:mm]`; each number may have leading spaces.
pub(super) fn scan_iso_stamp<'a>(cur: &mut Cursor<'a>) -> Option<Timestamp<'a>> {
    let mut c = *cur;
    let year = c.positive_int(4)?;
    c.eat(b'-').then_some(())?;
    let month = c.positive_int(2)?;
    c.eat(b'-').then_some(())?;
    let day = c.positive_int(2)?;
    if !(c.eat(b'T') || c.eat(b' ')) {
        return None;
    }
    let hour = c.positive_int(2)?;
    c.eat(b':').then_some(())?;
    let minute = c.positive_int(2)?;
    c.eat(b':').then_some(())?;
    let second = c.positive_int(2)?;
    let mut stamp = Timestamp {
        format: TimestampFormat::Iso,
        year: Some(year),
        month,
        day,
        hour,
        minute,
        second,
        fraction: b"",
        usec: 0,
        offset: None,
    };
    scan_fraction(&mut c, &mut stamp);
    if c.eat(b'Z') {
        stamp.offset = Some(0);
    } else {
        let s = c.rest();
        let d = |i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
        if s.len() >= 6 && matches!(s[0], b'+' | b'-') && d(1) && d(2) && s[3] == b':' && d(4) && d(5) && !d(6) {
            let num = |i: usize| i32::from(s[i] - b'0');
            let secs = (num(1) * 10 + num(2)) * 3600 + (num(4) * 10 + num(5)) * 60;
            stamp.offset = Some(if s[0] == b'-' { -secs } else { secs });
            c.pos += 6;
        }
    }
    *cur = c;
    Some(stamp)
}

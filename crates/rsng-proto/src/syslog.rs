//! Parsing one syslog message the way syslog-ng 3.38's `syslog` format does.
//!
//! [`parse`] takes the bytes of one message (a line, a frame or a datagram)
//! and returns a [`ParsedMessage`] whose fields are slices of the input. The
//! rules follow syslog-ng rather than the RFCs wherever the two differ; the
//! surprising ones are noted on the items below.
//!
//! * Trailing `\n` and NUL bytes are removed before parsing (a `\r` is kept).
//! * RFC 3164 is the default. With [`ParseFlags::syslog_protocol`] the message
//!   is read as RFC 5424 when it starts with `<PRI>1 ` (or just `1 `); any
//!   other start falls back to RFC 3164 unless
//!   [`ParseFlags::no_rfc3164_fallback`] is set.
//! * A message syslog-ng rejects (a non-numeric PRI, a broken RFC 5424 header
//!   or structured data) gives a [`ParseError`]; syslog-ng then logs the
//!   message as `syslog.err` from program `syslog-ng` with the text built by
//!   [`ParseError::error_text`].

use std::borrow::Cow;
use std::fmt;

/// `user.notice`, the priority of a message without `<PRI>`.
pub const DEFAULT_PRI: u16 = 8 + 5;
/// `kern.notice`, the default priority of sources with `flags(kernel)`.
pub const KERNEL_DEFAULT_PRI: u16 = 5;
/// `syslog.err`, the priority syslog-ng gives to messages it could not parse.
pub const PARSE_ERROR_PRI: u16 = 5 * 8 + 3;

const BOM: &[u8] = b"\xEF\xBB\xBF";
const AIX_FORWARDED: &[u8] = b"Message forwarded from ";
const LAST_MESSAGE_REPEATED: &[u8] = b"last message repeated";

/// The parser flags of a source's `flags()` option (those that change how a
/// message is parsed), plus the ones syslog-ng derives from other options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseFlags {
    /// `no-parse`: the whole line is the message, with the default priority.
    pub no_parse: bool,
    /// `check-hostname`: a hostname may only contain `[A-Za-z0-9._:@/-]`.
    pub check_hostname: bool,
    /// `syslog-protocol`: RFC 5424 (with RFC 3164 fallback).
    pub syslog_protocol: bool,
    /// `no-rfc3164-fallback`: with `syslog-protocol`, reject non-RFC 5424 input.
    pub no_rfc3164_fallback: bool,
    /// `assume-utf8`: mark every message as UTF-8.
    pub assume_utf8: bool,
    /// `validate-utf8`: mark the message as UTF-8 when it is.
    pub validate_utf8: bool,
    /// `sanitize-utf8` (RFC 3164 only): escape invalid UTF-8 and control characters.
    pub sanitize_utf8: bool,
    /// `no-multi-line`: CR, LF and NUL in the message become spaces.
    pub no_multi_line: bool,
    /// `store-legacy-msghdr` (default) / `dont-store-legacy-msghdr`.
    pub store_legacy_msghdr: bool,
    /// `expect-hostname` (default) / `no-hostname`: an RFC 3164 header has a hostname.
    pub expect_hostname: bool,
    /// `no-header`: only `<PRI>` is parsed, the rest is the message.
    pub no_header: bool,
    /// Set for local sources (`unix-*`, `file()`, `program()`): a kernel message
    /// without timestamp gets program `kernel`.
    pub local: bool,
    /// `keep-timestamp(no)`: the timestamp is skipped, not used (the
    /// clock-sync marks of Cisco stamps are then not stored either).
    pub no_parse_date: bool,
    /// `flags(kernel)`: the default priority is `kern.notice`.
    pub kernel: bool,
}

impl Default for ParseFlags {
    fn default() -> Self {
        ParseFlags {
            no_parse: false,
            check_hostname: false,
            syslog_protocol: false,
            no_rfc3164_fallback: false,
            assume_utf8: false,
            validate_utf8: false,
            sanitize_utf8: false,
            no_multi_line: false,
            store_legacy_msghdr: true,
            expect_hostname: true,
            no_header: false,
            local: false,
            no_parse_date: false,
            kernel: false,
        }
    }
}

impl ParseFlags {
    /// Applies one name of a source's `flags()` option (`-` and `_` are the
    /// same). Returns `false` for names that are not parser flags (including
    /// reader flags such as `empty-lines`, which do not change parsing).
    pub fn apply(&mut self, name: &str) -> bool {
        let name = name.replace('_', "-");
        match name.as_str() {
            "no-parse" => self.no_parse = true,
            "check-hostname" => self.check_hostname = true,
            "syslog-protocol" => self.syslog_protocol = true,
            "no-rfc3164-fallback" => self.no_rfc3164_fallback = true,
            "assume-utf8" => self.assume_utf8 = true,
            "validate-utf8" => self.validate_utf8 = true,
            "sanitize-utf8" => self.sanitize_utf8 = true,
            "no-multi-line" => self.no_multi_line = true,
            "store-legacy-msghdr" => self.store_legacy_msghdr = true,
            "dont-store-legacy-msghdr" => self.store_legacy_msghdr = false,
            "expect-hostname" => self.expect_hostname = true,
            "no-hostname" => self.expect_hostname = false,
            "no-header" => self.no_header = true,
            "kernel" => self.kernel = true,
            _ => return false,
        }
        true
    }
}

/// How to parse: the flags and the source's `default-priority()`/`default-facility()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseOptions {
    pub flags: ParseFlags,
    /// The priority of a message without `<PRI>`; `None` means `user.notice`
    /// (`kern.notice` with [`ParseFlags::kernel`]).
    pub default_pri: Option<u16>,
}

impl ParseOptions {
    /// Options with the given flags and the default priority.
    pub fn with_flags(flags: ParseFlags) -> Self {
        ParseOptions { flags, default_pri: None }
    }

    fn default_pri(&self) -> u16 {
        match self.default_pri {
            Some(pri) => pri,
            None if self.flags.kernel => KERNEL_DEFAULT_PRI,
            None => DEFAULT_PRI,
        }
    }
}

/// A priority value as syslog-ng stores it: 16 bits, not range checked.
///
/// `<999>` is kept as 999 (facility 124, severity 7); longer numbers wrap
/// like syslog-ng's C `int` and are then cut to 16 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Priority(pub u16);

impl Priority {
    /// `$FACILITY_NUM`.
    pub fn facility(self) -> u16 {
        (self.0 & 0x03f8) >> 3
    }

    /// `$SEVERITY_NUM`.
    pub fn severity(self) -> u16 {
        self.0 & 7
    }
}

/// Which grammar produced a [`ParsedMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Rfc3164,
    Rfc5424,
    /// `flags(no-parse)`.
    NoParse,
}

/// Which notation a timestamp was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    /// `Jan  2 03:04:05[.frac]`: no year.
    Bsd,
    /// `YYYY-MM-DDTHH:MM:SS[.frac][Z|+hh:mm]` (also with a space instead of `T`).
    Iso,
    /// Cisco PIX/ASA `Jan 02 2024 03:04:05`.
    Pix,
    /// LinkSys `Jan 02 03:04:05 2024`.
    Linksys,
}

/// A timestamp as written in the message, not validated or normalised.
///
/// syslog-ng turns it into a point in time with `mktime`-like normalisation
/// (day 32 is the next month's first day, hour 24 the next day), a missing
/// year is guessed (the current year; last year for December stamps in
/// January, next year for January stamps in December), and a missing zone is
/// the source's `time-zone()` (default: local time).
///
/// One quirk of 3.38's conversion: after `mktime` normalises the fields, it
/// subtracts `(normalised hour - written hour)` hours (meant to undo DST
/// shifts), so an overflowing hour such as `Jan 32 25:61:61` ends up on
/// `Feb  3 01:02:01` rather than `Feb  2 02:02:01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp<'a> {
    pub format: TimestampFormat,
    /// The year, when written.
    pub year: Option<u32>,
    /// 1-based month as written (ISO stamps may say 0 or 99).
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// The digits after `.` or `,`, possibly empty.
    pub fraction: &'a [u8],
    /// Microseconds from the first six fraction digits (syslog-ng ignores the others).
    pub usec: u32,
    /// Zone offset in seconds east of UTC, when written (`Z` is 0).
    pub offset: Option<i32>,
}

/// Where the message's timestamp came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp<'a> {
    /// The message had none: syslog-ng uses the time of reception.
    None,
    /// RFC 5424 nil timestamp `-`: syslog-ng uses the current time.
    Nil,
    Parsed(Timestamp<'a>),
}

/// A message parsed by [`parse`]. All byte fields are slices of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMessage<'a> {
    pub syntax: Syntax,
    pub pri: Priority,
    /// Whether the input started with `<`.
    pub pri_present: bool,
    pub stamp: Stamp<'a>,
    /// `$HOST` when the message carried one. When it is `None` or empty (RFC 5424
    /// allows an empty field), syslog-ng uses the sender's name or address.
    pub host: Option<&'a [u8]>,
    /// `$PROGRAM`, empty when there was none.
    pub program: &'a [u8],
    pub pid: Option<&'a [u8]>,
    pub msgid: Option<&'a [u8]>,
    /// `$LEGACY_MSGHDR`: the RFC 3164 `program[pid]: ` as written.
    pub legacy_msghdr: Option<&'a [u8]>,
    /// The RFC 5424 structured data as written (validated), without the
    /// separating spaces; empty for `-` and RFC 3164. See [`Self::sd_elements`].
    pub structured_data: &'a [u8],
    /// A Cisco sequence number (`<PRI>123: ...`), stored by syslog-ng as
    /// `.SDATA.meta.sequenceId`.
    pub cisco_sequence_id: Option<&'a [u8]>,
    /// Cisco clock-sync mark before the timestamp: `*` unsynced (false), `.`
    /// synced (true); stored as `.SDATA.timeQuality.isSynced`.
    pub time_synced: Option<bool>,
    /// `$MSG` as in the input; see [`Self::message_text`] for what syslog-ng stores.
    pub message: &'a [u8],
    /// The message is flagged as UTF-8 (BOM, `assume-utf8`, `validate-utf8`, `sanitize-utf8`).
    pub utf8: bool,
    flags: ParseFlags,
}

impl<'a> ParsedMessage<'a> {
    fn empty(syntax: Syntax, pri: Priority, flags: ParseFlags) -> Self {
        ParsedMessage {
            syntax,
            pri,
            pri_present: false,
            stamp: Stamp::None,
            host: None,
            program: b"",
            pid: None,
            msgid: None,
            legacy_msghdr: None,
            structured_data: b"",
            cisco_sequence_id: None,
            time_synced: None,
            message: b"",
            utf8: false,
            flags,
        }
    }

    /// `$MSG` as syslog-ng stores it: [`Self::message`] with `sanitize-utf8`
    /// escaping (RFC 3164 only) and `no-multi-line` applied. Borrowed unless
    /// one of them changed something.
    pub fn message_text(&self) -> Cow<'a, [u8]> {
        let mut text = Cow::Borrowed(self.message);
        if self.flags.sanitize_utf8 && self.syntax == Syntax::Rfc3164 && !is_glib_valid_utf8(self.message) {
            text = Cow::Owned(sanitize_utf8(self.message));
        }
        if self.flags.no_multi_line {
            flatten_lines(&mut text);
        }
        text
    }

    /// The structured data elements, in input order.
    pub fn sd_elements(&self) -> SdElements<'a> {
        SdElements { rest: self.structured_data }
    }
}

/// A message syslog-ng rejects. syslog-ng logs instead a `syslog.err`
/// message from program `syslog-ng` (its own PID), with an empty host, the
/// reception time and the text of [`ParseError::error_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the problem (0 when syslog-ng does not say).
    pub position: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error processing log message at byte {}", self.position)
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// The `$MSG` syslog-ng gives the replacement message:
    /// `Error processing log message: <input>`, with `>@<` inserted before the
    /// byte preceding [`Self::position`]. Each half stops at a NUL byte (C
    /// `printf` semantics). `no-multi-line` applies to this text too.
    pub fn error_text(&self, input: &[u8], flags: &ParseFlags) -> Vec<u8> {
        let input = rstrip(input);
        let upto_nul = |s: &[u8]| -> usize { s.iter().position(|&b| b == 0).unwrap_or(s.len()) };
        let mut text = b"Error processing log message: ".to_vec();
        if self.position > 0 {
            let split = (self.position - 1).min(input.len());
            let (head, tail) = input.split_at(split);
            text.extend_from_slice(&head[..upto_nul(head)]);
            text.extend_from_slice(b">@<");
            text.extend_from_slice(&tail[..upto_nul(tail)]);
        } else {
            text.extend_from_slice(&input[..upto_nul(input)]);
        }
        if flags.no_multi_line {
            for b in &mut text {
                if matches!(*b, b'\r' | b'\n' | 0) {
                    *b = b' ';
                }
            }
        }
        text
    }
}

/// Parses one message. `input` may end with newlines or NULs (removed).
pub fn parse<'a>(input: &'a [u8], options: &ParseOptions) -> Result<ParsedMessage<'a>, ParseError> {
    let data = rstrip(input);
    let flags = options.flags;
    if flags.no_parse {
        let mut msg = ParsedMessage::empty(Syntax::NoParse, Priority(options.default_pri()), flags);
        msg.message = data;
        msg.utf8 = flags.assume_utf8;
        return Ok(msg);
    }
    let mut msg = if flags.syslog_protocol { parse_rfc5424(data, options)? } else { parse_rfc3164(data, options)? };
    if flags.assume_utf8 {
        msg.utf8 = true;
    }
    Ok(msg)
}

/// Removes trailing `\n` and NUL bytes, as syslog-ng does before parsing.
pub fn rstrip(data: &[u8]) -> &[u8] {
    let mut end = data.len();
    while end > 0 && matches!(data[end - 1], b'\n' | 0) {
        end -= 1;
    }
    &data[..end]
}

/// A cursor over the input.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.eat(b' ') {}
    }

    /// syslog-ng's `scan_positive_int`: exactly `width` characters, leading
    /// spaces then digits.
    fn positive_int(&mut self, width: usize) -> Option<u32> {
        let start = self.pos;
        let mut left = width;
        while left > 0 && self.peek() == Some(b' ') {
            self.pos += 1;
            left -= 1;
        }
        let mut value: u32 = 0;
        while left > 0 {
            match self.peek() {
                Some(c @ b'0'..=b'9') => {
                    value = value.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
                    self.pos += 1;
                    left -= 1;
                }
                _ => break,
            }
        }
        if left != 0 {
            self.pos = start;
            return None;
        }
        Some(value)
    }
}

/// `<PRI>`: `Ok(None)` when absent; `Err` when a non-digit precedes `>`.
fn parse_pri(cur: &mut Cursor<'_>) -> Result<Option<u16>, ()> {
    if !cur.eat(b'<') {
        return Ok(None);
    }
    let mut pri: i32 = 0;
    while let Some(c) = cur.peek() {
        if c == b'>' {
            cur.pos += 1;
            break;
        }
        if !c.is_ascii_digit() {
            return Err(());
        }
        pri = pri.wrapping_mul(10).wrapping_add(i32::from(c - b'0'));
        cur.pos += 1;
    }
    Ok(Some(pri as u16))
}

fn parse_rfc3164<'a>(data: &'a [u8], options: &ParseOptions) -> Result<ParsedMessage<'a>, ParseError> {
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
fn parse_hostname<'a>(cur: &mut Cursor<'a>, flags: &ParseFlags) -> Option<&'a [u8]> {
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
fn scan_iso_stamp<'a>(cur: &mut Cursor<'a>) -> Option<Timestamp<'a>> {
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

fn parse_rfc5424<'a>(data: &'a [u8], options: &ParseOptions) -> Result<ParsedMessage<'a>, ParseError> {
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
    rest: &'a [u8],
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

/// UTF-8 as GLib's `g_utf8_validate` sees it: a NUL byte is invalid.
pub fn is_glib_valid_utf8(s: &[u8]) -> bool {
    !s.contains(&0) && std::str::from_utf8(s).is_ok()
}

/// syslog-ng's `sanitize-utf8` escaping: invalid bytes and control
/// characters become `\xNN` (`\b \f \n \r \t` by name), `\` becomes `\\`.
pub fn sanitize_utf8(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 16);
    let mut rest = s;
    while !rest.is_empty() {
        let valid = match std::str::from_utf8(rest) {
            Ok(v) => v,
            Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
        };
        for ch in valid.chars() {
            match ch {
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\\' => out.extend_from_slice(b"\\\\"),
                c if (c as u32) < 32 => out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes()),
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        rest = &rest[valid.len()..];
        if let Some((&bad, tail)) = rest.split_first() {
            out.extend_from_slice(format!("\\x{bad:02x}").as_bytes());
            rest = tail;
        }
    }
    out
}

/// `no-multi-line`: CR, LF and NUL become spaces.
fn flatten_lines(text: &mut Cow<'_, [u8]>) {
    if text.iter().any(|&c| matches!(c, b'\r' | b'\n' | 0)) {
        for c in text.to_mut().iter_mut() {
            if matches!(*c, b'\r' | b'\n' | 0) {
                *c = b' ';
            }
        }
    }
}

#[cfg(test)]
mod tests;

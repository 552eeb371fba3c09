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

mod rfc3164;
mod rfc5424;
mod utf8;

use rfc3164::{parse_hostname, parse_rfc3164, scan_iso_stamp};
use rfc5424::parse_rfc5424;
pub use rfc5424::{SdElement, SdElements, SdParam, SdParams};
pub use utf8::{is_glib_valid_utf8, sanitize_utf8};

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

//! Cutting received bytes into messages the way syslog-ng 3.38's transports do.
//!
//! The splitters are incremental and own no buffer: the caller keeps the
//! unconsumed bytes and calls `decode` with them (and `eof = true` once the
//! peer has closed); each call returns at most one [`Decoded`] item, whose
//! `consumed` count the caller removes from the front of its buffer.
//!
//! * [`TextSplitter`] (`network()`/`tcp()` streams): a message ends at `\n` or a NUL byte
//!   (at `\n` only with `transport("text-with-nuls")`, which keeps NULs inside messages);
//!   trailing `\r`, `\n` and NUL bytes are removed. syslog-ng reads into a
//!   buffer of `log-msg-size()` bytes, so a line that does not fit is cut into
//!   `log-msg-size()`-byte pieces, each delivered as a message
//!   (`trim-large-messages()` does not apply to this framing in 3.38). A last
//!   line without `\n` is delivered at EOF. Empty messages are returned too;
//!   syslog-ng's reader drops them unless `flags(empty-lines)`.
//! * [`OctetCountedSplitter`] (`syslog()` streams, `transport("framed")`):
//!   RFC 6587 `LEN SP MSG`, at most 10 digits (counted modulo 2^32 like
//!   syslog-ng); anything else is "Invalid frame header"; a frame longer than
//!   `log-msg-size()` is an error, or with `trim-large-messages(yes)` its
//!   first `log-msg-size()` bytes are delivered and the rest skipped. The
//!   message is not stripped (the parser strips trailing `\n`/NUL).
//! * [`datagram`]: one message per datagram, cut to `log-msg-size()`;
//!   trailing `\n`/NUL are removed by the parser.

/// One step of a splitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A message, and how many bytes of the input it used up.
    Frame { message: &'a [u8], consumed: usize },
    /// Bytes that belong to a trimmed frame and are thrown away.
    Skip { consumed: usize },
    /// No complete message yet; call again with more data (nothing consumed).
    NeedMore,
}

/// Why a connection has to be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The octet count is not 1-10 digits followed by a space.
    #[error("Invalid frame header; header='{}'", String::from_utf8_lossy(.header))]
    InvalidFrameHeader { header: Vec<u8> },
    /// The octet count exceeds `log-msg-size()` and trimming is off.
    #[error("Incoming frame larger than log_msg_size(); log_msg_size='{max_msg_size}', frame_length='{frame_len}'")]
    FrameTooLarge { frame_len: u32, max_msg_size: usize },
}

/// Removes trailing `\r`, `\n` and NUL bytes, as syslog-ng's text framing does.
fn strip_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b'\n' | 0) {
        end -= 1;
    }
    &line[..end]
}

/// Newline framing; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct TextSplitter {
    max_msg_size: usize,
    /// `transport("text-with-nuls")`: only `\n` ends a message.
    nuls: bool,
}

impl TextSplitter {
    /// `max_msg_size` is the source's `log-msg-size()` (at least 1).
    pub fn new(max_msg_size: usize) -> Self {
        TextSplitter { max_msg_size: max_msg_size.max(1), nuls: false }
    }

    /// `transport("text-with-nuls")`: NUL bytes stay inside messages.
    pub fn with_nuls(max_msg_size: usize) -> Self {
        TextSplitter { max_msg_size: max_msg_size.max(1), nuls: true }
    }

    pub fn decode<'a>(&mut self, buf: &'a [u8], eof: bool) -> Result<Decoded<'a>, FramingError> {
        let window = &buf[..buf.len().min(self.max_msg_size)];
        // A NUL ends a message too, except with `text-with-nuls`.
        let end = if self.nuls { memchr::memchr(b'\n', window) } else { memchr::memchr2(b'\n', 0, window) };
        if let Some(nl) = end {
            return Ok(Decoded::Frame { message: strip_line_end(&window[..nl]), consumed: nl + 1 });
        }
        if window.len() >= self.max_msg_size || (eof && !window.is_empty()) {
            return Ok(Decoded::Frame { message: strip_line_end(window), consumed: window.len() });
        }
        Ok(Decoded::NeedMore)
    }
}

/// The longest octet count syslog-ng reads.
pub const MAX_FRAME_LEN_DIGITS: usize = 10;

/// RFC 6587 octet counting; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct OctetCountedSplitter {
    max_msg_size: usize,
    trim_large_messages: bool,
    /// Bytes of a trimmed frame still to be skipped.
    to_skip: u64,
}

impl OctetCountedSplitter {
    pub fn new(max_msg_size: usize, trim_large_messages: bool) -> Self {
        OctetCountedSplitter { max_msg_size, trim_large_messages, to_skip: 0 }
    }

    pub fn decode<'a>(&mut self, buf: &'a [u8], _eof: bool) -> Result<Decoded<'a>, FramingError> {
        if self.to_skip > 0 {
            if buf.is_empty() {
                return Ok(Decoded::NeedMore);
            }
            let n = (buf.len() as u64).min(self.to_skip);
            self.to_skip -= n;
            return Ok(Decoded::Skip { consumed: n as usize });
        }
        let mut frame_len: u32 = 0;
        let mut header_len = None;
        for (i, &c) in buf.iter().enumerate() {
            if c.is_ascii_digit() && i < MAX_FRAME_LEN_DIGITS {
                frame_len = frame_len.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
            } else if c == b' ' {
                header_len = Some(i + 1);
                break;
            } else {
                return Err(FramingError::InvalidFrameHeader { header: buf[..i].to_vec() });
            }
        }
        let Some(header_len) = header_len else {
            return Ok(Decoded::NeedMore);
        };
        let body = &buf[header_len..];
        let len = frame_len as usize;
        if len > self.max_msg_size {
            if !self.trim_large_messages {
                return Err(FramingError::FrameTooLarge { frame_len, max_msg_size: self.max_msg_size });
            }
            if body.len() < self.max_msg_size {
                return Ok(Decoded::NeedMore);
            }
            self.to_skip = (len - self.max_msg_size) as u64;
            return Ok(Decoded::Frame {
                message: &body[..self.max_msg_size],
                consumed: header_len + self.max_msg_size,
            });
        }
        if body.len() < len {
            return Ok(Decoded::NeedMore);
        }
        Ok(Decoded::Frame { message: &body[..len], consumed: header_len + len })
    }
}

/// One datagram as syslog-ng receives it: at most `max_msg_size` bytes.
pub fn datagram(payload: &[u8], max_msg_size: usize) -> &[u8] {
    &payload[..payload.len().min(max_msg_size)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_text(input: &[u8], max: usize) -> Vec<Vec<u8>> {
        let mut s = TextSplitter::new(max);
        let mut rest = input;
        let mut out = Vec::new();
        loop {
            match s.decode(rest, true).unwrap() {
                Decoded::Frame { message, consumed } => {
                    out.push(message.to_vec());
                    rest = &rest[consumed..];
                }
                Decoded::Skip { consumed } => rest = &rest[consumed..],
                Decoded::NeedMore => return out,
            }
        }
    }

    #[test]
    fn text_lines_crlf_nul_and_eof() {
        // A NUL ends a message like `\n`; the `\r\n` after it is an empty line of its own.
        let got = all_text(b"a\nb\r\nc\0\r\n\nlast", 100);
        let want: Vec<Vec<u8>> = vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), vec![], vec![], b"last".to_vec()];
        assert_eq!(got, want);
    }

    #[test]
    fn text_with_nuls_ends_messages_at_newline_only() {
        let mut s = TextSplitter::with_nuls(100);
        let input = b"a\0b\0\r\nc\0";
        assert_eq!(s.decode(input, false).unwrap(), Decoded::Frame { message: b"a\0b", consumed: 6 });
        assert_eq!(s.decode(&input[6..], false).unwrap(), Decoded::NeedMore);
        assert_eq!(s.decode(&input[6..], true).unwrap(), Decoded::Frame { message: b"c", consumed: 2 });
    }

    #[test]
    fn text_needs_more_without_eof() {
        let mut s = TextSplitter::new(100);
        assert_eq!(s.decode(b"partial", false).unwrap(), Decoded::NeedMore);
        assert_eq!(s.decode(b"", true).unwrap(), Decoded::NeedMore);
    }

    #[test]
    fn text_long_line_is_split_at_log_msg_size() {
        let got = all_text(b"0123456789abc\nxy\n", 5);
        assert_eq!(got, vec![b"01234".to_vec(), b"56789".to_vec(), b"abc".to_vec(), b"xy".to_vec()]);
        // a line of exactly log-msg-size bytes leaves its newline as an empty line
        let got = all_text(b"01234\nx\n", 5);
        assert_eq!(got, vec![b"01234".to_vec(), b"".to_vec(), b"x".to_vec()]);
    }

    #[test]
    fn octet_counted_frames() {
        let mut s = OctetCountedSplitter::new(100, false);
        assert_eq!(s.decode(b"5 hel", false).unwrap(), Decoded::NeedMore);
        assert_eq!(s.decode(b"12", false).unwrap(), Decoded::NeedMore);
        assert_eq!(s.decode(b"5 hello\n3 abc", false).unwrap(), Decoded::Frame { message: b"hello", consumed: 7 });
        assert_eq!(s.decode(b"0 ", false).unwrap(), Decoded::Frame { message: b"", consumed: 2 });
    }

    #[test]
    fn octet_counted_errors() {
        let mut s = OctetCountedSplitter::new(100, false);
        let err = s.decode(b"<13>hello\n", false).unwrap_err();
        assert_eq!(err, FramingError::InvalidFrameHeader { header: b"".to_vec() });
        assert_eq!(err.to_string(), "Invalid frame header; header=''");
        let err = s.decode(b"12x 3", false).unwrap_err();
        assert_eq!(err, FramingError::InvalidFrameHeader { header: b"12".to_vec() });
        let err = s.decode(b"12345678901 x", false).unwrap_err();
        assert_eq!(err, FramingError::InvalidFrameHeader { header: b"1234567890".to_vec() });
        let err = s.decode(b"101 x", false).unwrap_err();
        assert_eq!(err, FramingError::FrameTooLarge { frame_len: 101, max_msg_size: 100 });
    }

    #[test]
    fn octet_counted_trim() {
        let mut s = OctetCountedSplitter::new(4, true);
        let input = b"10 0123456789";
        assert_eq!(s.decode(&input[..5], false).unwrap(), Decoded::NeedMore);
        let Decoded::Frame { message, consumed } = s.decode(input, false).unwrap() else { panic!() };
        assert_eq!((message, consumed), (&b"0123"[..], 7));
        assert_eq!(s.decode(&input[7..9], false).unwrap(), Decoded::Skip { consumed: 2 });
        assert_eq!(s.decode(&input[9..], false).unwrap(), Decoded::Skip { consumed: 4 });
        assert_eq!(s.decode(b"1 x", false).unwrap(), Decoded::Frame { message: b"x", consumed: 3 });
    }

    #[test]
    fn datagram_truncates() {
        assert_eq!(datagram(b"abcdef", 4), b"abcd");
        assert_eq!(datagram(b"ab\n", 4), b"ab\n");
    }
}

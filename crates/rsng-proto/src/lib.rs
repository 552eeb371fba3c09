//! Wire formats of rsng, the syslog-ng compatible logging daemon: parsing one
//! syslog message the way syslog-ng 3.38's `syslog` format does, and cutting a
//! byte stream into messages the way its text, octet-counting (RFC 6587) and
//! datagram transports do.
//!
//! Everything here is synchronous, allocation-free on the hot path and does no
//! I/O; it works on byte slices (input may be invalid UTF-8) and returns
//! slices of the input.
//!
//! ```
//! use rsng_proto::syslog::{parse, ParseOptions};
//!
//! let input = b"<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed\n";
//! let msg = parse(input, &ParseOptions::default()).unwrap();
//! assert_eq!(msg.pri.facility(), 4);
//! assert_eq!(msg.pri.severity(), 2);
//! assert_eq!(msg.host, Some(&b"mymachine"[..]));
//! assert_eq!(msg.program, b"su");
//! assert_eq!(msg.pid, Some(&b"123"[..]));
//! assert_eq!(msg.legacy_msghdr, Some(&b"su[123]: "[..]));
//! assert_eq!(msg.message, b"'su root' failed");
//!
//! use rsng_proto::framing::{Decoded, OctetCountedSplitter};
//! let mut splitter = OctetCountedSplitter::new(65536, false);
//! match splitter.decode(b"5 hello6 world!", false).unwrap() {
//!     Decoded::Frame { message, consumed } => assert_eq!((message, consumed), (&b"hello"[..], 7)),
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! # What is covered
//!
//! * [`syslog`]: `<PRI>` (missing, non-numeric, out of range), RFC 3164 headers
//!   with every timestamp form syslog-ng 3.38 recognises (BSD `Jan  2 03:04:05`
//!   with optional fraction, ISO 8601, Cisco PIX/ASA `Jan 02 2024 03:04:05:`,
//!   LinkSys `Jan 02 03:04:05 2024`, the `*`/`.` clock-sync marks and the
//!   `123: ` Cisco sequence number), hostnames (with the IPv6 heuristic,
//!   `check-hostname`, `expect-hostname`/`no-hostname`, the AIX "Message
//!   forwarded from" form and "last message repeated"), `program[pid]: `
//!   headers and `$LEGACY_MSGHDR`; RFC 5424 with nil values, structured data
//!   (escapes are kept raw and unescaped lazily), BOM and fractional seconds;
//!   the fallback from RFC 5424 to RFC 3164; the `no-parse`, `no-header`,
//!   `no-multi-line`, `sanitize-utf8`/`validate-utf8`/`assume-utf8` and
//!   `kernel` flags; syslog-ng's "Error processing log message" text for
//!   messages it rejects.
//! * [`framing`]: newline framing with syslog-ng's `log-msg-size()` splitting,
//!   octet counting with "Invalid frame header", "Incoming frame larger than
//!   log_msg_size()" and `trim-large-messages()`, and datagram truncation.
//!
//! Not covered here: the `bad-hostname()` regular expression (callers filter
//! the parsed host), receive time zones and year guessing (the timestamp is
//! returned as written; [`syslog::Timestamp`] documents how syslog-ng fills in
//! the rest), and character-set conversion (`encoding()`).

#![forbid(unsafe_code)]

pub mod framing;
pub mod syslog;

#[cfg(test)]
mod fuzz_tests;

//! `syslog-parser()`: parses the input (default `$MSG`) as a syslog message into the message
//! itself, as syslog-ng 3.38's `msg_format_parse_into` does (`modules/syslogformat/`), with
//! rsng-proto's parser.
//!
//! Parsing into an existing message changes only what the input carries: `PRI` always (the
//! default priority when there is none), the timestamp (the receive time when an RFC 3164 header
//! has none), `HOST`, `PROGRAM`, `PID`, `MSGID`, `LEGACY_MSGHDR` and structured data when present,
//! and `MESSAGE`. Everything else stays.
//!
//! Input syslog-ng rejects makes the parser fail with `drop-invalid(yes)`. Otherwise the message
//! is replaced by syslog-ng's error message: values and tags are cleared, `PRI` is `syslog.err`,
//! `PROGRAM` is `syslog-ng` with this process's `PID`, `HOST` is empty and `MESSAGE` is
//! `Error processing log message: <input>`. Like syslog-ng, the sender's name (`HOST_FROM`), the
//! source name and address are cleared too, and the message becomes local.

use jiff::tz::TimeZone;
use rsng_proto::syslog::{parse, rstrip, ParseOptions, Stamp, Syntax, PARSE_ERROR_PRI};

use crate::message::{resolve_timestamp, zone_offset, LogMessage};
use crate::parser::date::guess_zone;
use crate::parser::nv;
use crate::parser::scratch::ScratchString;

/// `syslog-parser()`.
#[derive(Debug, Clone)]
pub struct SyslogParser {
    /// The parse options, always storing `LEGACY_MSGHDR` (which tells whether a program name was
    /// parsed); `store_legacy_msghdr` says whether it is kept.
    options: ParseOptions,
    store_legacy_msghdr: bool,
    store_raw_message: bool,
    /// `flags(guess-timezone)`: a stamp within a day of the receive time and off by whole
    /// quarter hours is taken to be in the wrong zone and corrected.
    guess_timezone: bool,
    drop_invalid: bool,
    /// `time-zone()` (else the global `recv-time-zone()`): the zone of stamps without one.
    time_zone: Option<TimeZone>,
    /// The zone used when there is none of the above (the process's local zone).
    local: TimeZone,
}

impl SyslogParser {
    pub fn new(
        options: ParseOptions,
        store_raw_message: bool,
        guess_timezone: bool,
        drop_invalid: bool,
        time_zone: Option<TimeZone>,
        local: TimeZone,
    ) -> SyslogParser {
        let store_legacy_msghdr = options.flags.store_legacy_msghdr;
        let mut options = options;
        options.flags.store_legacy_msghdr = true;
        SyslogParser { options, store_legacy_msghdr, store_raw_message, guess_timezone, drop_invalid, time_zone, local }
    }

    pub fn parse(&self, msg: &mut LogMessage, input: &[u8]) -> bool {
        if self.store_raw_message {
            msg.set_value("RAWMSG", rstrip(input));
        }
        match parse(input, &self.options) {
            Ok(p) => {
                self.apply(msg, &p);
                true
            }
            Err(_) if self.drop_invalid => false,
            Err(e) => {
                let mut user = self.options.flags;
                user.store_legacy_msghdr = self.store_legacy_msghdr;
                inject_parse_error(msg, &e.error_text(input, &user));
                true
            }
        }
    }

    fn apply(&self, msg: &mut LogMessage, p: &rsng_proto::syslog::ParsedMessage<'_>) {
        if p.syntax == Syntax::NoParse {
            // syslog-ng's parser has no default priority of its own (0xFFFF) unless one is set.
            msg.set_pri(self.options.default_pri.unwrap_or(0xffff));
            msg.set_value("MESSAGE", &p.message_text());
            return;
        }
        msg.set_pri(p.pri.0);
        if p.syntax == Syntax::Rfc5424 || !self.options.flags.no_header {
            let recvd = msg.received();
            let stamp = match &p.stamp {
                Stamp::Parsed(t) => {
                    // syslog-ng takes the receive zone's offset at the time of receipt.
                    let mut t = *t;
                    if let (None, Some(tz)) = (t.offset, &self.time_zone) {
                        t.offset = Some(zone_offset(tz, recvd.sec));
                    }
                    let mut s = resolve_timestamp(&t, &self.local, &recvd);
                    if self.guess_timezone {
                        guess_zone(&mut s, recvd.sec);
                    }
                    s
                }
                Stamp::None | Stamp::Nil => {
                    let mut s = recvd;
                    if let Some(tz) = &self.time_zone {
                        s.gmtoff = zone_offset(tz, s.sec);
                    }
                    s
                }
            };
            msg.set_stamp(stamp);
        }
        if let Some(seq) = p.cisco_sequence_id {
            msg.set_value(".SDATA.meta.sequenceId", seq);
        }
        if let Some(synced) = p.time_synced {
            msg.set_value(".SDATA.timeQuality.isSynced", if synced { b"1" } else { b"0" });
        }
        if let Some(host) = p.host {
            msg.set_value("HOST", host);
        }
        let program_parsed = match p.syntax {
            Syntax::Rfc3164 => p.legacy_msghdr.is_some() || !p.program.is_empty(),
            _ => !p.program.is_empty(),
        };
        if program_parsed {
            nv::set(msg, "PROGRAM", p.program);
        }
        if let Some(pid) = p.pid {
            nv::set(msg, "PID", pid);
        }
        if let Some(msgid) = p.msgid {
            msg.set_value("MSGID", msgid);
        }
        if self.store_legacy_msghdr {
            if let Some(hdr) = p.legacy_msghdr {
                msg.set_value("LEGACY_MSGHDR", hdr);
            }
        }
        let mut name = ScratchString::take();
        for el in p.sd_elements() {
            let id = String::from_utf8_lossy(el.id);
            let mut any = false;
            for param in el.params() {
                any = true;
                name.clear();
                name.push_str(".SDATA.");
                name.push_str(&id);
                name.push('.');
                name.push_str(&String::from_utf8_lossy(param.name));
                msg.set_value(&name, &param.value());
            }
            if !any {
                name.clear();
                name.push_str(".SDATA.");
                name.push_str(&id);
                msg.set_value(&name, b"");
            }
        }
        msg.set_value("MESSAGE", &p.message_text());
    }
}

/// Replaces `msg` by syslog-ng's parse error message with text `text`.
fn inject_parse_error(msg: &mut LogMessage, text: &[u8]) {
    msg.clear();
    msg.set_stamp(msg.received());
    msg.set_value("HOST", b"");
    msg.set_value("MESSAGE", text);
    nv::set(msg, "PROGRAM", b"syslog-ng");
    nv::set(msg, "PID", std::process::id().to_string().as_bytes());
    msg.set_local(true);
    msg.set_pri(PARSE_ERROR_PRI);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ReceiveInfo;
    use rsng_proto::syslog::ParseFlags;

    fn msg() -> LogMessage {
        let mut m = LogMessage::new(&ReceiveInfo::new("s", "10.1.1.1", None, TimeZone::UTC));
        m.set_value("HOST", b"orig");
        m.set_value("PID", b"1");
        m.set_value(".x", b"y");
        m
    }

    fn parser(flags: &[&str], drop_invalid: bool) -> SyslogParser {
        let mut f = ParseFlags::default();
        for x in flags {
            assert!(f.apply(x));
        }
        SyslogParser::new(ParseOptions::with_flags(f), false, false, drop_invalid, None, TimeZone::UTC)
    }

    #[test]
    fn reparses_into_the_message() {
        let mut m = msg();
        assert!(parser(&[], false).parse(&mut m, b"<14>Jan  2 03:04:05 newhost app[7]: text"));
        assert_eq!(m.pri(), 14);
        assert_eq!(m.get("HOST"), Some(&b"newhost"[..]));
        assert_eq!(m.get("PROGRAM"), Some(&b"app"[..]));
        assert_eq!(m.get("PID"), Some(&b"7"[..]));
        assert_eq!(m.get("MESSAGE"), Some(&b"text"[..]));
        assert_eq!(m.get(".x"), Some(&b"y"[..]));
        let mut m = msg();
        assert!(parser(&[], false).parse(&mut m, b"app: no header"));
        assert_eq!(m.get("HOST"), Some(&b"orig"[..]));
        assert_eq!(m.get("PID"), Some(&b"1"[..]));
        assert_eq!(m.pri(), 13);
    }

    #[test]
    fn rfc5424_and_errors() {
        let mut m = msg();
        let p = parser(&["syslog-protocol"], false);
        assert!(p.parse(&mut m, b"<13>1 2024-01-02T03:04:05Z h a - ID [x@1 k=\"v\"] hi"));
        assert_eq!(m.get(".SDATA.x@1.k"), Some(&b"v"[..]));
        assert_eq!(m.get("MSGID"), Some(&b"ID"[..]));
        assert_eq!(m.get("PID"), Some(&b"1"[..]));
        let mut m = msg();
        assert!(p.parse(&mut m, b"<13>1 2024-01-02T03:04:05Z h a - ID [broken"));
        assert_eq!(m.get("PROGRAM"), Some(&b"syslog-ng"[..]));
        assert_eq!(m.get(".x"), None);
        assert_eq!(m.pri(), PARSE_ERROR_PRI);
        assert!(!parser(&["syslog-protocol"], true).parse(&mut msg(), b"<13>1 2024-01-02T03:04:05Z h a - ID [broken"));
    }
}

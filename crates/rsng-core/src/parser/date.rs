//! `date-parser(format(...) time-zone(...) flags(guess-timezone))`, as in syslog-ng 3.38
//! (`modules/timestamp/date-parser.c`): the formats are tried in order with syslog-ng's
//! [`strptime`](super::strptime) and must read the whole input; missing fields are guessed
//! (the date from the current day, a missing year from the month; "now" is the message's
//! receive time, where syslog-ng reads the clock); the result becomes the
//! message's timestamp. A stamp without an offset is in `time-zone()` (its offset at the time
//! the message was received) or else in local time. The parser fails when no format matches.
//!
//! As in syslog-ng, the formats share one set of parsed fields: what a failing format set
//! before it failed stays for the next one.

use jiff::tz::TimeZone;
use rsng_proto::syslog::{Timestamp, TimestampFormat};

use super::nv::c_str;
use super::strptime::{broken_down, guess_missing_fields, strptime, LocalZone, Wct};
use crate::message::{resolve_timestamp, zone_offset, LogMessage, UnixTime};

/// `date-parser()`.
#[derive(Debug, Clone)]
pub struct DateParser {
    formats: Vec<Vec<u8>>,
    time_zone: Option<TimeZone>,
    guess_timezone: bool,
    local: LocalZone,
}

/// Offsets that are not whole hours but exist in today's zones (`_is_gmtoff_valid`).
const NON_EVEN_HOUR_OFFSETS: &[i64] = &[
    -34200, -16200, -12600, -9000, 12600, 16200, 19800, 20700, 23400, 30600, 31500, 34200, 35100, 37800, 41400, 45900,
    49500,
];

/// C's division rounding half away from zero (`_div_round`).
fn div_round(n: i64, d: i64) -> i64 {
    if (n < 0) ^ (d < 0) {
        (n - d / 2) / d
    } else {
        (n + d / 2) / d
    }
}

/// `unix_time_fix_timezone_assuming_the_time_matches_real_time`: when the stamp is within a day
/// of `now` and off by whole quarter hours (±30 s), the difference is taken as a zone error.
pub fn guess_zone(stamp: &mut UnixTime, now: i64) {
    let diff = now - stamp.sec;
    if diff.abs() >= 24 * 3600 {
        return;
    }
    let rounded = div_round(diff, 900) * 900;
    if (diff - rounded).abs() > 30 {
        return;
    }
    let guessed = i64::from(stamp.gmtoff) - rounded;
    let valid = (-12 * 3600..=14 * 3600).contains(&guessed)
        && (guessed % 3600 == 0 || NON_EVEN_HOUR_OFFSETS.contains(&guessed));
    if valid {
        stamp.sec -= guessed - i64::from(stamp.gmtoff);
        stamp.gmtoff = guessed as i32;
    }
}

impl DateParser {
    /// `local` is the zone syslog-ng's `mktime` and `localtime` would use (the process's).
    pub fn new(
        formats: Vec<String>,
        time_zone: Option<TimeZone>,
        guess_timezone: bool,
        local: LocalZone,
    ) -> DateParser {
        DateParser { formats: formats.into_iter().map(String::into_bytes).collect(), time_zone, guess_timezone, local }
    }

    pub fn parse(&self, msg: &mut LogMessage, input: &[u8]) -> bool {
        let input = c_str(input);
        let now = msg.received();
        let mut wct = Wct::default();
        let matched = self.formats.iter().any(|f| strptime(&mut wct, f, input, &self.local) == Some(input.len()));
        if !matched {
            return false;
        }
        let now_local = broken_down(now.sec, zone_offset(&self.local.tz, now.sec));
        guess_missing_fields(&mut wct, &now_local);
        let offset = if wct.gmtoff != -1 {
            Some(wct.gmtoff)
        } else {
            self.time_zone.as_ref().map(|tz| zone_offset(tz, now.sec))
        };
        let field = |v: i32| u32::try_from(v).unwrap_or(0);
        let ts = Timestamp {
            format: TimestampFormat::Iso,
            year: Some(field(wct.year + 1900)),
            month: field(wct.mon + 1),
            day: field(wct.mday),
            hour: field(wct.hour),
            minute: field(wct.min),
            second: field(wct.sec),
            fraction: b"",
            usec: field(wct.usec),
            offset,
        };
        let mut stamp = resolve_timestamp(&ts, &self.local.tz, &now);
        if self.guess_timezone {
            guess_zone(&mut stamp, now.sec);
        }
        msg.set_stamp(stamp);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ReceiveInfo;

    fn msg() -> LogMessage {
        let mut info = ReceiveInfo::new("s", "h", None, TimeZone::UTC);
        info.received = UnixTime { sec: 1_717_243_200, usec: 0, gmtoff: 0 };
        LogMessage::new(&info)
    }

    fn parser(formats: &[&str], tz: Option<TimeZone>) -> DateParser {
        DateParser::new(
            formats.iter().map(|s| s.to_string()).collect(),
            tz,
            false,
            LocalZone::new(TimeZone::UTC, 1_717_243_200),
        )
    }

    #[test]
    fn sets_the_stamp() {
        let mut m = msg();
        assert!(parser(&["%FT%T%z"], None).parse(&mut m, b"2024-03-04T05:06:07+02:00"));
        assert_eq!((m.stamp().sec, m.stamp().gmtoff), (1_709_521_567, 7200));
        let p = parser(&["%d/%m/%Y %H:%M"], Some(TimeZone::fixed(jiff::tz::offset(-5))));
        assert!(p.parse(&mut m, b"04/03/2024 05:06"));
        assert_eq!((m.stamp().sec, m.stamp().gmtoff), (1_709_546_760, -18000));
        assert!(!p.parse(&mut m, b"04/03/2024 05:06 trailing"));
    }

    #[test]
    fn missing_date_is_today() {
        let mut m = msg();
        assert!(parser(&["%H:%M"], None).parse(&mut m, b"10:30"));
        assert_eq!(m.stamp().sec, 1_717_243_200 - 12 * 3600 + 10 * 3600 + 30 * 60);
    }

    #[test]
    fn zone_guess() {
        let mut s = UnixTime { sec: 1000 + 7200, usec: 0, gmtoff: 0 };
        guess_zone(&mut s, 1000);
        assert_eq!((s.sec, s.gmtoff), (1000, 7200));
    }
}

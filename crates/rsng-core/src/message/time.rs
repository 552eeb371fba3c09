//! Points in time as messages carry them, and their calendar fields.
//!
//! A [`UnixTime`] is an instant plus the zone offset it was written in
//! (syslog-ng's `UnixTime`). Calendar fields are computed with plain
//! integer arithmetic (no allocation, no zone database); `jiff` is used
//! only to find a zone's offset at an instant and to resolve local
//! wall-clock times received without a zone.

use jiff::tz::TimeZone;
use rsng_proto::syslog::Timestamp;

/// An instant with the zone offset it is shown in by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnixTime {
    /// Seconds since the epoch.
    pub sec: i64,
    /// Microseconds, `0..1_000_000`.
    pub usec: u32,
    /// Offset of the zone in seconds east of UTC.
    pub gmtoff: i32,
}

impl UnixTime {
    /// Now, shown in `tz`.
    pub fn now(tz: &TimeZone) -> UnixTime {
        let now = jiff::Timestamp::now();
        UnixTime::at(now.as_second(), now.subsec_microsecond().max(0) as u32, tz)
    }

    /// `sec`.`usec` since the epoch, shown in `tz`.
    pub fn at(sec: i64, usec: u32, tz: &TimeZone) -> UnixTime {
        UnixTime { sec, usec, gmtoff: zone_offset(tz, sec) }
    }
}

/// The process's own time zone (`TZ`, else the system's), read once as syslog-ng reads it at
/// start-up: stamps without a zone are read in it before a source's `time-zone()` applies.
pub fn local_zone() -> &'static TimeZone {
    static LOCAL: std::sync::OnceLock<TimeZone> = std::sync::OnceLock::new();
    LOCAL.get_or_init(TimeZone::system)
}

/// The offset of `tz` at `sec` (0 for instants jiff cannot represent).
pub fn zone_offset(tz: &TimeZone, sec: i64) -> i32 {
    match jiff::Timestamp::from_second(sec) {
        Ok(ts) => tz.to_offset(ts).seconds(),
        Err(_) => 0,
    }
}

/// Calendar fields of an instant in some zone (C's `struct tm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    pub year: i64,
    /// 0-based month.
    pub mon: u32,
    pub mday: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    /// Day of the week, 0 = Sunday.
    pub wday: u32,
    /// Day of the year, 0-based.
    pub yday: u32,
    pub usec: u32,
    pub gmtoff: i32,
}

/// Year, month (1-based), day and day of the year (0-based) of day `days` since 1970-01-01.
/// Messages in a row fall on the same day, so the last answer of each thread is kept.
fn date_of_day(days: i64) -> (i64, u32, u32, u32) {
    thread_local! {
        static LAST: std::cell::Cell<(i64, (i64, u32, u32, u32))> = const { std::cell::Cell::new((i64::MIN, (0, 0, 0, 0))) };
    }
    LAST.with(|last| {
        let (day, date) = last.get();
        if day == days {
            return date;
        }
        let (year, month, mday) = civil_from_days(days);
        let date = (year, month, mday, (days - days_from_civil(year, 1, 1)) as u32);
        last.set((days, date));
        date
    })
}

impl WallClock {
    /// `t` shown at offset `gmtoff`.
    pub fn new(t: &UnixTime, gmtoff: i32) -> WallClock {
        let local = t.sec + i64::from(gmtoff);
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400) as u32;
        let (year, month, mday, yday) = date_of_day(days);
        WallClock {
            year,
            mon: month - 1,
            mday,
            hour: secs / 3600,
            min: secs / 60 % 60,
            sec: secs % 60,
            wday: (days + 4).rem_euclid(7) as u32,
            yday,
            usec: t.usec,
            gmtoff,
        }
    }

    /// syslog-ng's `$WEEK`: weeks starting on Monday, 00..53.
    pub fn week(&self) -> u32 {
        (self.yday + 7 - (self.wday + 6) % 7) / 7
    }

    /// syslog-ng's `$ISOWEEK` (`wall_clock_time_iso_week_number`).
    pub fn iso_week(&self) -> u32 {
        let (yday, wday) = (self.yday as i64, self.wday as i64);
        let mut week = (yday - (wday - 1 + 7) % 7 + 7) / 7;
        if (wday + 371 - yday - 2) % 7 <= 2 {
            week += 1;
        }
        if week == 0 {
            let dec31 = (wday + 7 - yday - 1).rem_euclid(7);
            return if dec31 == 4 || (dec31 == 5 && is_leap(self.year - 1)) { 53 } else { 52 };
        }
        if week == 53 {
            let jan1 = (wday + 371 - yday) % 7;
            if jan1 != 4 && (jan1 != 3 || !is_leap(self.year)) {
                return 1;
            }
        }
        week as u32
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// Turns a parsed timestamp into an instant, the way syslog-ng 3.38 does.
///
/// * A missing year is guessed from `now` (shown in its own offset): the current year, last
///   year for a December stamp in January, next year for a January stamp in
///   December.
/// * Fields are normalised like `mktime` (day 32 is the next month's
///   first); then 3.38 subtracts `(normalised hour - written hour)` hours.
/// * A stamp without a zone is wall-clock time in `local`.
pub fn resolve_timestamp(t: &Timestamp<'_>, local: &TimeZone, now: &UnixTime) -> UnixTime {
    resolve_timestamp_with_hint(t, local, now, None)
}

/// [`resolve_timestamp`], where a stamp without a zone gets the fixed offset `hint` when one is
/// given. syslog-ng reads such a stamp with `mktime()` in the process's own zone (`local`, from
/// `TZ`) and then moves it to the hint: the offset a source's `time-zone()` has *now* (at
/// reception), so a summer stamp received in winter is read with the winter offset.
pub fn resolve_timestamp_with_hint(t: &Timestamp<'_>, local: &TimeZone, now: &UnixTime, hint: Option<i32>) -> UnixTime {
    let year = match t.year {
        Some(y) => i64::from(y),
        None => {
            // syslog-ng guesses the year from the process's local time, whatever the source's
            // zone: receive times carry the local offset already.
            let wc = WallClock::new(now, now.gmtoff);
            match (t.month, wc.mon + 1) {
                (12, 1) => wc.year - 1,
                (1, 12) => wc.year + 1,
                _ => wc.year,
            }
        }
    };
    let month0 = i64::from(t.month) - 1;
    let days =
        days_from_civil(year + month0.div_euclid(12), month0.rem_euclid(12) as u32 + 1, 1) + i64::from(t.day) - 1;
    let civil = days * 86_400 + i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second);
    let usec = t.usec.min(999_999);
    match t.offset {
        Some(offset) => {
            let hour = civil.rem_euclid(86_400) / 3600;
            let civil = civil - (hour - i64::from(t.hour)) * 3600;
            UnixTime { sec: civil - i64::from(offset), usec, gmtoff: offset }
        }
        None => {
            let (sec, hour, local_offset) = local_instant_cached(civil, local);
            let target = hint.unwrap_or(local_offset);
            let sec = sec + i64::from(local_offset) - (hour - i64::from(t.hour)) * 3600 - i64::from(target);
            UnixTime { sec, usec, gmtoff: target }
        }
    }
}

/// [`local_to_instant`] and the offset at the instant. Messages in a row carry the same stamp,
/// so the last answer in the process's own zone is kept per thread; other zones are not cached
/// (a zone is known by its address, which a reload may give to another one).
fn local_instant_cached(civil: i64, tz: &TimeZone) -> (i64, i64, i32) {
    thread_local! {
        static LAST: std::cell::Cell<(i64, (i64, i64, i32))> = const { std::cell::Cell::new((i64::MIN, (0, 0, 0))) };
    }
    let compute = || {
        let (sec, hour) = local_to_instant(civil, tz);
        (sec, hour, zone_offset(tz, sec))
    };
    if !std::ptr::eq(tz, local_zone()) {
        return compute();
    }
    LAST.with(|last| {
        let (key, answer) = last.get();
        if key == civil {
            return answer;
        }
        let answer = compute();
        last.set((civil, answer));
        answer
    })
}

/// `mktime()` of a normalised wall-clock time (seconds since the epoch as if it were UTC) in
/// `tz`: the instant and the wall-clock hour it ends up on. An ambiguous time, or one in a gap,
/// is read with the smaller of the two offsets around it (standard time), as glibc's `mktime`
/// does for syslog-ng: an autumn time is the later instant, a spring-gap time moves forward.
fn local_to_instant(civil: i64, tz: &TimeZone) -> (i64, i64) {
    use jiff::tz::AmbiguousOffset;
    let (y, m, d) = civil_from_days(civil.div_euclid(86_400));
    let s = civil.rem_euclid(86_400);
    let dt = jiff::civil::DateTime::new(
        y.clamp(-9999, 9999) as i16,
        m as i8,
        d as i8,
        (s / 3600) as i8,
        (s / 60 % 60) as i8,
        (s % 60) as i8,
        0,
    );
    let Ok(dt) = dt else {
        return (civil, s / 3600);
    };
    let offset = match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.seconds(),
        AmbiguousOffset::Gap { before, after } | AmbiguousOffset::Fold { before, after } => {
            before.seconds().min(after.seconds())
        }
    };
    let sec = civil - i64::from(offset);
    let shown = sec + i64::from(zone_offset(tz, sec));
    (sec, shown.rem_euclid(86_400) / 3600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsng_proto::syslog::TimestampFormat;

    fn stamp(year: Option<u32>, month: u32, day: u32, hms: (u32, u32, u32), offset: Option<i32>) -> Timestamp<'static> {
        Timestamp {
            format: TimestampFormat::Iso,
            year,
            month,
            day,
            hour: hms.0,
            minute: hms.1,
            second: hms.2,
            fraction: b"",
            usec: 0,
            offset,
        }
    }

    #[test]
    fn civil_roundtrip() {
        for days in [-800_000, -1, 0, 1, 59, 365, 11_016, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn weeks() {
        // 2024-01-01 was a Monday; 2021-01-01 a Friday (ISO week 53 of 2020).
        let at = |y, m, d| WallClock::new(&UnixTime { sec: days_from_civil(y, m, d) * 86_400, usec: 0, gmtoff: 0 }, 0);
        assert_eq!((at(2024, 1, 1).wday, at(2024, 1, 1).week(), at(2024, 1, 1).iso_week()), (1, 1, 1));
        assert_eq!((at(2021, 1, 1).week(), at(2021, 1, 1).iso_week()), (0, 53));
        assert_eq!(at(2024, 12, 30).iso_week(), 1);
        assert_eq!(at(2024, 12, 31).yday, 365);
    }

    #[test]
    fn resolve() {
        let utc = TimeZone::UTC;
        let now = UnixTime { sec: days_from_civil(2024, 6, 1) * 86_400, usec: 0, gmtoff: 0 };
        let t = resolve_timestamp(&stamp(None, 1, 32, (25, 61, 61), None), &utc, &now);
        let wc = WallClock::new(&t, 0);
        assert_eq!((wc.mon + 1, wc.mday, wc.hour, wc.min, wc.sec), (2, 3, 1, 2, 1));
        let t = resolve_timestamp(&stamp(Some(2024), 3, 4, (5, 6, 7), Some(9000)), &utc, &now);
        assert_eq!(t.gmtoff, 9000);
        assert_eq!(t.sec, days_from_civil(2024, 3, 4) * 86_400 + 5 * 3600 + 6 * 60 + 7 - 9000);
        let jan = UnixTime { sec: days_from_civil(2024, 1, 5) * 86_400, usec: 0, gmtoff: 0 };
        let t = resolve_timestamp(&stamp(None, 12, 31, (0, 0, 0), None), &utc, &jan);
        assert_eq!(WallClock::new(&t, 0).year, 2023);
        let tz = TimeZone::fixed(jiff::tz::offset(2));
        let t = resolve_timestamp(&stamp(Some(2024), 1, 1, (2, 0, 0), None), &tz, &now);
        assert_eq!((t.sec, t.gmtoff), (days_from_civil(2024, 1, 1) * 86_400, 7200));
    }
}

//! syslog-ng 3.38's `strptime` (`lib/timeutils/wallclocktime.c`, derived from NetBSD's): the
//! conversions of `date-parser(format())`, with its extensions `%f` (fraction of a second,
//! microseconds) and `%z`/`%Z` (numeric offsets, `Z`, `UT`, `GMT`, the North American zone names,
//! the system zone's names and military letters). Names are matched case-insensitively in
//! English. Unknown conversions fail.

/// A parsed wall-clock time; `-1` marks a field the format did not set. `year` counts from
/// 1900 and `mon` from 0, as in C's `struct tm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wct {
    pub year: i32,
    pub mon: i32,
    pub mday: i32,
    pub wday: i32,
    pub yday: i32,
    pub hour: i32,
    pub min: i32,
    pub sec: i32,
    pub usec: i32,
    /// Seconds east of UTC from `%z`/`%Z`, `-1` when none.
    pub gmtoff: i32,
}

impl Default for Wct {
    fn default() -> Self {
        Wct { year: -1, mon: -1, mday: -1, wday: -1, yday: -1, hour: -1, min: -1, sec: -1, usec: 0, gmtoff: -1 }
    }
}

/// The local zone as `strptime` sees it: the zone (for `%s`), its two names (standard,
/// daylight saving) and its standard offset (seconds east), C's `tzname` and `timezone`.
#[derive(Debug, Clone)]
pub struct LocalZone {
    pub tz: jiff::tz::TimeZone,
    pub names: [String; 2],
    pub std_offset: i32,
}

impl LocalZone {
    /// The names of `tz` in the year of `now` (seconds since the epoch), from its offsets in
    /// January and July.
    pub fn new(tz: jiff::tz::TimeZone, now: i64) -> LocalZone {
        let year = broken_down(now, 0).year + 1900;
        let at = |month: u32| {
            let days = crate::message::days_from_civil(i64::from(year), month, 1);
            let ts = jiff::Timestamp::from_second(days * 86_400).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            let info = tz.to_offset_info(ts);
            (info.abbreviation().to_string(), info.offset().seconds(), info.dst().is_dst())
        };
        let (jan, jul) = (at(1), at(7));
        let (std, dst) = match (jan.2, jul.2) {
            (true, false) => (jul, jan),
            (false, true) => (jan, jul),
            _ => (jan.clone(), jan),
        };
        LocalZone { names: [std.0, dst.0], std_offset: std.1, tz }
    }
}

const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const ABDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const ABMONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const AM_PM: [&str; 2] = ["AM", "PM"];
const NAST: [&str; 4] = ["EST", "CST", "MST", "PST"];
const NADT: [&str; 4] = ["EDT", "CDT", "MDT", "PDT"];

const S_YEAR: u32 = 1;
const S_MON: u32 = 2;
const S_YDAY: u32 = 4;
const S_MDAY: u32 = 8;
const S_WDAY: u32 = 16;
const S_HOUR: u32 = 32;
const S_USEC: u32 = 64;

const START_OF_MONTH: [[i32; 13]; 2] = [
    [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365],
    [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366],
];

fn isleap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// `isleap_sum(a, b)`: whether year `a + b` is a leap year, without overflow.
fn isleap_sum(a: i32, b: i32) -> usize {
    usize::from(isleap(a % 400 + b % 400))
}

fn first_wday_of(yr: i32) -> i32 {
    ((2 * (3 - (yr / 100) % 4)) + (yr % 100) + ((yr % 100) / 4) + if isleap(yr) { 6 } else { 0 } + 1) % 7
}

/// C's `isspace`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

struct Input<'a> {
    s: &'a [u8],
}

impl Input<'_> {
    fn at(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }
}

/// At most as many digits as `ulim` has, within `llim..=ulim`.
fn conv_num(inp: &Input<'_>, bp: usize, llim: u32, ulim: u32) -> Option<(usize, i32)> {
    let mut ch = inp.at(bp);
    if !ch.is_ascii_digit() {
        return None;
    }
    let mut result: u32 = 0;
    let mut rulim = ulim;
    let mut p = bp;
    loop {
        result = result * 10 + u32::from(ch - b'0');
        rulim /= 10;
        p += 1;
        ch = inp.at(p);
        if !(result * 10 <= ulim && rulim != 0 && ch.is_ascii_digit()) {
            break;
        }
    }
    if result < llim || result > ulim {
        return None;
    }
    Some((p, result as i32))
}

/// The index of the first of `names` (then `abbrevs`) that `inp[bp..]` starts with, ignoring case.
fn find_string(inp: &Input<'_>, bp: usize, names: &[&str], abbrevs: &[&str]) -> Option<(usize, i32)> {
    for list in [names, abbrevs] {
        for (i, n) in list.iter().enumerate() {
            let n = n.as_bytes();
            if n.is_empty() {
                continue;
            }
            let rest = inp.s.get(bp..).unwrap_or(&[]);
            if rest.len() >= n.len() && rest[..n.len()].eq_ignore_ascii_case(n) {
                return Some((bp + n.len(), i as i32));
            }
        }
    }
    None
}

/// Parses `input` with `format` into `wct`; returns how many bytes of `input` were read, or
/// `None` when the input does not match.
pub fn strptime(wct: &mut Wct, format: &[u8], input: &[u8], zone: &LocalZone) -> Option<usize> {
    let inp = Input { s: input };
    run(wct, format, &inp, 0, zone)
}

fn run(wct: &mut Wct, format: &[u8], inp: &Input<'_>, start: usize, zone: &LocalZone) -> Option<usize> {
    let mut bp = start;
    let mut f = 0;
    let mut state = 0u32;
    let mut split_year = false;
    let mut day_offset = -1;
    let mut week_offset = 0;
    while f < format.len() {
        let c = format[f];
        f += 1;
        if is_space(c) {
            while is_space(inp.at(bp)) {
                bp += 1;
            }
            continue;
        }
        if c != b'%' {
            if c != inp.at(bp) {
                return None;
            }
            bp += 1;
            continue;
        }
        // Alternative-representation modifiers are accepted and ignored where legal.
        let mut conv = format.get(f).copied().unwrap_or(0);
        f += 1;
        let mut alt = 0u8;
        while conv == b'E' || conv == b'O' {
            if alt != 0 {
                return None;
            }
            alt = conv;
            conv = format.get(f).copied().unwrap_or(0);
            f += 1;
        }
        let legal = |allowed: &[u8]| alt == 0 || allowed.contains(&alt);
        let sub: Option<&[u8]> = match conv {
            b'c' => {
                state |= S_WDAY | S_MON | S_MDAY | S_YEAR;
                Some(b"%a %b %e %H:%M:%S %Y")
            }
            b'D' => {
                state |= S_MON | S_MDAY | S_YEAR;
                Some(b"%m/%d/%y")
            }
            b'F' => {
                state |= S_MON | S_MDAY | S_YEAR;
                Some(b"%Y-%m-%d")
            }
            b'R' => Some(b"%H:%M"),
            b'r' => Some(b"%I:%M:%S %p"),
            b'T' => Some(b"%H:%M:%S"),
            b'X' => Some(b"%H:%M:%S"),
            b'x' => {
                state |= S_MON | S_MDAY | S_YEAR;
                Some(b"%m/%d/%y")
            }
            _ => None,
        };
        if let Some(sub) = sub {
            let allowed: &[u8] = if matches!(conv, b'c' | b'X' | b'x') { b"E" } else { b"" };
            if !matches!(conv, b'c' | b'X' | b'x') && !legal(b"") {
                return None;
            }
            bp = run(wct, sub, inp, bp, zone)?;
            if !legal(allowed) {
                return None;
            }
            continue;
        }
        match conv {
            b'%' => {
                if inp.at(bp) != b'%' || !legal(b"") {
                    return None;
                }
                bp += 1;
            }
            b'A' | b'a' => {
                let (p, v) = find_string(inp, bp, &DAYS, &ABDAYS)?;
                (bp, wct.wday) = (p, v);
                state |= S_WDAY;
            }
            b'B' | b'b' | b'h' => {
                let (p, v) = find_string(inp, bp, &MONTHS, &ABMONTHS)?;
                (bp, wct.mon) = (p, v);
                state |= S_MON;
            }
            b'C' => {
                let (p, v) = conv_num(inp, bp, 0, 99)?;
                bp = p;
                let mut i = v * 100 - 1900;
                if split_year {
                    i += wct.year % 100;
                }
                split_year = true;
                wct.year = i;
                state |= S_YEAR;
            }
            b'd' | b'e' => {
                let (p, v) = conv_num(inp, bp, 1, 31)?;
                (bp, wct.mday) = (p, v);
                state |= S_MDAY;
            }
            b'f' => {
                let (p, v) = conv_num(inp, bp, 0, 999_999)?;
                let mut digits = p - bp;
                let mut end = p;
                while inp.at(end).is_ascii_digit() {
                    end += 1;
                }
                let mut usec = v;
                while digits < 6 {
                    usec *= 10;
                    digits += 1;
                }
                wct.usec = usec;
                bp = end;
                state |= S_USEC;
            }
            b'k' | b'H' => {
                if conv == b'k' && alt != 0 {
                    return None;
                }
                let (p, v) = conv_num(inp, bp, 0, 23)?;
                (bp, wct.hour) = (p, v);
                state |= S_HOUR;
            }
            b'l' | b'I' => {
                if conv == b'l' && alt != 0 {
                    return None;
                }
                let (p, v) = conv_num(inp, bp, 1, 12)?;
                bp = p;
                wct.hour = if v == 12 { 0 } else { v };
                state |= S_HOUR;
            }
            b'j' => {
                let (p, v) = conv_num(inp, bp, 1, 366)?;
                (bp, wct.yday) = (p, v - 1);
                state |= S_YDAY;
            }
            b'M' => {
                let (p, v) = conv_num(inp, bp, 0, 59)?;
                (bp, wct.min) = (p, v);
            }
            b'm' => {
                let (p, v) = conv_num(inp, bp, 1, 12)?;
                (bp, wct.mon) = (p, v - 1);
                state |= S_MON;
            }
            b'p' => {
                let (p, i) = find_string(inp, bp, &AM_PM, &[])?;
                if state & S_HOUR != 0 && wct.hour > 11 {
                    return None;
                }
                bp = p;
                wct.hour += i * 12;
            }
            b'S' => {
                let (p, v) = conv_num(inp, bp, 0, 61)?;
                (bp, wct.sec) = (p, v);
            }
            b's' => {
                if !inp.at(bp).is_ascii_digit() {
                    return None;
                }
                let mut sse: i64 = 0;
                let mut rulim = i64::MAX as u64;
                loop {
                    sse = sse * 10 + i64::from(inp.at(bp) - b'0');
                    bp += 1;
                    rulim /= 10;
                    if !(sse.checked_mul(10).is_some() && rulim != 0 && inp.at(bp).is_ascii_digit()) {
                        break;
                    }
                }
                let t = broken_down(sse, crate::message::zone_offset(&zone.tz, sse));
                wct.year = t.year;
                wct.mon = t.mon;
                wct.mday = t.mday;
                wct.hour = t.hour;
                wct.min = t.min;
                wct.sec = t.sec;
                wct.wday = t.wday;
                wct.yday = t.yday;
                state |= S_YDAY | S_WDAY | S_MON | S_MDAY | S_YEAR;
            }
            b'U' | b'W' => {
                let (p, v) = conv_num(inp, bp, 0, 53)?;
                bp = p;
                day_offset = if conv == b'U' { 0 } else { 1 };
                week_offset = v;
            }
            b'w' => {
                let (p, v) = conv_num(inp, bp, 0, 6)?;
                (bp, wct.wday) = (p, v);
                state |= S_WDAY;
            }
            b'u' => {
                let (p, v) = conv_num(inp, bp, 1, 7)?;
                (bp, wct.wday) = (p, v % 7);
                state |= S_WDAY;
            }
            b'g' | b'V' => {
                let (p, _) = conv_num(inp, bp, 0, if conv == b'g' { 99 } else { 53 })?;
                bp = p;
            }
            b'G' => {
                bp += 1;
                while inp.at(bp).is_ascii_digit() {
                    bp += 1;
                }
            }
            b'Y' => {
                let (p, v) = conv_num(inp, bp, 0, 9999)?;
                (bp, wct.year) = (p, v - 1900);
                state |= S_YEAR;
            }
            b'y' => {
                let (p, mut i) = conv_num(inp, bp, 0, 99)?;
                bp = p;
                if split_year {
                    i += (wct.year / 100) * 100;
                } else {
                    split_year = true;
                    i += if i <= 68 { 2000 - 1900 } else { 0 };
                }
                wct.year = i;
                state |= S_YEAR;
            }
            b'Z' | b'z' => bp = zone_conversion(wct, inp, bp, conv == b'z', zone)?,
            b'n' | b't' => {
                while is_space(inp.at(bp)) {
                    bp += 1;
                }
            }
            _ => return None,
        }
        let allowed: &[u8] = match conv {
            b'C' | b'Y' => b"E",
            b'd' | b'e' | b'H' | b'I' | b'M' | b'm' | b'S' | b'U' | b'W' | b'w' | b'u' => b"O",
            b'y' | b'g' | b'G' | b'V' | b'Z' | b'z' | b's' => b"EO",
            _ => b"",
        };
        if !legal(allowed) {
            return None;
        }
    }
    finish(wct, state, day_offset, week_offset);
    Some(bp)
}

/// `%z` (`mandatory`) and `%Z`. Returns where the input continues.
fn zone_conversion(wct: &mut Wct, inp: &Input<'_>, mut bp: usize, mandatory: bool, zone: &LocalZone) -> Option<usize> {
    if mandatory {
        while is_space(inp.at(bp)) {
            bp += 1;
        }
    }
    let zname = bp;
    let first = inp.at(bp);
    bp += 1;
    let neg = match first {
        b'G' | b'U' | b'Z' => {
            if first == b'G' {
                if inp.at(bp) != b'M' {
                    return None;
                }
                bp += 1;
            }
            if first != b'Z' {
                if inp.at(bp) != b'T' {
                    return None;
                }
                bp += 1;
            }
            wct.gmtoff = 0;
            return Some(bp);
        }
        b'+' => false,
        b'-' => true,
        _ => {
            bp -= 1;
            if let Some((p, i)) = find_string(inp, bp, &NAST, &[]) {
                wct.gmtoff = (-5 - i) * 3600;
                return Some(p);
            }
            if let Some((p, i)) = find_string(inp, bp, &NADT, &[]) {
                wct.gmtoff = (-4 - i) * 3600;
                return Some(p);
            }
            let names = [zone.names[0].as_str(), zone.names[1].as_str()];
            if let Some((p, i)) = find_string(inp, bp, &names, &[]) {
                wct.gmtoff = zone.std_offset + i * 3600;
                return Some(p);
            }
            let c = inp.at(bp);
            if (b'A'..=b'I').contains(&c) || (b'L'..=b'Y').contains(&c) {
                wct.gmtoff = match c {
                    b'A'..=b'I' => (i32::from(b'A') - 1 - i32::from(c)) * 3600,
                    b'L'..=b'M' => (i32::from(b'A') - i32::from(c)) * 3600,
                    _ => (i32::from(c) - i32::from(b'M')) * 3600,
                };
                return Some(bp + 1);
            }
            return if mandatory { None } else { Some(zname) };
        }
    };
    let mut offs = 0i32;
    let mut i = 0;
    while i < 4 {
        let c = inp.at(bp);
        if c.is_ascii_digit() {
            offs = offs * 10 + i32::from(c - b'0');
            bp += 1;
            i += 1;
            continue;
        }
        if i == 2 && c == b':' {
            bp += 1;
            continue;
        }
        break;
    }
    let offs = match i {
        2 => offs * 3600,
        4 if offs % 100 < 60 => (offs / 100) * 3600 + (offs % 100) * 60,
        _ => return if mandatory { None } else { Some(zname) },
    };
    wct.gmtoff = if neg { -offs } else { offs };
    Some(bp)
}

/// Fills in the day of the year, month, day of the month and day of the week from what was
/// parsed, as the end of syslog-ng's `strptime` does.
fn finish(wct: &mut Wct, mut state: u32, day_offset: i32, week_offset: i32) {
    if state & S_YDAY == 0 && state & S_YEAR != 0 {
        if state & S_MON != 0 && state & S_MDAY != 0 {
            let leap = isleap_sum(wct.year, 1900);
            let mon = wct.mon.clamp(0, 11) as usize;
            wct.yday = START_OF_MONTH[leap][mon] + (wct.mday - 1);
            state |= S_YDAY;
        } else if day_offset != -1 {
            if state & S_WDAY == 0 {
                wct.wday = day_offset;
                state |= S_WDAY;
            }
            wct.yday =
                (7 - first_wday_of(wct.year + 1900) + day_offset) % 7 + (week_offset - 1) * 7 + wct.wday - day_offset;
            state |= S_YDAY;
        }
    }
    if state & S_YDAY != 0 && state & S_YEAR != 0 {
        if state & S_MON == 0 {
            let mut leap = isleap_sum(wct.year, 1900);
            let mut i = 0;
            while i < 13 && wct.yday >= START_OF_MONTH[leap][i] {
                i += 1;
            }
            if i > 12 {
                i = 1;
                wct.yday -= START_OF_MONTH[leap][12];
                wct.year += 1;
                leap = isleap_sum(wct.year, 1900);
            }
            let _ = leap;
            wct.mon = i as i32 - 1;
            state |= S_MON;
        }
        if state & S_MDAY == 0 {
            let leap = isleap_sum(wct.year, 1900);
            wct.mday = wct.yday - START_OF_MONTH[leap][wct.mon.clamp(0, 11) as usize] + 1;
            state |= S_MDAY;
        }
        if state & S_WDAY == 0 {
            let mut w = first_wday_of(wct.year);
            let mut i = 0;
            while i <= wct.yday {
                i += 1;
                if w >= 6 {
                    w = 0;
                } else {
                    w += 1;
                }
            }
            wct.wday = w;
        }
    }
    if state & S_USEC == 0 {
        wct.usec = 0;
    }
}

/// The broken-down time of `sec` at offset `gmtoff`.
pub fn broken_down(sec: i64, gmtoff: i32) -> Wct {
    let local = sec + i64::from(gmtoff);
    let days = local.div_euclid(86_400);
    let s = local.rem_euclid(86_400);
    let (y, m, d) = crate::message::civil_from_days(days);
    let jan1 = crate::message::days_from_civil(y, 1, 1);
    Wct {
        year: (y - 1900) as i32,
        mon: m as i32 - 1,
        mday: d as i32,
        wday: (days + 4).rem_euclid(7) as i32,
        yday: (days - jan1) as i32,
        hour: (s / 3600) as i32,
        min: (s / 60 % 60) as i32,
        sec: (s % 60) as i32,
        usec: 0,
        gmtoff,
    }
}

/// syslog-ng's `wall_clock_time_guess_missing_fields`, with `now` the current local time.
pub fn guess_missing_fields(wct: &mut Wct, now: &Wct) {
    let year_for_month = |mon: i32| match (mon, now.mon) {
        (11, 0) => now.year - 1,
        (0, 11) => now.year + 1,
        _ => now.year,
    };
    if wct.year == -1 && wct.mon == -1 && wct.mday == -1 {
        wct.year = now.year;
        wct.mon = now.mon;
        wct.mday = now.mday;
    } else if wct.year == -1 && wct.mon != -1 && wct.mday != -1 {
        wct.year = year_for_month(wct.mon);
    } else {
        if wct.year == -1 {
            wct.year = now.year;
        }
        if wct.mon == -1 {
            wct.mon = 0;
        }
        if wct.mday == -1 {
            wct.mday = 1;
        }
    }
    if wct.hour == -1 {
        wct.hour = 0;
    }
    if wct.min == -1 {
        wct.min = 0;
    }
    if wct.sec == -1 {
        wct.sec = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> LocalZone {
        LocalZone::new(jiff::tz::TimeZone::UTC, 1_717_200_000)
    }

    fn parse(fmt: &str, input: &str) -> Option<(Wct, usize)> {
        let mut w = Wct::default();
        strptime(&mut w, fmt.as_bytes(), input.as_bytes(), &utc()).map(|n| (w, n))
    }

    #[test]
    fn iso_with_zone() {
        let (w, n) = parse("%FT%T%z", "2024-03-04T05:06:07+02:30").expect("parses");
        assert_eq!(n, 25);
        assert_eq!((w.year, w.mon, w.mday, w.hour, w.min, w.sec, w.gmtoff), (124, 2, 4, 5, 6, 7, 9000));
        assert_eq!(w.yday, 63);
        let (w, _) = parse("%FT%T%z", "2024-03-04T05:06:07Z").expect("parses");
        assert_eq!(w.gmtoff, 0);
        assert!(parse("%FT%T%z", "2024-03-04T05:06:07").is_none());
    }

    #[test]
    fn names_fractions_and_epoch() {
        let (w, _) = parse("%b %d %Y %H:%M:%S.%f", "jan 02 2020 10:11:12.5").expect("parses");
        assert_eq!((w.mon, w.mday, w.usec), (0, 2, 500_000));
        let (w, _) = parse("%s", "86400").expect("parses");
        assert_eq!((w.year, w.mon, w.mday, w.hour), (70, 0, 2, 0));
        let (w, _) = parse("%d/%b/%Y:%H:%M:%S %Z", "10/Oct/2000:13:55:36 EST").expect("parses");
        assert_eq!(w.gmtoff, -5 * 3600);
        let (w, _) = parse("%I:%M %p", "12:30 PM").expect("parses");
        assert_eq!(w.hour, 12);
        assert!(parse("%Q", "x").is_none());
        let (w, _) = parse("%Y %j", "2024 60").expect("parses");
        assert_eq!((w.mon, w.mday), (1, 29));
    }
}

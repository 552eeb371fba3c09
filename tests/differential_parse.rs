//! Message parsing: rsng-proto's parser gives the same fields as syslog-ng 3.38.
//!
//! One syslog-ng runs in the foreground with several UDP sources, each with other parser
//! flags and each written to its own file with a template that prints every parsed field
//! (separated by `\x1f`, records ended by `\x1e\n`). The same datagrams go to every source;
//! then rsng-proto parses them with the same flags and the test formats the fields the way
//! syslog-ng's macros do, and compares field by field.
//!
//! What cannot be compared, and how it is handled:
//! - Messages without a timestamp (or with the RFC 5424 nil stamp) get the time of reception:
//!   the date fields are compared only when the message carried a timestamp.
//! - Timestamps without a year: syslog-ng takes the current year (last year for December
//!   stamps in January, next year for January stamps in December), in UTC here (`TZ=UTC`);
//!   the test applies the same rule. A run across midnight of New Year's Eve could differ.
//! - Messages without a hostname: with `keep-hostname(yes)` and `use-dns(no)` syslog-ng uses
//!   the sender's address, `127.0.0.1`; the test expects that.
//! - Messages syslog-ng rejects become its own `syslog.err` message (program `syslog-ng`,
//!   its PID, a `[meta sequenceId="N"]` counting the local messages of that source); the test
//!   builds the same record from rsng-proto's `ParseError`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rsng_core::message::{civil_from_days, days_from_civil};
use rsng_proto::syslog::{parse, ParseFlags, ParseOptions, ParsedMessage, Stamp, Timestamp, PARSE_ERROR_PRI};
use rsng_tests::{oracle_skipped, RunningOracle, TempDir};

const FIELDS: [&str; 13] = [
    "PRI",
    "FACILITY_NUM",
    "SEVERITY_NUM",
    "HOST",
    "PROGRAM",
    "PID",
    "MSGID",
    "LEGACY_MSGHDR",
    "SDATA",
    "MSG",
    "DATE",
    "USEC",
    "TZOFFSET",
];

const TEMPLATE: &str = "$PRI\\x1f$FACILITY_NUM\\x1f$SEVERITY_NUM\\x1f$HOST\\x1f$PROGRAM\\x1f$PID\\x1f$MSGID\\x1f\
$LEGACY_MSGHDR\\x1f$SDATA\\x1f$MSG\\x1f$YEAR-$MONTH-$DAY $HOUR:$MIN:$SEC\\x1f$USEC\\x1f$TZOFFSET\\x1e\\n";

/// The sources: a name and its `flags()`.
const SOURCES: [(&str, &[&str]); 6] = [
    ("default", &[]),
    ("protocol", &["syslog-protocol"]),
    ("strict", &["syslog-protocol", "no-rfc3164-fallback"]),
    ("nohost", &["no-hostname", "dont-store-legacy-msghdr", "kernel"]),
    ("checked", &["check-hostname", "no-multi-line", "sanitize-utf8"]),
    ("noparse", &["no-parse"]),
];

fn messages() -> Vec<Vec<u8>> {
    let text: &[&[u8]] = &[
        // clean RFC 3164
        b"<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8",
        b"<13>Feb  5 17:32:18 host prog: hello world\n",
        b"<165>Aug 24 05:34:00 myhost myprog[9999]: trailing nuls\0\0",
        b"<0>Jan  1 00:00:00 h kernel: boot",
        b"<191>Dec 31 23:59:59 h p: last of the year",
        b"<13>Nov 28 01:02:03 h p: crlf\r\n",
        // odd RFC 3164
        b"no pri at all",
        b"Feb  5 17:32:18 host prog: no pri",
        b"<999>Jan 32 25:61:61 host prog: pri 999 and a wrapping date",
        b"<99999999999>x",
        b"<13>",
        b"<13",
        b"<>empty pri",
        b"<1a>bad pri",
        b"<-1>negative",
        b"\x01\x02 garbage \xff\xfe",
        b"<13>Jan  2 10:11:12 host prog: nul \x00 inside",
        b"<13>JaN  2 10:11:12 host prog: mixed-case month",
        b"<13>\xff\xfe invalid utf8 \xc3\x28 here",
        b"<13>Jan  2 10:11:12 host prog: caf\xc3\xa9 utf8",
        b"<13>Jan  2 10:11:12 host prog: \xEF\xBB\xBFbom in 3164",
        b"<13>Jan  2 10:11:12 prog: missing hostname",
        b"<13>Jan  2 10:11:12 prog[42]: missing hostname with pid",
        b"<13>Jan 2 10:11:12 host prog: single digit day",
        b"<13>Jan  2 10:11:12.123456789 host prog: fraction",
        b"<13>jan  2 10:11:12 host prog: lower-case month",
        b"<13>Foo  2 10:11:12 host prog: bad month",
        b"<13>2024-03-04T05:06:07Z host prog: iso utc",
        b"<13>2024-03-04T05:06:07.5+02:30 host prog: iso offset",
        b"<13>2024-03-04 05:06:07 host prog: iso space no zone",
        b"<13>2024-13-40T05:06:07-01:00 host prog: iso overflowing",
        b"<13>Mar 04 2024 05:06:07: host prog: cisco pix",
        b"<13>Mar 04 05:06:07 2024 host prog: linksys",
        b"<13>123: *Mar  4 05:06:07 host prog: cisco seq unsynced",
        b"<13>45: .Mar  4 05:06:07.25: host prog: cisco seq synced",
        b"<13>: colon start",
        b"<13>Jan  2 10:11:12 host prog[123456789012345678901234567890]: long pid",
        b"<13>Jan  2 10:11:12 host prog[]: empty pid",
        b"<13>Jan  2 10:11:12 host prog[12: unclosed pid",
        b"<13>Jan  2 10:11:12 host prog[x]y: brackets",
        b"<13>Jan  2 10:11:12 host prog:no space",
        b"<13>Jan  2 10:11:12 host prog no colon",
        b"<13>Jan  2 10:11:12 host : no program",
        b"<13>Jan  2 10:11:12 host prog: ",
        b"<13>Jan  2 10:11:12 host",
        b"<13>Jan  2 10:11:12 abc: hex-looking program",
        b"<13>Jan  2 10:11:12 fe80::1 prog: ipv6 host",
        b"<13>Jan  2 10:11:12 ho$t prog: odd host char",
        b"<13>Jan  2 10:11:12   spaced   prog: many spaces",
        b"<13>Jan  2 10:11:12 Message forwarded from aixhost: prog: aix",
        b"<13>Jan  2 10:11:12 last message repeated 5 times",
        b"<13>Jan  2 10:11:12 host prog: multi\nline\rmessage",
        b"<13>prog[7]: no timestamp",
        b"<4>kernel message without stamp",
        b"<13>Jan  2 10:11:12 host prog: back\\slash and tab\tand ctrl\x01",
        // clean RFC 5424
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBFAn application event log entry...",
        b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
        b"<13>1 2024-01-02T03:04:05+01:00 host app 1234 MSGID1 [ex@32473 k=\"v\" k2=\"v2\"] hello world\n",
        b"<13>1 2024-01-02T03:04:05Z host app - - [a x=\"q\\\"uote\" y=\"back\\\\slash\" z=\"br\\]acket\" w=\"other\\q\"] escapes",
        b"<13>1 2024-01-02T03:04:05Z host app - - [a@1 x=\"1\"][b@2 y=\"2\"][c@3] three elements",
        b"<13>1 2024-01-02T03:04:05Z host app - - [a x=\"\"] empty value",
        b"<13>1 2024-01-02T03:04:05.123456789Z host app - - - long fraction",
        b"<13>1 - - - - - -",
        b"<13>1 - - - - - - nil everything",
        b"<13>1 2024-01-02T03:04:05Z host app - -",
        b"<13>1 2024-01-02T03:04:05Z host app - - -",
        b"<13>1 2024-01-02T03:04:05Z  app - - - empty host",
        b"<13>1 2024-01-02T03:04:05Z host aVeryLongApplicationNameThatIsLongerThanFortyEightCharacters - - - long app",
        b"<13>1 2024-01-02T03:04:05Z host app - - [x@1 a=\"v\"][",
        // broken RFC 5424
        b"<13>1 2024-01-02T03:04:05Z host app",
        b"<13>1 2024-01-02T03:04:05Z host app - - [a x=\"unterminated",
        b"<13>1 2024-01-02T03:04:05Z host app - - [a x=\"bad]close\"] msg",
        b"<13>1 2024-01-02T03:04:05Z host app - - [a x=noquote] msg",
        b"<13>1 2024-01-02T03:04:05Z host app - - [] empty id",
        b"<13>1 2024-01-02T03:04:05Z host app - - garbage-sd",
        b"<13>1 2024-01-02T03:04:05Z host app - - [a]x",
        b"<13>1 notadate host app - - - msg",
        b"<13>1 2024-01-02T03:04:05Z ho[st app - - - bracket in host",
        b"<13>2 2024-01-02T03:04:05Z host app - - - version 2",
        b"<13>01 2024-01-02T03:04:05Z host app - - - version 01",
        b"1 2024-01-02T03:04:05Z host app - - - no pri",
        b"<13>1 2024-01-02T03:04:05Z host app - - - \xff\xfe non-utf8 \xEF\xBB\xBF",
        b"<13>1",
        b"\n",
    ];
    text.iter().map(|m| m.to_vec()).collect()
}

fn config(dir: &Path, ports: &[u16]) -> String {
    let mut conf =
        String::from("@version: 3.38\noptions { keep-hostname(yes); use-dns(no); dns-cache(no); stats-freq(0); };\n");
    for ((name, flags), port) in SOURCES.iter().zip(ports) {
        let flags = if flags.is_empty() { String::new() } else { format!(" flags({})", flags.join(", ")) };
        let out = dir.join(format!("{name}.out"));
        let _ = writeln!(
            conf,
            "source s_{name} {{ network(transport(\"udp\") ip(127.0.0.1) port({port}){flags}); }};\n\
             destination d_{name} {{ file(\"{}\" template(\"{TEMPLATE}\")); }};\n\
             log {{ source(s_{name}); destination(d_{name}); }};",
            out.display()
        );
    }
    conf
}

fn read_records(path: &Path) -> Vec<Vec<u8>> {
    let data = fs::read(path).unwrap_or_default();
    let mut records: Vec<Vec<u8>> = data.split(|&b| b == 0x1e).map(|r| r.to_vec()).collect();
    records.pop(); // what follows the last separator
    records.into_iter().map(|r| r.strip_prefix(b"\n").map(<[u8]>::to_vec).unwrap_or(r)).collect()
}

fn push(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(field);
    out.push(0x1f);
}

fn sdata_escaped(out: &mut Vec<u8>, value: &[u8]) {
    for &c in value {
        if matches!(c, b'"' | b'\\' | b']') {
            out.push(b'\\');
        }
        out.push(c);
    }
}

/// The current UTC year and 1-based month.
fn now_year_month() -> (i64, u32) {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64;
    let (y, m, _) = civil_from_days(secs.div_euclid(86400));
    (y, m)
}

/// `$YEAR-$MONTH-$DAY $HOUR:$MIN:$SEC`, `$USEC` and `$TZOFFSET` of a parsed stamp: the
/// written wall-clock time normalised like `mktime` (day 32 is the next month's first),
/// shown in the stamp's own zone (UTC when it has none, as the source's zone is UTC).
fn format_stamp(out: &mut Vec<u8>, t: &Timestamp<'_>) {
    let year = match t.year {
        Some(y) => i64::from(y),
        None => {
            let (y, m) = now_year_month();
            match (t.month, m) {
                (12, 1) => y - 1,
                (1, 12) => y + 1,
                _ => y,
            }
        }
    };
    let month0 = i64::from(t.month) - 1;
    let days =
        days_from_civil(year + month0.div_euclid(12), month0.rem_euclid(12) as u32 + 1, 1) + i64::from(t.day) - 1;
    let secs = days * 86400 + i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second);
    // syslog-ng 3.38 subtracts (normalised hour - written hour) hours after normalising (a DST
    // correction that also fires when the written hour overflows).
    let normalised_hour = secs.rem_euclid(86400) / 3600;
    let secs = secs - (normalised_hour - i64::from(t.hour)) * 3600;
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let s = secs.rem_euclid(86400);
    let offset = t.offset.unwrap_or(0);
    let sign = if offset < 0 { '-' } else { '+' };
    let text = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}\x1f{:06}\x1f{sign}{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        t.usec,
        offset.abs() / 3600,
        offset.abs() / 60 % 60
    );
    out.extend_from_slice(text.as_bytes());
}

/// What syslog-ng's template prints for a message rsng-proto parsed.
fn format_parsed(m: &ParsedMessage<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    let pri = m.pri;
    for n in [pri.0, pri.facility(), pri.severity()] {
        push(&mut out, n.to_string().as_bytes());
    }
    push(&mut out, m.host.filter(|h| !h.is_empty()).unwrap_or(b"127.0.0.1"));
    push(&mut out, m.program);
    push(&mut out, m.pid.unwrap_or(b""));
    push(&mut out, m.msgid.unwrap_or(b""));
    push(&mut out, m.legacy_msghdr.unwrap_or(b""));
    let mut sdata = Vec::new();
    if let Some(seq) = m.cisco_sequence_id {
        sdata.extend_from_slice(b"[meta sequenceId=\"");
        sdata_escaped(&mut sdata, seq);
        sdata.extend_from_slice(b"\"]");
    }
    if let Some(synced) = m.time_synced {
        sdata.extend_from_slice(if synced { b"[timeQuality isSynced=\"1\"]" } else { b"[timeQuality isSynced=\"0\"]" });
    }
    for el in m.sd_elements() {
        sdata.push(b'[');
        sdata.extend_from_slice(el.id);
        for param in el.params() {
            sdata.push(b' ');
            sdata.extend_from_slice(param.name);
            sdata.extend_from_slice(b"=\"");
            sdata_escaped(&mut sdata, &param.value());
            sdata.push(b'"');
        }
        sdata.push(b']');
    }
    push(&mut out, &sdata);
    push(&mut out, &m.message_text());
    match m.stamp {
        Stamp::Parsed(t) => format_stamp(&mut out, &t),
        Stamp::None | Stamp::Nil => out.extend_from_slice(b"*\x1f*\x1f*"),
    }
    out
}

/// The record of a message syslog-ng rejected.
fn format_error(text: &[u8], pid: &str, local_seq: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let pri = PARSE_ERROR_PRI;
    for n in [pri, pri >> 3, pri & 7] {
        push(&mut out, n.to_string().as_bytes());
    }
    push(&mut out, b"127.0.0.1");
    push(&mut out, b"syslog-ng");
    push(&mut out, pid.as_bytes());
    push(&mut out, b"");
    push(&mut out, b"");
    push(&mut out, format!("[meta sequenceId=\"{local_seq}\"]").as_bytes());
    push(&mut out, text);
    out.extend_from_slice(b"*\x1f*\x1f*");
    out
}

/// Blanks the date fields of syslog-ng's record when rsng-proto says the message had no stamp.
fn mask_dates(record: &[u8], masked: bool) -> Vec<u8> {
    if !masked {
        return record.to_vec();
    }
    let fields: Vec<&[u8]> = record.split(|&b| b == 0x1f).collect();
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(0x1f);
        }
        out.extend_from_slice(if i >= 10 { b"*" } else { f });
    }
    out
}

fn diff(ours: &[u8], theirs: &[u8]) -> String {
    let a: Vec<&[u8]> = ours.split(|&b| b == 0x1f).collect();
    let b: Vec<&[u8]> = theirs.split(|&b| b == 0x1f).collect();
    let mut text = String::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).copied().unwrap_or(b"<missing>"), b.get(i).copied().unwrap_or(b"<missing>"));
        if x != y {
            let name = FIELDS.get(i).copied().unwrap_or("?");
            let _ = writeln!(
                text,
                "    {name}: rsng-proto {:?} / syslog-ng {:?}",
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y)
            );
        }
    }
    text
}

#[test]
fn parsed_fields_match_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let started = Instant::now();
    let dir = TempDir::new("parse").expect("temp dir");
    let messages = messages();
    let (oracle, ports, _) = RunningOracle::start_udp(dir.path(), SOURCES.len(), |ports| config(dir.path(), ports));
    oracle.send_udp(&ports, &messages);
    oracle.wait_for(15, || {
        SOURCES.iter().all(|(name, _)| read_records(&dir.path().join(format!("{name}.out"))).len() >= messages.len())
    });
    let pid = oracle.pid();
    oracle.stop();

    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, flag_names) in SOURCES {
        let mut flags = ParseFlags::default();
        for f in flag_names {
            assert!(flags.apply(f), "not a parser flag: {f}");
        }
        let options = ParseOptions::with_flags(flags);
        let records = read_records(&dir.path().join(format!("{name}.out")));
        assert_eq!(records.len(), messages.len(), "source {name}: syslog-ng wrote {} records", records.len());
        let mut local_seq = 0;
        for (msg, theirs) in messages.iter().zip(&records) {
            let (ours, masked) = match parse(msg, &options) {
                Ok(m) => (format_parsed(&m), !matches!(m.stamp, Stamp::Parsed(_))),
                Err(e) => {
                    local_seq += 1;
                    (format_error(&e.error_text(msg, &flags), &pid, local_seq), true)
                }
            };
            let theirs = mask_dates(theirs, masked);
            compared += 1;
            if ours != theirs {
                failures.push(format!(
                    "source {name} ({}), input {:?}:\n{}",
                    flag_names.join(","),
                    String::from_utf8_lossy(msg),
                    diff(&ours, &theirs)
                ));
            }
        }
    }
    eprintln!(
        "differential_parse: {} messages x {} sources = {compared} records compared, {} differ ({:.1?})",
        messages.len(),
        SOURCES.len(),
        failures.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{} of {compared} records differ:\n{}", failures.len(), failures.join("\n"));
}

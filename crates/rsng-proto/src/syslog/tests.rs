use super::*;

fn p(input: &[u8]) -> ParsedMessage<'_> {
    parse(input, &ParseOptions::default()).unwrap()
}

fn p5424(input: &[u8]) -> Result<ParsedMessage<'_>, ParseError> {
    let flags = ParseFlags { syslog_protocol: true, ..ParseFlags::default() };
    parse(input, &ParseOptions::with_flags(flags))
}

fn stamp<'a>(m: &ParsedMessage<'a>) -> Timestamp<'a> {
    match m.stamp {
        Stamp::Parsed(t) => t,
        other => panic!("no timestamp: {other:?}"),
    }
}

#[test]
fn rfc3164_full() {
    let m = p(b"<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed\n");
    assert_eq!((m.pri.facility(), m.pri.severity()), (4, 2));
    let t = stamp(&m);
    assert_eq!(
        (t.format, t.year, t.month, t.day, t.hour, t.minute, t.second),
        (TimestampFormat::Bsd, None, 10, 11, 22, 14, 15)
    );
    assert_eq!(m.host, Some(&b"mymachine"[..]));
    assert_eq!(m.program, b"su");
    assert_eq!(m.pid, Some(&b"123"[..]));
    assert_eq!(m.legacy_msghdr, Some(&b"su[123]: "[..]));
    assert_eq!(m.message, b"'su root' failed");
}

#[test]
fn missing_pri_and_timestamp() {
    let m = p(b"prog: hello");
    assert_eq!(m.pri, Priority(13));
    assert!(!m.pri_present);
    assert_eq!(m.stamp, Stamp::None);
    assert_eq!(m.host, None);
    assert_eq!(m.program, b"prog");
    assert_eq!(m.message, b"hello");
}

#[test]
fn pri_alone_and_odd_values() {
    let m = p(b"<13>");
    assert_eq!((m.program, m.message, m.legacy_msghdr), (&b""[..], &b""[..], Some(&b""[..])));
    assert_eq!(p(b"<999>x").pri, Priority(999));
    assert_eq!(Priority(999).facility(), 124);
    assert_eq!(p(b"<>x").pri, Priority(0));
    assert_eq!(p(b"<12").pri, Priority(12));
    assert_eq!(parse(b"<1a>x", &ParseOptions::default()), Err(ParseError { position: 0 }));
    assert_eq!(
        ParseError { position: 0 }.error_text(b"<1a>x\n", &ParseFlags::default()),
        b"Error processing log message: <1a>x"
    );
}

#[test]
fn single_digit_day_is_not_a_timestamp() {
    let m = p(b"<13>Jan 2 10:11:12 host prog: x");
    assert_eq!(m.stamp, Stamp::None);
    assert_eq!(m.program, b"Jan");
    let m = p(b"<13>Jan  2 10:11:12 host prog: x");
    assert_eq!(stamp(&m).day, 2);
    assert_eq!(p(b"<13>jan  2 10:11:12 host prog: x").stamp, Stamp::None);
    assert_eq!(stamp(&p(b"<13>JaN  2 10:11:12 host prog: x")).month, 1);
    assert_eq!(m.host, Some(&b"host"[..]));
}

#[test]
fn iso_pix_linksys_and_fraction() {
    let m = p(b"<13>2024-03-04T05:06:07.123456789+02:30 h p: x");
    let t = stamp(&m);
    assert_eq!((t.year, t.month, t.fraction, t.usec, t.offset), (Some(2024), 3, &b"123456789"[..], 123456, Some(9000)));
    let m = p(b"<13>Mar 04 2024 05:06:07: h p: x");
    let t = stamp(&m);
    assert_eq!((t.format, t.year), (TimestampFormat::Pix, Some(2024)));
    assert_eq!(m.host, Some(&b"h"[..]));
    let m = p(b"<13>Mar 04 05:06:07 2024 h p: x");
    assert_eq!(stamp(&m).format, TimestampFormat::Linksys);
    let m = p(b"<13>Mar  4 05:06:07.5 h p: x");
    assert_eq!(stamp(&m).usec, 500000);
}

#[test]
fn hostname_rules() {
    // no space after the program: not a hostname
    let m = p(b"<13>Jan  2 10:11:12 prog: x");
    assert_eq!((m.host, m.program), (None, &b"prog"[..]));
    let m = p(b"<13>Jan  2 10:11:12 prog[1]: x");
    assert_eq!((m.host, m.program, m.pid), (None, &b"prog"[..], Some(&b"1"[..])));
    // hex digits and colons look like IPv6
    let m = p(b"<13>Jan  2 10:11:12 abc: x");
    assert_eq!(m.host, Some(&b"abc:"[..]));
    let m = p(b"<13>Jan  2 10:11:12 fe80::1 prog: x");
    assert_eq!(m.host, Some(&b"fe80::1"[..]));
    let mut flags = ParseFlags { check_hostname: true, ..ParseFlags::default() };
    let m = parse(b"<13>Jan  2 10:11:12 ho$t prog: x", &ParseOptions::with_flags(flags)).unwrap();
    assert_eq!((m.host, m.program), (None, &b"ho$t"[..]));
    flags = ParseFlags { expect_hostname: false, ..ParseFlags::default() };
    let m = parse(b"<13>Jan  2 10:11:12 host prog: x", &ParseOptions::with_flags(flags)).unwrap();
    assert_eq!((m.host, m.program, m.message), (None, &b"host"[..], &b"prog: x"[..]));
}

#[test]
fn aix_and_repeated() {
    let m = p(b"<13>Jan  2 10:11:12 Message forwarded from aixhost: prog: x");
    assert_eq!((m.host, m.program), (Some(&b"aixhost"[..]), &b"prog"[..]));
    let m = p(b"<13>Jan  2 10:11:12 last message repeated 3 times");
    assert_eq!((m.host, m.program, m.legacy_msghdr), (None, &b""[..], None));
    assert_eq!(m.message, b"last message repeated 3 times");
}

#[test]
fn cisco_extras() {
    let m = p(b"<13>123: *Jan  2 10:11:12 host prog: x");
    assert_eq!(m.cisco_sequence_id, Some(&b"123"[..]));
    assert_eq!(m.time_synced, Some(false));
    assert_eq!(m.host, Some(&b"host"[..]));
    let m = p(b"<13>: x");
    assert_eq!(m.cisco_sequence_id, Some(&b""[..]));
}

#[test]
fn program_forms() {
    let m = p(b"<13>Jan  2 10:11:12 h prog[]: x");
    assert_eq!(m.pid, Some(&b""[..]));
    let m = p(b"<13>Jan  2 10:11:12 h prog[12");
    assert_eq!((m.program, m.pid), (&b"prog"[..], None));
    let m = p(b"<13>Jan  2 10:11:12 h prog:x");
    assert_eq!((m.program, m.message), (&b"prog"[..], &b"x"[..]));
    let m = p(b"<13>Jan  2 10:11:12 h prog x");
    assert_eq!((m.program, m.message, m.legacy_msghdr), (&b"prog"[..], &b"x"[..], Some(&b"prog "[..])));
}

#[test]
fn kernel_local() {
    let mut flags = ParseFlags { local: true, ..ParseFlags::default() };
    let m = parse(b"<4>something", &ParseOptions::with_flags(flags)).unwrap();
    assert_eq!((m.program, m.message), (&b"kernel"[..], &b"something"[..]));
    flags.kernel = true;
    let m = parse(b"x", &ParseOptions::with_flags(flags)).unwrap();
    assert_eq!(m.pri, Priority(KERNEL_DEFAULT_PRI));
    assert_eq!(m.program, b"kernel");
}

#[test]
fn trailing_newlines_and_nuls_stripped_cr_kept() {
    assert_eq!(p(b"<13>p: x\n\0\n").message, b"x");
    assert_eq!(p(b"<13>p: x\r\n").message, b"x\r");
}

#[test]
fn rfc5424_full() {
    let m = p5424(
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"x\\]\\\\\"][b@1] \xEF\xBB\xBFAn event",
    )
    .unwrap();
    assert_eq!(m.syntax, Syntax::Rfc5424);
    assert_eq!(m.pri, Priority(165));
    let t = stamp(&m);
    assert_eq!((t.year, t.usec, t.offset), (Some(2003), 3000, Some(0)));
    assert_eq!(m.host, Some(&b"mymachine.example.com"[..]));
    assert_eq!((m.program, m.pid, m.msgid), (&b"evntslog"[..], None, Some(&b"ID47"[..])));
    assert_eq!(m.message, b"An event");
    assert!(m.utf8);
    let els: Vec<_> = m.sd_elements().collect();
    assert_eq!(els.len(), 2);
    assert_eq!(els[0].id, b"exampleSDID@32473");
    let params: Vec<_> = els[0].params().collect();
    assert_eq!(params[0].name, b"iut");
    assert_eq!(&*params[1].value(), b"App\"x]\\");
    assert_eq!(els[1].id, b"b@1");
    assert_eq!(els[1].params().count(), 0);
}

#[test]
fn rfc5424_nil_values_and_fallback() {
    let m = p5424(b"<13>1 - - - - - -").unwrap();
    assert_eq!((m.stamp, m.host, m.program, m.pid, m.msgid), (Stamp::Nil, None, &b""[..], None, None));
    assert_eq!(m.structured_data, b"");
    let m = p5424(b"<13>Jan  2 10:11:12 host prog: x").unwrap();
    assert_eq!(m.syntax, Syntax::Rfc3164);
    let flags = ParseFlags { syslog_protocol: true, no_rfc3164_fallback: true, ..ParseFlags::default() };
    assert!(parse(b"<13>Jan  2 10:11:12 host prog: x", &ParseOptions::with_flags(flags)).is_err());
}

#[test]
fn rfc5424_errors_and_positions() {
    let input = b"<13>1 2020-01-01T00:00:00Z host app";
    let err = p5424(input).unwrap_err();
    assert_eq!(err.position, input.len());
    let text = err.error_text(input, &ParseFlags::default());
    assert_eq!(text, b"Error processing log message: <13>1 2020-01-01T00:00:00Z host ap>@<p".to_vec());
    assert!(p5424(b"<13>1 2020-01-01T00:00:00Z h a p m [x a=\"]\"] msg").is_err());
    assert!(p5424(b"<13>1 2020-01-01T00:00:00Z h a p m [x a=b] msg").is_err());
    assert!(p5424(b"<13>1 2020-01-01T00:00:00Z h a p m [x] msg").is_ok());
    assert!(p5424(b"<13>1 2020-01-01T00:00:00Z h a p m [x][").is_ok());
    assert!(p5424(b"<13>1 garbage h a p m - msg").is_err());
}

#[test]
fn sd_value_keeps_unknown_escapes() {
    let param = SdParam { name: b"a", raw_value: b"x\\ny\\\"" };
    assert_eq!(&*param.value(), b"x\\ny\"");
}

#[test]
fn flags_affecting_message() {
    let mut flags = ParseFlags { no_multi_line: true, ..ParseFlags::default() };
    let m = parse(b"<13>p: a\nb\rc", &ParseOptions::with_flags(flags)).unwrap();
    assert_eq!(&*m.message_text(), b"a b c");
    flags = ParseFlags { sanitize_utf8: true, ..ParseFlags::default() };
    let m = parse(b"<13>p: a\xffb\tc\\", &ParseOptions::with_flags(flags)).unwrap();
    assert_eq!(&*m.message_text(), b"a\\xffb\\tc\\\\");
    assert!(m.utf8);
    flags = ParseFlags { no_parse: true, ..ParseFlags::default() };
    let m = parse(b"<13>p: a\n", &ParseOptions::with_flags(flags)).unwrap();
    assert_eq!((m.pri, m.message, m.program), (Priority(13), &b"<13>p: a"[..], &b""[..]));
    let mut flags = ParseFlags::default();
    assert!(flags.apply("dont_store_legacy_msghdr"));
    assert!(!flags.apply("empty-lines"));
    let m = parse(b"<13>p: a", &ParseOptions::with_flags(flags)).unwrap();
    assert_eq!(m.legacy_msghdr, None);
}

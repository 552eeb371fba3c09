use std::sync::Arc;

use super::*;
use crate::message::{ReceiveInfo, TagId};
use rsng_proto::syslog::{parse, ParseFlags, ParseOptions};

fn msg_from(text: &[u8], ip: Option<IpAddr>) -> LogMessage {
    let info = ReceiveInfo::new("s_test", "10.1.2.3", ip, jiff::tz::TimeZone::UTC);
    let raw: Arc<[u8]> = Arc::from(text);
    let flags = ParseFlags { syslog_protocol: true, ..Default::default() };
    let parsed = parse(&raw, &ParseOptions::with_flags(flags)).expect("parses");
    LogMessage::from_parsed(raw.clone(), &parsed, &info)
}

fn msg(text: &[u8]) -> LogMessage {
    msg_from(text, "10.1.2.3".parse().ok())
}

fn eval(node: Node, m: &LogMessage) -> bool {
    Filter::new("t", node).eval(m, &mut FilterScratch::new())
}

fn re(subject: Subject, pattern: &str, kind: MatcherType, flags: &[&str]) -> Node {
    let mut f = MatcherFlags::default();
    for x in flags {
        assert!(f.set(x), "{x}");
    }
    Node::Match(Box::new(MatchNode { subject, matcher: Matcher::new(pattern, kind, f).expect("compiles") }))
}

fn cmp(l: &str, op: &str, r: &str, rhint: Option<&str>) -> Node {
    let t = |s: &str| compile(s, &CompileContext::new()).expect("template");
    Node::Compare(Box::new(Compare::new(
        Operand { template: t(l), hint: None },
        CompareOp::parse(op).expect("op"),
        Operand { template: t(r), hint: rhint.map(|h| ValueType::from_hint(h).expect("hint")) },
        false,
    )))
}

#[test]
fn priority_tests() {
    let m = msg(b"<34>Oct 11 22:14:15 host su[123]: failed"); // auth.crit
    assert!(eval(Node::Severity(code_range(3, 0) as u8), &m));
    assert!(!eval(Node::Severity(1 << 3), &m));
    assert!(eval(Node::Facility(FacilityTest::Mask(1 << 4)), &m));
    assert!(eval(Node::Facility(FacilityTest::Exact(4)), &m));
    assert!(!eval(Node::Facility(FacilityTest::Exact(3)), &m));
    assert_eq!(code_range(7, 5), 0b1110_0000);
    assert_eq!(code_range(16, 23), 0x00ff_0000);
}

#[test]
fn matchers_on_values() {
    let m = msg(b"<13>Jan  2 10:11:12 host prog[42]: hello World");
    assert!(eval(re(Subject::Value(ValueSel::new("PROGRAM")), "^pr", MatcherType::Pcre, &[]), &m));
    assert!(eval(re(Subject::Value(ValueSel::new("MESSAGE")), "world", MatcherType::Pcre, &["icase"]), &m));
    assert!(!eval(re(Subject::Value(ValueSel::new("MESSAGE")), "world", MatcherType::Pcre, &[]), &m));
    assert!(eval(re(Subject::Value(ValueSel::new("HOST")), "h*t", MatcherType::Glob, &[]), &m));
    assert!(eval(re(Subject::Value(ValueSel::new("SOURCE")), "s_test", MatcherType::String, &[]), &m));
    assert!(eval(re(Subject::Value(ValueSel::new("FACILITY")), "^user$", MatcherType::Pcre, &[]), &m));
    assert!(eval(re(Subject::ProgramPidMessage, "^prog\\[42\\]: hello", MatcherType::Pcre, &[]), &m));
    let t = compile("$HOST/$PROGRAM", &CompileContext::new()).expect("template");
    assert!(eval(re(Subject::Template(t), "^host/prog$", MatcherType::Pcre, &[]), &m));
}

#[test]
fn operators_and_calls() {
    let m = msg(b"<13>Jan  2 10:11:12 host prog[42]: x");
    let t = Node::Const(true);
    let f = Node::Const(false);
    assert!(eval(Node::Or(vec![f.clone(), Node::Not(Box::new(f.clone()))]), &m));
    assert!(!eval(Node::And(vec![t.clone(), f.clone()]), &m));
    let called = Arc::new(Filter::new("inner", Node::Severity(1 << 5)));
    assert!(eval(Node::Call(called), &m));
}

#[test]
fn netmasks() {
    let n = Netmask4::parse("10.1.0.0/16");
    assert_eq!((n.address, n.mask), (0x0a01_0000, 0xffff_0000));
    assert!(eval(Node::Netmask(n), &msg(b"<13>x")));
    assert!(eval(Node::Netmask(Netmask4::parse("10.0.0.0/255.0.0.0")), &msg(b"<13>x")));
    assert!(!eval(Node::Netmask(Netmask4::parse("10.1.2.4")), &msg(b"<13>x")));
    assert_eq!(Netmask4::parse("0.0.0.0/0").mask, 0);
    // Local messages count as 127.0.0.1 / ::1.
    let local = msg_from(b"<13>x", None);
    assert!(eval(Node::Netmask(Netmask4::parse("127.0.0.1/8")), &local));
    assert!(eval(Node::Netmask6(Netmask6::parse("::1/128")), &local));
    let v6 = msg_from(b"<13>x", "2001:db8::5".parse().ok());
    assert!(eval(Node::Netmask6(Netmask6::parse("2001:db8::/32")), &v6));
    assert!(!eval(Node::Netmask6(Netmask6::parse("2001:db9::/32")), &v6));
    assert!(!eval(Node::Netmask(Netmask4::parse("0.0.0.0/0")), &v6));
    assert!(!eval(Node::Netmask6(Netmask6::parse("2001:db8::/0")), &v6));
    assert_eq!(inet_aton("127.1"), Some(0x7f00_0001));
    assert_eq!(inet_aton("0x0a.010.0.1"), Some(0x0a08_0001));
    assert_eq!(inet_aton("1.2.3.256"), None);
}

#[test]
fn tags_and_lists() {
    let m = msg(b"<13>Jan  2 10:11:12 host prog[42]: x");
    assert!(eval(Node::Tags(vec![TagId::intern("nope"), TagId::intern(".source.s_test")]), &m));
    assert!(!eval(Node::Tags(vec![TagId::intern("nope")]), &m));
    let list = InList::from_contents(ValueSel::new("PROGRAM"), b"a\nprog\n\nlast");
    assert!(list.entries.contains(&b"las"[..]));
    assert!(eval(Node::InList(Box::new(list)), &m));
}

#[test]
fn comparisons() {
    let m = msg(b"<13>Jan  2 10:11:12 host prog[42]: x");
    assert!(eval(cmp("$PROGRAM", "==", "a", None), &m));
    assert!(!eval(cmp("$PROGRAM", "eq", "a", None), &m));
    assert!(eval(cmp("$PID", ">", "41", Some("int64")), &m));
    assert!(eval(cmp("$HOST", "ne", "other", None), &m));
    let nopid = msg(b"<13>Jan  2 10:11:12 host prog: x");
    assert!(eval(cmp("$PID", "<", "100", None), &nopid));
    assert!(!eval(cmp("$PID", "<", "100", Some("int64")), &nopid));
}

#[test]
fn evaluation_reuses_scratch_buffers() {
    let m = msg(b"<13>Jan  2 10:11:12 host prog[42]: some text");
    let f = Filter::new(
        "t",
        Node::And(vec![
            cmp("$MSG", "eq", "some text", None),
            re(Subject::ProgramPidMessage, "x", MatcherType::Pcre, &[]),
        ]),
    );
    let mut scratch = FilterScratch::new();
    f.eval(&m, &mut scratch);
    let caps = (scratch.left.capacity(), scratch.right.capacity());
    for _ in 0..100 {
        f.eval(&m, &mut scratch);
    }
    assert_eq!(caps, (scratch.left.capacity(), scratch.right.capacity()));
}

use std::sync::Arc;

use super::*;
use crate::filter::MatcherFlags;
use crate::message::ReceiveInfo;
use crate::template::{compile, CompileContext};

fn msg() -> LogMessage {
    let mut m = LogMessage::new(&ReceiveInfo::new("s", "h", None, jiff::tz::TimeZone::UTC));
    m.set_value("MESSAGE", b"hello world");
    m.set_pri(13);
    m
}

fn t(text: &str) -> Arc<Template> {
    Arc::new(compile(text, &CompileContext::new()).expect("template compiles"))
}

fn flags(names: &[&str]) -> MatcherFlags {
    let mut f = MatcherFlags::default();
    for n in names {
        assert!(f.set(n));
    }
    f
}

#[test]
fn set_and_unset() {
    let mut m = msg();
    Set::new("MESSAGE", t("[$MSG]"), FormatOptions::default()).apply(&mut m);
    assert_eq!(m.get("MESSAGE"), Some(&b"[hello world]"[..]));
    Set::new(".x", t(""), FormatOptions::default()).apply(&mut m);
    assert_eq!(m.get(".x"), Some(&b""[..]));
    Unset::new(".x").apply(&mut m);
    assert_eq!(m.get(".x"), None);
}

#[test]
fn subst_pcre_string_and_unset_values() {
    let mut m = msg();
    let s = Subst::new("MESSAGE", "(o)", false, &flags(&["global"]), t("<$1>"), FormatOptions::default())
        .expect("compiles");
    s.apply(&mut m);
    assert_eq!(m.get("MESSAGE"), Some(&b"hell<o> w<o>rld"[..]));
    assert_eq!(m.get("1"), Some(&b"o"[..]));
    let s = Subst::new(".unset", "^$", false, &flags(&[]), t("was-empty"), FormatOptions::default()).expect("compiles");
    s.apply(&mut m);
    assert_eq!(m.get(".unset"), Some(&b"was-empty"[..]));
    let s = Subst::new(".none", "", true, &flags(&[]), t("x"), FormatOptions::default()).expect("string");
    s.apply(&mut m);
    assert_eq!(m.get(".none"), None);
    let mut m = msg();
    let s =
        Subst::new("MESSAGE", "L", true, &flags(&["substring", "ignore-case", "global"]), t("_"), Default::default())
            .expect("string");
    s.apply(&mut m);
    assert_eq!(m.get("MESSAGE"), Some(&b"he__o wor_d"[..]));
    let s =
        Subst::new("MESSAGE", "he", true, &flags(&["prefix", "global"]), t("HE"), Default::default()).expect("string");
    s.apply(&mut m);
    assert_eq!(m.get("MESSAGE"), Some(&b"HE__o wor_d"[..]));
}

#[test]
fn tags_rename_and_pri() {
    let mut m = msg();
    SetTag::new(TagName::Template(t("t-$PRI"), FormatOptions::default()), true).apply(&mut m);
    assert!(m.tags().contains(TagId::intern("t-13")));
    SetTag::new(TagName::Fixed(TagId::intern("t-13")), false).apply(&mut m);
    assert!(!m.tags().contains(TagId::intern("t-13")));
    Rename::new("MSG", ".moved").apply(&mut m);
    assert_eq!(m.get(".moved"), Some(&b"hello world"[..]));
    assert_eq!(nv::get_if_set(&m, "MESSAGE"), None);
    Rename::new("PID", ".pid").apply(&mut m);
    assert_eq!(m.get(".pid"), None);
    let pri = |part, text: &str, m: &mut LogMessage| SetPri::new(part, t(text), Default::default()).apply(m);
    pri(PriPart::Severity, "err", &mut m);
    assert_eq!(m.pri(), 11);
    pri(PriPart::Facility, "local0", &mut m);
    assert_eq!(m.pri(), 16 * 8 + 3);
    pri(PriPart::Facility, "128", &mut m);
    assert_eq!(m.pri(), 16 * 8 + 3);
    pri(PriPart::Pri, " 42", &mut m);
    assert_eq!(m.pri(), 42);
    pri(PriPart::Pri, "42 ", &mut m);
    assert_eq!(m.pri(), 42);
    pri(PriPart::Severity, "8", &mut m);
    assert_eq!(m.pri(), 42);
}

#[test]
fn matches_and_groupset() {
    let mut m = msg();
    SetMatches::new(t("a,'b c',,d"), Default::default()).apply(&mut m);
    assert_eq!(m.get("1"), Some(&b"a"[..]));
    assert_eq!(m.get("2"), Some(&b"b c"[..]));
    assert_eq!(m.get("3"), Some(&b"d"[..]));
    Rewrite::UnsetMatches.apply(&mut m);
    assert_eq!(m.get("1"), None);
    m.set_value(".json.a", b"x");
    m.set_value(".json.b", b"y");
    let g =
        GroupSet::new(&[".json.*".into()], Some("<$_>"), &CompileContext::new(), Default::default()).expect("builds");
    g.apply(&mut m);
    assert_eq!(m.get(".json.a"), Some(&b"<x>"[..]));
    assert_eq!(m.get(".json.b"), Some(&b"<y>"[..]));
    let u = GroupSet::new(&[".json.a".into()], None, &CompileContext::new(), Default::default()).expect("builds");
    u.apply(&mut m);
    assert_eq!(m.get(".json.a"), None);
    assert_eq!(m.get(".json.b"), Some(&b"<y>"[..]));
}

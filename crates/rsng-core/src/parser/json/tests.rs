use super::*;
use crate::message::ReceiveInfo;

fn run(p: &JsonParser, input: &str) -> Option<Vec<(String, String)>> {
    let mut m = LogMessage::new(&ReceiveInfo::new("s", "h", None, jiff::tz::TimeZone::UTC));
    p.parse(&mut m, input.as_bytes()).then(|| {
        m.pairs()
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect()
    })
}

fn kv(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn plain() -> JsonParser {
    JsonParser::new(None, None, None, b'.')
}

#[test]
fn scalars_and_nesting() {
    assert_eq!(
        run(&plain(), r#"{"s":"x","i":-3,"d":1.5,"b":true,"n":null,"o":{"p":{"q":1}},"e":{}}"#),
        kv(&[("s", "x"), ("i", "-3"), ("d", "1.500000"), ("b", "true"), ("n", ""), ("o.p.q", "1")])
    );
    assert_eq!(
        run(&plain(), r#"{"big":99999999999999999999,"neg":-99999999999999999999}"#),
        kv(&[("big", "9223372036854775807"), ("neg", "-9223372036854775808")])
    );
    let p = JsonParser::new(Some(".j."), None, None, b'/');
    assert_eq!(run(&p, r#"{"a":{"b":"c"}}"#), kv(&[(".j.a/b", "c")]));
}

#[test]
fn arrays() {
    assert_eq!(
        run(&plain(), r#"{"l":["a b",1,true,null,"x,y"],"m":[1,{"k":"v/w"}],"z":[]}"#),
        kv(&[("l", "\"a b\",1,true,\"\",x,y"), ("m", r#"[1,{"k":"v\/w"}]"#), ("z", "")])
    );
    assert_eq!(run(&plain(), r#"["one", 2, [3]]"#), kv(&[("1", "one"), ("2", "2"), ("3", "[3]")]));
}

#[test]
fn lenient_syntax() {
    assert_eq!(
        run(&plain(), "{'a':'b', /* c */ \"t\":TRUE, // x\n \"u\":NaN, \"v\":-Infinity,}"),
        kv(&[("a", "b"), ("t", "true"), ("u", "nan"), ("v", "-inf")])
    );
    assert_eq!(run(&plain(), r#"{"a":1,"a":2,"b":3} trailing"#), kv(&[("a", "2"), ("b", "3")]));
    assert_eq!(run(&plain(), r#"{"u":"\u00e9\ud83d\ude00\ud800x"}"#), kv(&[("u", "\u{e9}\u{1f600}\u{fffd}x")]));
    assert_eq!(run(&plain(), r#"{"n":1e5,"m":2e+}"#), kv(&[("n", "100000.000000"), ("m", "2.000000")]));
}

#[test]
fn failures() {
    for bad in
        ["", "42", "\"s\"", "{", "{\"a\":}", "{\"a\" 1}", "[1 2]", "{\"a\":'x\\'y'}", "{\"a\":tru}", "{} /* open"]
    {
        assert_eq!(run(&plain(), bad), None, "{bad:?}");
    }
    let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
    assert_eq!(run(&plain(), &deep), None);
    let ok = format!("{{\"a\":{}{}}}", "[".repeat(30), "]".repeat(30));
    assert!(run(&plain(), &ok).is_some());
}

#[test]
fn marker_and_extract() {
    let p = JsonParser::new(None, Some("@cee:"), None, b'.');
    assert_eq!(run(&p, "@cee:  {\"a\":1}"), kv(&[("a", "1")]));
    assert_eq!(run(&p, "{\"a\":1}"), None);
    assert_eq!(run(&p, "@cee: {} /* open"), kv(&[]));
    let p = JsonParser::new(None, None, Some("x.y[1]"), b'.');
    assert_eq!(run(&p, r#"{"x":{"y":[{"a":1},{"b":2}]}}"#), kv(&[("b", "2")]));
    assert_eq!(run(&p, r#"{"x":{"y":[{"a":1}]}}"#), None);
    assert_eq!(ExtractPath::compile("[]"), ExtractPath(Some(vec![Step::Index(0)])));
    assert_eq!(ExtractPath::compile("a..b"), ExtractPath(None));
}

use rsng_config::{load_text, LoadOptions};
use rsng_core::message::ReceiveInfo;
use rsng_core::template::CompileContext;

use std::cell::RefCell;

use super::*;

/// Builds every driver of the parsers and rewrites of `body`, in order.
fn build_all(body: &str) -> Result<Vec<Box<dyn Transform>>, String> {
    let text = format!("@version: 3.38\n{body}\n");
    let loaded = load_text("t.conf", &text, &LoadOptions::default()).map_err(|e| format!("{e:?}"))?;
    let config = &loaded.config;
    let filters = rsng_config::filter_compile::compile_filters(config).map_err(|e| e.to_string())?;
    let compile = CompileContext::new();
    let persisted = RefCell::default();
    let globals = rsng_drivers::options::Globals::new(config);
    let ctx =
        TransformContext { config, globals: &globals, filters: &filters, compile: &compile, persisted: &persisted };
    let mut out = Vec::new();
    for (context, objects) in [(Context::Parser, &config.parsers), (Context::Rewrite, &config.rewrites)] {
        for obj in objects {
            for d in &obj.drivers {
                out.push(build(context, d, &ctx).map_err(|e| e.message)?);
            }
        }
    }
    Ok(out)
}

fn msg(text: &str) -> LogMessage {
    let mut m = LogMessage::new(&ReceiveInfo::new("s", "h", None, TimeZone::UTC));
    m.set_value("MESSAGE", text.as_bytes());
    m
}

#[test]
fn rewrites_with_conditions() {
    let t = build_all(
        r#"rewrite r { set("x-$MSG" value(".x") condition(message("yes"))); subst("a" "b" flags(global)); };"#,
    )
    .expect("builds");
    let mut m = msg("yes aa");
    assert!(t.iter().all(|t| t.process(&mut m)));
    assert_eq!(m.get(".x"), Some(&b"x-yes aa"[..]));
    assert_eq!(m.get("MESSAGE"), Some(&b"yes bb"[..]));
    let mut m = msg("no");
    assert!(t[0].process(&mut m));
    assert_eq!(m.get(".x"), None);
}

#[test]
fn parsers_fail_and_pass() {
    let t = build_all(
        r#"parser p { json-parser(prefix(".j.")); csv-parser(columns(a, b) flags(drop-invalid) template("$MSG")); };"#,
    )
    .expect("builds");
    let mut m = msg(r#"{"k": "v", "l": 1}"#);
    assert!(t[0].process(&mut m));
    assert_eq!(m.get(".j.k"), Some(&b"v"[..]));
    assert!(!t[1].process(&mut m));
    let mut m = msg("x y");
    assert!(!t[0].process(&mut m));
    assert!(t[1].process(&mut m));
    assert_eq!(m.get("b"), Some(&b"y"[..]));
}

#[test]
fn refusals_name_option_and_driver() {
    let err = |body: &str| build_all(body).err().unwrap_or_default();
    assert!(err(r#"rewrite r { subst("a" "b" type(glob)); };"#).contains("glob"));
    assert!(err(r#"parser p { date-parser(time-stamp(recvd)); };"#).contains("time-stamp"));
    assert!(err(r#"parser p { kv-parser(value-separator("::")); };"#).contains("value-separator"));
    assert!(err(r#"parser p { map-value-pairs(); };"#).contains("map-value-pairs"));
}

#[test]
fn named_input_template() {
    let t = build_all(r#"template t_in { template("$HOST"); }; parser p { kv-parser(template(t_in)); };"#);
    let t = t.expect("builds");
    let mut m = msg("");
    m.set_value("HOST", b"a=1");
    assert!(t[0].process(&mut m));
    assert_eq!(m.get("a"), Some(&b"1"[..]));
}

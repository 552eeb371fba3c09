//! Template compiler tests. Accept/reject decisions and syslog-ng's own
//! `error_pos` values were checked against syslog-ng 3.38.1 with
//! `syslog-ng --syntax-only` (nested offsets are mapped back to the outer
//! text by rsng, syslog-ng reports them relative to the argument).

use super::*;

fn ctx() -> CompileContext {
    CompileContext::new()
}

fn ok(text: &str) -> Template {
    match compile(text, &ctx()) {
        Ok(t) => t,
        Err(e) => panic!("{text:?} failed at {}: {}", e.offset, e.message),
    }
}

fn fails(text: &str) -> TemplateError {
    fails_in(text, &ctx())
}

fn fails_in(text: &str, ctx: &CompileContext) -> TemplateError {
    match compile(text, ctx) {
        Ok(t) => panic!("{text:?} compiled: {}", show(&t)),
        Err(e) => {
            assert!(e.offset <= text.len(), "{text:?}: offset {} past end", e.offset);
            e
        }
    }
}

fn assert_err(text: &str, offset: usize, message: &str) {
    let e = fails(text);
    assert_eq!((e.offset, e.message.as_str()), (offset, message), "{text:?}");
}

/// Compact rendering of a compiled template for assertions.
fn show(t: &Template) -> String {
    let mut out = String::new();
    for e in t.elems() {
        if !out.is_empty() {
            out.push(' ');
        }
        match e {
            Elem::Literal(s) => out.push_str(&format!("{s:?}")),
            Elem::Value(v) => {
                out.push('{');
                out.push_str(&v.name);
                if let Some(d) = &v.default {
                    out.push_str(":-");
                    out.push_str(d);
                }
                out.push('}');
                if let Some(n) = v.context_ref {
                    out.push_str(&format!("@{n}"));
                }
            }
            Elem::Func(f) => {
                out.push('(');
                out.push_str(&f.name);
                for a in &f.args {
                    out.push(' ');
                    match a {
                        FuncArg::Template(t) => out.push_str(&format!("[{}]", show(t))),
                        FuncArg::Filter(a) => out.push_str(&format!("F{:?}", a.text)),
                        FuncArg::Raw(a) => out.push_str(&format!("R{:?}", a.text)),
                        FuncArg::Invoke(r) => out.push_str(&format!("I{:?}", r.name)),
                        FuncArg::State(_) => out.push('S'),
                        FuncArg::External(_) => out.push('X'),
                        FuncArg::Option { name, value } => {
                            out.push_str("--");
                            out.push_str(name);
                            if let Some(v) = value {
                                out.push_str(&format!("={:?}", v.text));
                            }
                        }
                        FuncArg::Pair { key, type_hint, value } => {
                            out.push_str(key);
                            out.push('=');
                            if let Some(h) = type_hint {
                                out.push_str(h);
                            }
                            out.push_str(&format!("[{}]", show(value)));
                        }
                    }
                }
                out.push(')');
                if let Some(n) = f.context_ref {
                    out.push_str(&format!("@{n}"));
                }
            }
        }
    }
    out
}

fn assert_shows(text: &str, expected: &str) {
    assert_eq!(show(&ok(text)), expected, "{text:?}");
}

// ---------------------------------------------------------------- valid

#[test]
fn doc_default_file_template() {
    let t = ok("$ISODATE $HOST $MSGHDR$MSG\n");
    assert_eq!(show(&t), r#"{ISODATE} " " {HOST} " " {MSGHDR} {MSG} "\n""#);
    for e in t.elems() {
        if let Elem::Value(v) = e {
            assert_eq!(v.kind, ValueKind::Builtin, "{}", v.name);
        }
    }
}

#[test]
fn braced_names_take_anything_up_to_the_brace() {
    let t = ok("${.SDATA.ex@32473.k}");
    assert_eq!(show(&t), "{.SDATA.ex@32473.k}");
    let Elem::Value(v) = &t.elems()[0] else { panic!() };
    assert_eq!(v.kind, ValueKind::Pair);
    assert_shows("${.json.a b$(}x", r#"{.json.a b$(} "x""#);
    assert_shows("${}", "{}");
    assert_shows("$HOST.x", r#"{HOST} ".x""#);
    assert_shows("${HOST}.x", r#"{HOST} ".x""#);
}

#[test]
fn defaults_are_literal_text() {
    assert_shows("${HOST:-unknown}", "{HOST:-unknown}");
    assert_shows("${HOST:-}", "{HOST:-}");
    assert_shows("${HOST:-$PROGRAM}", "{HOST:-$PROGRAM}");
    assert_shows("${HOST:-a:-b}", "{HOST:-a:-b}");
    assert_shows("${:-x}", "{:-x}");
    let t = ok("${X:-d}");
    let Elem::Value(v) = &t.elems()[0] else { panic!() };
    assert_eq!(v.default.as_deref(), Some("d"));
}

#[test]
fn dollar_escapes() {
    assert_shows("$$", r#""$""#);
    assert_shows("a$$HOST", r#""a$HOST""#);
    assert_shows("$", r#""$""#);
    assert_shows("x$", r#""x$""#);
    assert_shows("$.$-$ $", r#""$.$-$ $""#);
    assert_shows("$é", r#""$é""#);
    assert_shows("x\\y\\$HOST", r#""x\\y\\" {HOST}"#);
    assert_eq!(ok("a$$b").as_literal(), Some("a$b"));
    assert_eq!(ok("").as_literal(), Some(""));
    assert!(ok("").is_empty());
    assert_eq!(ok("$HOST").as_literal(), None);
}

#[test]
fn match_groups() {
    let t = ok("$* $0 $255 $256 ${10} ${010} $1x");
    let kinds: Vec<ValueKind> = t
        .elems()
        .iter()
        .filter_map(|e| match e {
            Elem::Value(v) => Some(v.kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ValueKind::MatchAll,
            ValueKind::MatchGroup(0),
            ValueKind::MatchGroup(255),
            ValueKind::Pair,
            ValueKind::MatchGroup(10),
            ValueKind::Pair,
            ValueKind::Pair,
        ]
    );
    // `${*}` is a name-value pair called "*", not the match-all macro
    let t = ok("${*}");
    let Elem::Value(v) = &t.elems()[0] else { panic!() };
    assert_eq!(v.kind, ValueKind::Pair);
}

#[test]
fn context_references() {
    assert_shows("${HOST}@1", "{HOST}@1");
    assert_shows("${HOST}@12x", r#"{HOST}@12 "x""#);
    assert_shows("${HOST}@@", r#"{HOST} "@""#);
    assert_shows("${HOST}@@y", r#"{HOST} "@y""#);
    assert_shows("${HOST}@x", r#"{HOST} "@x""#);
    assert_shows("${HOST}@", r#"{HOST} "@""#);
    // unbraced references take no context reference
    assert_shows("$HOST@1", r#"{HOST} "@1""#);
    assert_shows("$HOST@@", r#"{HOST} "@@""#);
    assert_shows("$(echo x)@2", r#"(echo ["x"])@2"#);
    assert_shows("$(echo x)@@y", r#"(echo ["x"]) "@y""#);
    assert_shows("${X}@99999999999", "{X}@4294967295");
    assert_shows("user@host", r#""user@host""#);
}

#[test]
fn empty_function_call_drops_preceding_text() {
    // syslog-ng 3.38 renders "a$()b" as "b"
    assert_shows("a$()b", r#""b""#);
    assert_shows("$HOST a$(   )b", r#"{HOST} "b""#);
    assert_shows("a$()@3c", r#""c""#);
    assert!(ok("$()").is_empty());
}

#[test]
fn doc_format_json() {
    assert_shows(
        "$(format-json --scope rfc5424 --exclude DATE --key ISODATE)",
        r#"(format-json --scope="rfc5424" --exclude="DATE" --key="ISODATE")"#,
    );
    assert_shows("$(format_json --scope=rfc5424 -x DATE)", r#"(format_json --scope="rfc5424" --exclude="DATE")"#);
    assert_shows(
        "$(format-json a=int($PID) b=${HOST} --pair c=$MSG x= =y k*)",
        r#"(format-json a=int[{PID}] b=[{HOST}] c=[{MSG}] x=[] =["y"] R"k*")"#,
    );
    assert_shows(
        "$(format-json --key-delimiter / --leave-initial-dot --cast a=b)",
        r#"(format-json --key-delimiter="/" --leave-initial-dot --cast a=["b"])"#,
    );
    assert_shows("$(format-json -- --x=$HOST)", r#"(format-json --x=[{HOST}])"#);
    assert_shows("$(format-flat-json a=(x))", r#"(format-flat-json a=["(x)"])"#);
    assert_shows("$(values a=b)", r#"(values a=["b"])"#);
    assert_shows("$(names)", "(names)");
    let t = ok("$(format-json --pair=a=$HOST)");
    let Elem::Func(f) = &t.elems()[0] else { panic!() };
    assert_eq!(f.function, Function::Builtin(BuiltinFunction::FormatJson));
}

#[test]
fn doc_if() {
    assert_shows(r#"$(if ("${PID}" ne "") "[${PID}]" "")"#, r#"(if F"(\"${PID}\" ne \"\")" ["[" {PID} "]"] [])"#);
    let t = ok(r#"$(if ("${PID}" ne "") "[${PID}]" "")"#);
    let Elem::Func(f) = &t.elems()[0] else { panic!() };
    let FuncArg::Filter(cond) = &f.args[0] else { panic!() };
    assert_eq!(cond.offset, 5);
}

#[test]
fn nested_functions() {
    assert_shows("$(uppercase $(echo $(lowercase $HOST) x))", r#"(uppercase [(echo [(lowercase [{HOST}])] ["x"])])"#);
    assert_shows("$(echo ${HOST:-unknown})", "(echo [{HOST:-unknown}])");
    assert_shows("$(echo $(echo \"a b\") 'c d')", r#"(echo [(echo ["a b"])] ["c d"])"#);
    assert_shows(
        "$(grep -m 2 (\"a\" eq \"b\") $MSG $(echo x))",
        r#"(grep --max-count="2" F"(\"a\" eq \"b\")" [{MSG}] [(echo ["x"])])"#,
    );
    assert_shows("$(map $(+ 1 $_) $(explode , a,b))", r#"(map [(+ ["1"] [{_}])] [(explode [","] ["a,b"])])"#);
    assert_shows("$(iterate $(+ 1 $_) 0)", r#"(iterate [(+ ["1"] [{_}])] R"0" S)"#);
    assert_shows("$(filter (\"$_\" eq \"a\") a,b)", r#"(filter F"(\"$_\" eq \"a\")" ["a,b"])"#);
}

#[test]
fn argument_splitting() {
    assert_shows("$(echo a  b\t\nc )", r#"(echo ["a"] ["b"] ["c"])"#);
    assert_shows("$(   echo a)", r#"(echo ["a"])"#);
    assert_shows("$(echo \"\" x)", r#"(echo [] ["x"])"#);
    assert_shows("$(echo a\"b c\"d)", r#"(echo ["ab cd"])"#);
    assert_shows("$(\"echo\" x)", r#"(echo ["x"])"#);
    assert_shows("$(ec\"ho\" x)", r#"(echo ["x"])"#);
    assert_shows("$(echo 'a \"b')", r#"(echo ["a \"b"])"#);
    assert_shows("$(echo (a b))", r#"(echo ["(a b)"])"#);
    assert_shows("$(echo \\) x)", r#"(echo [")"] ["x"])"#);
    assert_shows("$(echo a\\ b)", r#"(echo ["a b"])"#);
    // backslash only escapes in argument lists; `\$` still reads as `$`
    assert_shows("$(echo \\$HOST \\\\x)", r#"(echo [{HOST}] ["\\x"])"#);
    // quotes inside nested parentheses are kept
    assert_shows("$(echo (\"a b\"))", r#"(echo ["(\"a b\")"])"#);
    assert_shows("$(echo é ü)", r#"(echo ["é"] ["ü"])"#);
}

#[test]
fn function_names() {
    assert_shows("$(list_concat a b)", r#"(list_concat ["a"] ["b"])"#);
    assert_shows("$(- 5 3)", r#"(- ["5"] ["3"])"#);
    assert_shows("$(_ 5 3)", r#"(_ ["5"] ["3"])"#);
    assert_shows("$(uuid)", "(uuid)");
    assert_shows("$(getent passwd root)", r#"(getent ["passwd"] ["root"])"#);
    assert_shows("$(context-length ${)", r#"(context-length R"${")"#);
    assert_shows("$(sum $X)", "(sum [{X}])");
    assert_shows("$(md5 $MSG)", "(md5 [{MSG}])");
    for f in BuiltinFunction::ALL {
        // every built-in is accepted with hyphens and with underscores,
        // given arguments that satisfy its arity
        let args = match f {
            BuiltinFunction::If => " (a) b c",
            BuiltinFunction::Grep | BuiltinFunction::ContextLookup => " (a) b",
            BuiltinFunction::Filter => " (a) b",
            BuiltinFunction::Map | BuiltinFunction::Iterate => " a b",
            BuiltinFunction::Padding => " a 5",
            BuiltinFunction::ListSearch => " a b",
            BuiltinFunction::Template => " $x",
            BuiltinFunction::Binary => " 1",
            // the key file must exist (any regular file will do for compiling)
            BuiltinFunction::Slog => " -k /etc/passwd -m mac x",
            _ => " x",
        };
        if *f == BuiltinFunction::Md4 {
            // refused by syslog-ng 3.38 built with OpenSSL 3
            assert_err("$(md4 x)", 0, "MD4 hash function is not available starting with OpenSSL 3.0.");
            continue;
        }
        ok(&format!("$({}{args})", f.name()));
        ok(&format!("$({}{args})", f.name().replace('-', "_")));
    }
}

#[test]
fn options() {
    assert_shows(
        "$(hash -l 5 x) $(hash x --length=5) $(sha1 -- -x)",
        r#"(hash --length="5" ["x"]) " " (hash ["x"] --length="5") " " (sha1 ["-x"])"#,
    );
    assert_shows(
        "$(sanitize -cC -i / --replacement=_ $MSG)",
        r#"(sanitize --ctrl-chars --no-ctrl-chars --invalid-chars="/" --replacement="_" [{MSG}])"#,
    );
}

#[test]
fn option_values_are_not_templates() {
    // verified: 3.38 accepts these
    ok("$(sanitize --invalid-chars ${ $MSG)");
    ok("$(dns-resolve-ip --use-fqdn ${ $SOURCEIP)");
    ok("$(padding $HOST 10 ${)");
    ok("$(iterate a ${)");
    ok("$(hash - x)");
    ok("$(list-search --mode literal --start-index 1 a ${L})");
}

#[test]
fn user_functions_and_named_templates() {
    let mut c = CompileContext::new();
    fails_in("$(my_fn)", &c);
    c.add_user_function("my-fn");
    assert_eq!(c.user_function("my_fn"), Some("my-fn"));
    let t = compile("x $(my_fn) $(my-fn)@1", &c).unwrap();
    assert_eq!(show(&t), r#""x " (my_fn ISome("my-fn")) " " (my-fn ISome("my-fn"))@1"#);
    let Elem::Func(f) = &t.elems()[1] else { panic!() };
    assert_eq!(f.function, Function::User("my-fn".to_owned()));
    let e = fails_in("$(my_fn a)", &c);
    assert_eq!(e.offset, 0);
    assert_eq!(e.message, "user defined template function $(my-fn) cannot have arguments");
    // a user function shadows a built-in
    c.add_user_function("echo");
    assert!(fails_in("$(echo a)", &c).message.starts_with("user defined"));
    assert!(compile("$(echo)", &c).is_ok());

    fails_in("$(template t_a)", &c);
    c.add_template("t_a");
    let t = compile("$(template t_a ${)", &c).unwrap();
    assert_eq!(show(&t), r#"(template ISome("t_a") R"t_a" R"${")"#);
    // named templates are looked up exactly
    let e = fails_in("$(template t-a)", &c);
    assert_eq!((e.offset, e.message.as_str()), (11, "$(template) Unknown template function or template \"t-a\""));
    assert_shows("$(template $t ${X})", "(template INone [{t}] [{X}])");
}

#[test]
fn invoking_named_templates_and_user_functions() {
    use crate::message::{LogMessage, ReceiveInfo};
    let raw: std::sync::Arc<[u8]> = std::sync::Arc::from(&b"<13>Jan  2 10:11:12 host prog: it's"[..]);
    let parsed = rsng_proto::syslog::parse(&raw, &rsng_proto::syslog::ParseOptions::default()).unwrap();
    let info = ReceiveInfo::new("s", "127.0.0.1", None, jiff::tz::TimeZone::UTC);
    let m = LogMessage::from_parsed(raw.clone(), &parsed, &info);
    let mut c = CompileContext::new();
    c.add_template("t_late");
    c.add_user_function("my-fn");
    // compiled before the bodies are known: bound at evaluation time
    let t =
        compile("$(template t_late)|$(my_fn)|$(template ${PROGRAM} a $HOST)|$(template t_$(echo late))", &c).unwrap();
    let mut out = Vec::new();
    assert!(t.format(&m, &FormatOptions::default(), &mut out).is_err());
    c.add_compiled_template("t_late", Arc::new(compile("<$MSG>", &c).unwrap()), true);
    c.add_user_function_body("my-fn", Arc::new(compile("$PROGRAM:$MSG", &c).unwrap()));
    let opts = FormatOptions::default();
    t.format(&m, &opts, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "<it\\'s>|prog:it's|a host|<it\\'s>");
    // a template that calls itself stops with an error instead of overflowing the stack
    c.add_template("t_self");
    let body = compile("x$(template t_self)", &c).unwrap();
    c.add_compiled_template("t_self", Arc::new(body.clone()), false);
    assert!(body.format(&m, &opts, &mut Vec::new()).is_err());
}

#[test]
fn unicode_and_odd_text() {
    assert_shows("héllo $HOST wörld ${ü}", r#""héllo " {HOST} " wörld " {ü}"#);
    assert_shows("日本$語", r#""日本$語""#);
    assert_shows("\0$\0", "\"\\0$\\0\"");
    assert_shows("}{)(", r#""}{)(""#);
}

// -------------------------------------------------------------- invalid

#[test]
fn unknown_functions() {
    assert_err("$(slug)", 2, "unknown template function \"slug\"");
    assert_err("ab $(  slug x)", 7, "unknown template function \"slug\"");
    assert_err("$(FORMAT-JSON)", 2, "unknown template function \"FORMAT-JSON\"");
    assert_err("$(base64_decode x)", 2, "unknown template function \"base64_decode\"");
    assert_err("$(\"\")", 2, "unknown template function \"\"");
    assert_err("$(echo $(slug))", 9, "unknown template function \"slug\"");
    assert_err("$(echo \"x\" $(\"sl\"ug))", 13, "unknown template function \"slug\"");
}

#[test]
fn missing_brace() {
    // error_pos = length of the template, as syslog-ng reports it
    assert_err("${HOST", 6, "invalid macro, '}' is missing");
    assert_err("abc ${", 6, "invalid macro, '}' is missing");
    // inside an argument: end of the argument (syslog-ng: error_pos='2')
    assert_err("$(echo ${)", 9, "invalid macro, '}' is missing");
    assert_err("$(echo $(echo ${))", 16, "invalid macro, '}' is missing");
    assert_err("$(echo \"${\")", 11, "invalid macro, '}' is missing");
}

#[test]
fn substitution_functions() {
    assert_err("${HOST:x}", 7, "unknown substitution function");
    assert_err("${HOST:}", 7, "unknown substitution function");
    assert_err("${a:b:-c}", 4, "unknown substitution function");
    assert_err("${a:+b}", 4, "unknown substitution function");
    assert_err("$(echo ${a:=b})", 11, "unknown substitution function");
}

#[test]
fn imbalanced_parentheses() {
    let m = IMBALANCED_MSG;
    assert_err("$(echo", 6, m);
    assert_err("$(", 2, m);
    assert_err("x $(((", 6, m);
    assert_err("$(echo (a b)", 12, m);
    assert_err("$(echo \\)", 9, m);
    assert_err("$(echo \\", 8, m);
    assert_err("$(echo $(echo x)", 16, m);
    assert_err("$(if (\"a\" eq \"b\" a b)", 21, m);
    // unterminated quote: at the quote
    assert_err("$(echo \"abc)", 7, m);
    assert_err("$(echo x \"abc)", 9, m);
    assert_err("$(echo 'abc)", 7, m);
    // the escaped quote is a quote again inside the argument
    // (syslog-ng: error_pos='7' relative to `$(echo ")`)
    assert_err("$(echo $(echo \\\"))", 15, m);
}

const IMBALANCED_MSG: &str = "invalid template function reference, missing function name or imbalanced '('";

#[test]
fn too_many_arguments() {
    let args64 = vec!["a"; 64].join(" ");
    ok(&format!("$(echo {args64})"));
    assert_err(
        &format!("x$(echo {args64} b)"),
        1,
        "too many arguments (65) to template function \"echo\", maximum number of arguments is 64",
    );
    assert_err(
        &format!("$(slug {args64} b)"),
        0,
        "too many arguments (65) to template function \"slug\", maximum number of arguments is 64",
    );
}

#[test]
fn arity_errors() {
    assert_err("$(if a)", 0, "$(if) requires three arguments");
    assert_err("$(if (\"a\" eq \"b\") x y z)", 0, "$(if) requires three arguments");
    assert_err("$(sum a b)", 0, "$(sum) requires only one argument");
    assert_err("$(average)", 0, "$(average) requires only one argument");
    assert_err("$(grep $MSG)", 0, "$(grep) requires at least two arguments");
    assert_err("$(context_lookup $MSG)", 0, "$(context_lookup) requires at least two arguments");
    assert_err("$(map x)", 0, "wrong number of arguments. Example: $(map template list).");
    assert_err("$(filter a)", 0, "wrong number of arguments. Example: $(filter expr list).");
    assert_err("$(iterate a)", 0, "wrong number of arguments. Example: $(iterate template initial-value).");
    assert_err("$(template)", 0, "$(template) requires one argument, that specifies the template name to be invoked");
    assert_err("$(template foo)", 11, "$(template) Unknown template function or template \"foo\"");
    assert_err(
        "$(padding $HOST)",
        0,
        "$(padding) Not enough arguments, usage $(padding <input> <width> [padding string])",
    );
    assert_err("$(binary)", 0, "$(binary) Incorrect parameters, usage $(binary <number> <number> ...)");
    assert_err("x$(padding $HOST '')", 1, "Padding template function requires a number as second argument!");
    assert_err("$(padding $HOST 5x)", 0, "Padding template function requires a number as second argument!");
    assert_err("$(hash --length 5)", 0, "$(hash) parsing failed, invalid number of arguments");
    assert_err(
        "$(dns-resolve-ip a b)",
        0,
        "dns-resolve-ip: too many arguments provided. usage: $(dns-resolve-ip [OPTIONS] IP)",
    );
    assert_err(
        "$(list-search a)",
        0,
        "$(list-search) List is missing. Usage: $(list-search [options] <pattern> ${list})",
    );
    assert_err(
        "$(list-search --mode foo a ${L})",
        21,
        "$(list-search) Invalid list-search mode: foo. Valid modes are: literal, prefix, substring, glob, pcre",
    );
    assert_err(
        "$(list-search --start-index x a b)",
        28,
        "Cannot parse integer value \u{201c}x\u{201d} for --start-index",
    );
    assert_err(
        "$(list-search --start-index 99999999999 a b)",
        28,
        "Integer value \u{201c}99999999999\u{201d} for --start-index out of range",
    );
    assert_err("$(list-search --mode pcre '(' a)", 0, "$(list-search) Failed to prepare pattern: (");
    ok("$(list-search --start-index 0x10 --start-index=-010 --mode pcre a+ b)");
}

#[test]
fn option_errors() {
    assert_err("$(hash --foo $MSG)", 7, "unknown option --foo");
    assert_err("$(format-json --foo=bar)", 14, "unknown option --foo=bar");
    assert_err("$(sanitize -x $MSG)", 11, "unknown option -x");
    assert_err("$(hash -5)", 7, "unknown option -5");
    assert_err("$(hash -cl 5 x)", 7, "unknown option -cl");
    // only one value-taking short option per cluster
    ok("$(sanitize -ic / $MSG)");
    assert_err("$(sanitize -ir / _ $MSG)", 11, "error parsing option -r");
    assert_err("$(format-json -sp rfc5424 a=b)", 14, "error parsing option -p");
    assert_err("$(values --key-delimiter / a=b)", 9, "unknown option --key-delimiter");
    assert_err("$(iterate --x a b)", 10, "unknown option --x");
    assert_err("$(hash --length)", 7, "missing argument for --length");
    assert_err("$(hash -l)", 7, "missing argument for -l");
    let e = fails("$(hash --help x)");
    assert_eq!(e.offset, 7);
    assert!(e.message.contains("--help"), "{}", e.message);
    fails("$(format-json -h)");
    // options of one function are not options of another
    ok("$(echo --foo -x)");
}

#[test]
fn errors_inside_arguments() {
    // all rejected by 3.38 as well
    assert_err("$(values a=${)", 13, "invalid macro, '}' is missing");
    assert_err("$(format-json --pair a=${)", 25, "invalid macro, '}' is missing");
    assert_err("$(format-json --pair=a=${)", 25, "invalid macro, '}' is missing");
    assert_err("$(format-json a=int(${))", 22, "invalid macro, '}' is missing");
    assert_err("$(format-json a=foo($PID))", 16, "unknown type specified in type hinting: foo");
    assert_err("$(format-json --pair a)", 21, "error parsing value-pairs: expected an equal sign in key=value pair");
    assert_err("$(hash --length 5 ${)", 20, "invalid macro, '}' is missing");
    assert_err("$(hash ${ --length 5)", 9, "invalid macro, '}' is missing");
    assert_err("$(if (\"a\" eq \"b\") ${ b)", 20, "invalid macro, '}' is missing");
    assert_err("$(map ${ a)", 8, "invalid macro, '}' is missing");
    assert_err("$(iterate ${ b)", 12, "invalid macro, '}' is missing");
    assert_err("$(list-search ${ a)", 16, "invalid macro, '}' is missing");
    assert_err("$(template $foo ${)", 18, "invalid macro, '}' is missing");
    assert_err("$(uuid ${)", 9, "invalid macro, '}' is missing");
    assert_err("$(echo ${X:y})", 11, "unknown substitution function");
    // quotes and escapes removed from the argument do not shift offsets
    assert_err("$(echo \"a\"\\b${X:y})", 16, "unknown substitution function");
}

// ------------------------------------------------------ depth and fuzzing

#[test]
fn deep_nesting_is_refused_without_overflow() {
    let n = 10_000;
    let text = format!("{}x{}", "$(echo ".repeat(n), ")".repeat(n));
    let e = fails(&text);
    assert_eq!(e.offset, MAX_NESTING_DEPTH * "$(echo ".len());
    assert!(e.message.contains("nested too deeply"), "{}", e.message);

    let text = format!("{}x{}", "$(echo ".repeat(MAX_NESTING_DEPTH), ")".repeat(MAX_NESTING_DEPTH));
    let mut t = ok(&text);
    for _ in 0..MAX_NESTING_DEPTH {
        let Some(Elem::Func(f)) = t.into_elems().pop() else { panic!() };
        let Some(FuncArg::Template(inner)) = f.args.into_iter().next() else { panic!() };
        t = inner;
    }
    assert_eq!(t.as_literal(), Some("x"));

    // unbalanced openers fail fast
    fails(&"$(".repeat(n));
    fails(&"$(((".repeat(n));
    fails(&"${".repeat(n));
    ok(&"$$(".repeat(n));
}

#[test]
fn odd_inputs_never_panic() {
    for text in [
        "$(",
        "${",
        "$(((",
        "$((()))",
        "$)",
        "$}",
        "${}}",
        "$(}",
        "${)",
        "$(\"",
        "$('",
        "$(\\",
        "$(\"\\",
        "$(@",
        "$()@",
        "$()@@",
        "$()@9",
        "${x}@",
        "@@",
        "$@",
        "$(echo)@",
        "\\",
        "$\\",
        "$(é",
        "${é",
        "$(echo é\\é)",
        "$(echo \u{1F600} $(echo \u{1F600}))",
        "$(\u{0})",
        "$(--)",
        "$(hash --)",
        "$(hash -)",
        "$(hash -- )",
        "$(format-json =)",
        "$(format-json a=()",
        "$(format-json a=b()",
        "$(format-json a=int( ))",
        "$(format-json a=int ($X))",
        "$(format-json a=_(x))",
        "$(values -p)",
        "$(values -p x)",
        "$(values --pair=)",
        "$(grep -m)",
        "$(grep -- (a) b)",
        "$(if)",
        "$(template $)",
        "$(padding a b c d e)",
        "$(list-search --mode)",
        "$(list-search --mode=)",
        "$(sanitize -)",
        "$( )",
        "$(\t\n)",
    ] {
        let _ = compile(text, &ctx());
    }
}

#[test]
fn random_inputs_never_panic() {
    const ALPHABET: &[&str] = &[
        "$",
        "$",
        "$",
        "(",
        ")",
        "{",
        "}",
        "\"",
        "'",
        "\\",
        "@",
        ":",
        "-",
        "=",
        " ",
        "a",
        "Z",
        "0",
        "9",
        "é",
        "\u{1F600}",
        "echo ",
        "if ",
        "format-json ",
        "--key ",
        "-m ",
        "--",
        "x=",
        "int(",
        "\t",
        "\0",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let c = ctx();
    for _ in 0..20_000 {
        let len = (next() % 24) as usize;
        let mut text = String::new();
        for _ in 0..len {
            text.push_str(ALPHABET[(next() % ALPHABET.len() as u64) as usize]);
        }
        if let Err(e) = compile(&text, &c) {
            assert!(e.offset <= text.len(), "{text:?}: {e:?}");
            assert!(text.is_char_boundary(e.offset), "{text:?}: {e:?}");
        }
    }
}

#[test]
fn error_display_is_the_message() {
    let e = fails("$(slug)");
    assert_eq!(e.to_string(), "unknown template function \"slug\"");
}

#[test]
fn max_nesting_fits_a_small_stack() {
    // about 2 KiB per level in debug builds; 1 MiB leaves ample room
    let compiled = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(|| {
            let text = format!(
                "{}x{}",
                "$(if (a) $(echo ".repeat(MAX_NESTING_DEPTH / 2),
                ") b)".repeat(MAX_NESTING_DEPTH / 2)
            );
            compile(&text, &CompileContext::new()).is_ok()
        })
        .unwrap()
        .join();
    assert!(matches!(compiled, Ok(true)));
}

#[test]
fn binary_numbers_are_checked_when_compiling() {
    assert_shows("$(binary 65 0x42 0103)", r#"(binary ["65"] ["0x42"] ["0103"])"#);
    let dec = "$(binary) template function requires list of dec/hex/oct numbers as arguments, unable to parse";
    assert_err("$(binary $PID)", 0, &format!("{dec} $PID as a dec number"));
    assert_err("$(binary 1 0x)", 0, &format!("{dec} 0x as a hex number"));
    assert_err("$(binary 08)", 0, &format!("{dec} 08 as a oct number"));
    assert_err("$(binary '')", 0, &format!("{dec}  as a dec number"));
    assert_err(
        "x$(binary 256)",
        1,
        "$(binary) template function only supports 8 bit values as characters, 256 is above 255",
    );
}

// ---------------------------------------------------------------- filters and evaluation

use std::sync::Arc;

use crate::filter::{Filter, Node};
use crate::message::LogMessage;

/// A stand-in for the configuration loader's filter compiler: `(yes)`,
/// `(no)`, `(notice)` (severity notice), and `(t TEMPLATE)`, which compiles
/// `TEMPLATE` with the same hook and passes.
fn toy_filter_ctx() -> CompileContext {
    let mut c = CompileContext::new();
    c.set_filter_compiler(Arc::new(|text: &str| {
        let node = match text {
            "(yes)" => Node::Const(true),
            "(no)" => Node::Const(false),
            "(notice)" => Node::Severity(1 << 5),
            _ => match text.strip_prefix("(t ").and_then(|t| t.strip_suffix(')')) {
                Some(inner) => {
                    compile(inner, &toy_filter_ctx()).map_err(|e| e.message)?;
                    Node::Const(true)
                }
                None => return Err(format!("unknown filter {text}")),
            },
        };
        Ok(Filter::new("", node))
    }));
    c
}

fn message(text: &[u8]) -> LogMessage {
    use rsng_proto::syslog::{parse, ParseFlags, ParseOptions};
    let raw: Arc<[u8]> = Arc::from(text);
    let flags = ParseFlags { syslog_protocol: true, ..Default::default() };
    let parsed = parse(&raw, &ParseOptions::with_flags(flags)).expect("parses");
    let info = crate::message::ReceiveInfo::new("s_net", "127.0.0.1", None, jiff::tz::TimeZone::UTC);
    LogMessage::from_parsed(raw.clone(), &parsed, &info)
}

/// The expansion of `text` for a `user.notice` message from `prog[42]`.
fn eval(text: &str) -> String {
    let m = message(b"<13>Jan  2 10:11:12 host prog[42]: a \"quoted\" /var/log/x");
    let t = compile(text, &toy_filter_ctx()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let mut out = Vec::new();
    t.format(&m, &FormatOptions { escape: true, ..Default::default() }, &mut out).expect("formats");
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn filter_arguments_use_the_hook() {
    let t = compile("$(if (yes) a b)", &toy_filter_ctx()).expect("compiles");
    let Elem::Func(f) = &t.elems()[0] else { panic!() };
    let FuncArg::Filter(cond) = &f.args[0] else { panic!() };
    assert!(cond.compiled.is_some());
    assert_eq!((cond.text.as_str(), cond.offset), ("(yes)", 5));
    // equal to the same template compiled without the hook: the text is what counts
    assert_eq!(t, ok("$(if (yes) a b)"));
    let e = fails_in("x$(grep -m 1 (bad) $MSG)", &toy_filter_ctx());
    assert_eq!(
        (e.offset, e.message.as_str()),
        (13, "$(grep) Error parsing conditional filter expression: unknown filter (bad)")
    );
    let e = fails_in("$(if (t $(nope)) a b)", &toy_filter_ctx());
    assert_eq!(e.message, "$(if) Error parsing conditional filter expression: unknown template function \"nope\"");
}

#[test]
fn nesting_through_filters_counts() {
    let nested = |levels: usize| format!("{}x{}", "$(if (t ".repeat(levels), ") a b)".repeat(levels));
    let results = std::thread::Builder::new()
        .stack_size(16 * 1024 * 1024)
        .spawn(move || {
            let c = toy_filter_ctx();
            (compile(&nested(MAX_NESTING_DEPTH / 2), &c).is_ok(), compile(&nested(MAX_NESTING_DEPTH + 1), &c))
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(results.0);
    assert!(results.1.unwrap_err().message.contains("nested too deeply"));
}

#[test]
fn conditional_functions() {
    assert_eq!(eval("$(if (yes) $PID no)|$(if (no) $PID no)|$(if (notice) '' x)"), "42|no|");
    // branches are not escaped by template-escape(yes), the surrounding macros are
    assert_eq!(eval("$(if (yes) $MSG x) $MSG"), "a \"quoted\" /var/log/x a \\\"quoted\\\" /var/log/x");
    assert_eq!(eval("$(grep (yes) $PID '' $PROGRAM)|$(grep -m 1 (no) $PID)"), "42,,prog|");
    assert_eq!(eval("$(or $MSGID '' $PID x)|$(or)|$(or '' '')"), "42||");
    assert_eq!(eval("$(context-length)|$(context-values $PID $MSG)"), "1|42,'a \"quoted\" /var/log/x'");
    assert_eq!(eval("$(context-lookup (yes) $PROGRAM ',')|$(context-lookup (no) x)"), "prog,\",\"|");
}

#[test]
fn numeric_functions() {
    assert_eq!(eval("$(+ $PID 1) $(- 1 $PID) $(* 3 -4) $(/ -7 2) $(% -7 3)"), "43 -41 -12 -3 -1");
    assert_eq!(
        eval("$(+ 1.5 1) $(/ 1 0) $(% 1 0.0) $(+ x 1) $(+ 1) $(- inf inf)"),
        "2.50000000000000000000 NaN NaN NaN NaN -nan"
    );
    assert_eq!(
        eval("$(+ 9223372036854775807 1) $(+ 9223372036854775808 0)"),
        "-9223372036854775808 9223372036854775808.00000000000000000000"
    );
    assert_eq!(
        eval("$(round 2.5) $(round 2.345 2) $(round 1 21) $(ceil -1.2) $(floor 1e30) $(ceil x)"),
        "3 2.35 NaN -1 -9223372036854775808 NaN"
    );
    assert_eq!(eval("$(sum $PID)|$(min ' -3')|$(max 1.5)|$(average $HOST)"), "42|-3||");
}

#[test]
fn string_functions() {
    assert_eq!(eval("$(dirname $MSG)|$(basename $MSG)|$(dirname x)|$(basename /)"), "a \"quoted\" /var/log|x|.|/");
    assert_eq!(eval("$(implode - a,b 'c d')|$(explode ' ' 'x y  z')|$(explode , a,)"), "a-b-c d|x,y,\"\",z|a,\"\"");
    assert_eq!(eval("$(ipv4-to-int 1.2.3.4 10.1)|$(binary 0x61 98 0143)"), "16909060,167772161|abc");
    assert_eq!(eval("$(base64-encode ab c)|$(base64-encode '')|$(base64-encode a)"), "YWJj||YQ==");
    assert_eq!(eval("$(url-encode 'a b' é)|$(url-decode %41%42 %zz c)"), "a%20b%C3%A9|ABc");
    assert_eq!(eval("$(hash abc)"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(eval("$(length $(uuid))"), "36");
}

#[test]
fn compiled_templates_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Template>();
    shared::<CompileContext>();
}

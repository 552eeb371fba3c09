//! Every option the option tables accept for a driver rsng runs (and every global option) is
//! put into a configuration of its own. Either [`unused_options`] warns about it, or starting
//! that configuration asks the IR for it (or refuses it with an error naming it), or it is one
//! of the options documented to do nothing in syslog-ng either. An option added to the tables
//! without any of these fails here.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use rsng_config::ir::{record_reads, OptionRead};
use rsng_config::schema::{Context, DriverSpec, Kind, OptionSpec, Status, DRIVERS, GLOBAL_OPTIONS};
use rsng_config::{load_text, LoadOptions};

use rsng_drivers::consumed::{self, Consumes};

use super::*;

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("rsng-unused-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("exists"), b"x").expect("scratch file");
        Scratch(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A value of `spec` that the front end accepts, as configuration text.
fn value_of(spec: &OptionSpec, scratch: &Scratch) -> Vec<String> {
    let by_name = match spec.name {
        "port" | "localport" | "destport" => Some("0".to_string()),
        "ip" | "localip" => Some("\"127.0.0.1\"".into()),
        "interface" => Some("\"lo\"".into()),
        "time-zone" | "recv-time-zone" | "send-time-zone" | "local-time-zone" => Some("\"+01:00\"".into()),
        "transport" => Some("\"tcp\"".into()),
        "encoding" => Some("\"ISO-8859-2\"".into()),
        "format" => Some("\"syslog\"".into()),
        "perm" | "dir-perm" => Some("0644".into()),
        "bad-hostname" => Some("\"^gconfd$\"".into()),
        "file-template" | "proto-template" => Some("t_user".into()),
        "multi-line-prefix" | "multi-line-garbage" => Some("\"^x\"".into()),
        "filename-pattern" => Some("\"*.log\"".into()),
        "value" => Some("\"v\"".into()),
        "patterns" => Some("\"(?<a>x)\"".into()),
        "columns" => Some("\"a\" \"b\"".into()),
        "delimiters" => Some("\",\"".into()),
        "value-separator" | "key-delimiter" => Some("\"=\"".into()),
        "servers" => Some("\"127.0.0.2\"".into()),
        "topic" => Some("\"syslog\"".into()),
        "dir" => Some(format!("\"{}\"", scratch.path("dbuf"))),
        "curve-list" | "ecdh-curve-list" => Some("\"prime256v1\"".into()),
        _ => None,
    };
    if let Some(v) = by_name {
        return vec![v];
    }
    match spec.kind {
        Kind::YesNo => vec!["yes".into()],
        Kind::Integer { min } => vec![min.max(1).to_string()],
        Kind::Float | Kind::NonNegativeFloat => vec!["0.5".into()],
        Kind::NameValuePairs => vec!["\"name\" => \"value\"".into()],
        Kind::String | Kind::StringOrNumber | Kind::StringList | Kind::Any => vec!["\"x\"".into()],
        Kind::Template | Kind::TemplateRef => vec!["\"$MSG\\n\"".into()],
        Kind::ExistingFile => vec![format!("\"{}\"", scratch.path("exists"))],
        Kind::Path => vec![format!("\"{}\"", scratch.path("p"))],
        Kind::Encoding => vec!["\"ISO-8859-2\"".into()],
        Kind::User | Kind::UnixGroup => vec!["\"\"".into()],
        Kind::Perm => vec!["0644".into()],
        Kind::Enum(values) => vec![values[0].into()],
        // Quoted: some flags are keywords of the grammar.
        Kind::Flags { values, .. } => values.iter().map(|v| format!("\"{v}\"")).collect(),
        Kind::Nested(inner) => inner
            .iter()
            .filter(|o| matches!(o.status, Status::Current | Status::Obsolete(_)))
            .map(|o| format!("{}({})", o.name, value_of(o, scratch)[0]))
            .collect(),
        Kind::FilterExpr => vec!["program(\"x\")".into()],
        Kind::Facility => vec!["local0".into()],
        Kind::Level => vec!["info".into()],
    }
}

/// The driver under test with `option` (text) added, and the rest of a configuration that
/// starts.
fn config_text(spec: &DriverSpec, option: &str, scratch: &Scratch) -> Option<String> {
    let path = |n: &str| scratch.path(n);
    // network() and syslog() take tls() only with transport("tls").
    let tls = if option.starts_with("tls(") && matches!(spec.name, "network" | "syslog") {
        "transport(\"tls\") "
    } else {
        ""
    };
    let driver = match (spec.context, spec.name) {
        (Context::Source, "tcp6" | "udp6") => format!("{}(ip(\"::1\") port(0) {option})", spec.name),
        (Context::Source, "network" | "syslog" | "tcp" | "udp") => {
            format!("{}(ip(\"127.0.0.1\") port(0) {tls}{option})", spec.name)
        }
        (Context::Source, "unix-stream" | "unix-dgram") => format!("{}(\"{}\" {option})", spec.name, path("sock")),
        (Context::Source, "file") => format!("file(\"{}\" {option})", path("in")),
        (Context::Source, "wildcard-file") => {
            format!("wildcard-file(base-dir(\"{}\") filename-pattern(\"*.log\") {option})", path("wild"))
        }
        (Context::Source, "pipe") => format!("pipe(\"{}\" {option})", path("fifo")),
        // stdin() applies them to the test's own standard input, often /dev/null itself (as
        // syslog-ng does); file() covers the same options.
        (Context::Source, "stdin") if ["perm(", "owner(", "group("].iter().any(|p| option.starts_with(p)) => {
            return None
        }
        (Context::Source, "stdin") => format!("stdin({option})"),
        (Context::Source, "program") => format!("program(\"sleep 60\" {option})"),
        (Context::Source, "internal") => format!("internal({option})"),
        (Context::Source, "systemd-journal") => format!("systemd-journal({option})"),
        // Binds /dev/log.
        (Context::Source, "system") => return None,
        // Needs a systemd host and a passed socket.
        (Context::Source, "systemd-syslog") => return None,
        (Context::Destination, "unix-stream" | "unix-dgram") => {
            format!("{}(\"{}\" {option})", spec.name, path("dsock"))
        }
        (Context::Destination, "file") => format!("file(\"{}\" {option})", path("out")),
        (Context::Destination, "pipe") => format!("pipe(\"{}\" {option})", path("dfifo")),
        (Context::Destination, "program") => format!("program(\"cat >/dev/null\" {option})"),
        (Context::Destination, "usertty") => format!("usertty(\"nobody\" {option})"),
        (Context::Destination, "http") if option.starts_with("url(") => format!("http({option})"),
        (Context::Destination, "http") => format!("http(url(\"http://127.0.0.1:1/\") {option})"),
        (Context::Destination, "kafka-c") => {
            // The required options, and a fallback topic for a templated topic(), unless tested.
            let base = ["bootstrap-servers(\"127.0.0.1:1\")", "topic(\"t\")", "fallback-topic(\"f\")"];
            let base: Vec<&str> =
                base.into_iter().filter(|b| !option.starts_with(b.split('(').next().unwrap_or(b))).collect();
            format!("kafka-c({} {option})", base.join(" "))
        }
        (Context::Destination, "redis") if option.starts_with("command(") => format!("redis({option})"),
        // port() of redis() must be positive (the generic value is 0, a free port).
        (Context::Destination, "redis") if option.starts_with("port(") => {
            "redis(command(\"SET\" \"k\" \"$MSG\") port(6379))".to_string()
        }
        (Context::Destination, "redis") => format!("redis(command(\"SET\" \"k\" \"$MSG\") {option})"),
        (Context::Destination, "mqtt") if option.starts_with("topic(") => {
            format!("mqtt({option} fallback-topic(\"f\"))")
        }
        (Context::Destination, "mqtt") => format!("mqtt(topic(\"t\") {option})"),
        (Context::Source, "mqtt") if option.starts_with("topic(") => "mqtt(topic(\"t\"))".to_string(),
        (Context::Source, "mqtt") => format!("mqtt(topic(\"t\") {option})"),
        // host() and trap-obj() are required; some generic sample values are refused.
        (Context::Destination, "snmp") => {
            let trap_obj = "trap-obj(\"1.3.6.1.6.3.1.1.4.1.0\", \"Objectid\", \"1.3.6.1.4.1\")";
            let name = option.split('(').next().unwrap_or_default();
            let option = match name {
                "port" => "port(162)",
                "version" => "version(\"v2c\")",
                "auth-algorithm" => "auth-algorithm(\"SHA\")",
                "enc-algorithm" => "enc-algorithm(\"AES\")",
                "snmp-obj" => "snmp-obj(\"1.3.6.1.2\", \"Octetstring\", \"$MSG\")",
                "trap-obj" => trap_obj,
                _ => option,
            };
            let trap = if name == "trap-obj" { "" } else { trap_obj };
            let host = if name == "host" { "" } else { "host(\"127.0.0.1\")" };
            format!("snmp({host} {trap} {option})")
        }
        // columns() and values() are required, in equal numbers.
        (Context::Destination, "sql") => {
            let base = ["type(pgsql)", "host(\"127.0.0.1\")", "port(1)", "columns(\"a\")", "values(\"$MSG\")"];
            let base: Vec<&str> =
                base.into_iter().filter(|b| !option.starts_with(b.split('(').next().unwrap_or(b))).collect();
            format!("sql({} {option})", base.join(" "))
        }
        // port() must be positive (the generic value is 0, a free port).
        (Context::Destination, "amqp") if option.starts_with("port(") => {
            "amqp(port(1) username(\"u\") password(\"p\"))".to_string()
        }
        // PLAIN authentication (the default) needs both.
        (Context::Destination, "amqp") => {
            let base = ["port(1)", "username(\"u\")", "password(\"p\")"];
            let base: Vec<&str> =
                base.into_iter().filter(|b| !option.starts_with(b.split('(').next().unwrap_or(b))).collect();
            format!("amqp({} {option})", base.join(" "))
        }
        // It takes exactly one option, as in syslog-ng's grammar.
        (Context::Destination, "example-destination") => format!("example-destination({option})"),
        (Context::Destination, name) => format!("{name}(\"127.0.0.1\" port(1) {tls}{option})"),
        (Context::Parser, "regexp-parser") => format!("regexp-parser(patterns(\"x\") {option})"),
        (Context::Parser, name) => format!("{name}({option})"),
        (Context::Rewrite, "subst") => format!("subst(\"a\" \"b\" {option})"),
        (Context::Rewrite, "rename") => format!("rename(\"a\" \"b\" {option})"),
        (Context::Rewrite, "unset" | "groupunset" | "unset-matches") => format!("{}({option})", spec.name),
        (Context::Rewrite, "groupset") => format!("groupset(\"x\" values(\"a\") {option})"),
        (Context::Rewrite, name) => format!("{name}(\"x\" {option})"),
        _ => return None,
    };
    let (source, destination, element) = match spec.context {
        Context::Source => (driver, format!("file(\"{}\")", path("o")), String::new()),
        Context::Destination => ("internal()".to_string(), driver, String::new()),
        Context::Parser => {
            ("internal()".into(), format!("file(\"{}\")", path("o")), format!("parser {{ {driver}; }};"))
        }
        _ => ("internal()".into(), format!("file(\"{}\")", path("o")), format!("rewrite {{ {driver}; }};")),
    };
    Some(format!(
        "@version: 3.38\ntemplate t_user {{ template(\"$MSG\\n\"); }};\n\
         source s {{ {source}; }};\ndestination d {{ {destination}; }};\n\
         log {{ source(s); {element} destination(d); }};\n"
    ))
}

enum Outcome {
    Warned,
    Read,
    Refused,
    NoEffect,
    Silent(String),
}

/// Loads `text`, checks it, and starts it while recording reads; `option` is the option (or
/// `group.option`, or `flags(word)`) whose fate is asked for; `consumes` what the driver (or
/// `options {}`) declares.
fn outcome(rt: &tokio::runtime::Runtime, text: &str, option: &str, consumes: Option<Consumes>) -> Outcome {
    let global = consumes.is_some_and(|c| std::ptr::eq(c.options, consumed::globals().options));
    let loaded = match load_text("t.conf", text, &LoadOptions::default()) {
        Ok(l) => l,
        Err(e) => return Outcome::Silent(format!("the test's configuration does not load: {e:?}\n{text}")),
    };
    let config = &loaded.config;
    let top = option.split(['.', '(']).next().unwrap_or(option);
    let leaf = option.rsplit('.').next().unwrap_or(option);
    // A group rsng does not run at all is warned about as a whole.
    let warned = unused_options(config).iter().any(|w| w.option == option || w.option == top && option.contains('.'));
    // Parsers and rewrite rules have no table: an option of theirs that does nothing in
    // syslog-ng either is warned about by the front end.
    let front_end_warned =
        consumes.is_none() && loaded.warnings.iter().any(|w| w.diagnostic().message.contains(&format!("`{top}()`")));
    let value_of_option = config
        .sources
        .iter()
        .chain(&config.destinations)
        .flat_map(|o| &o.drivers)
        .flat_map(|d| &d.options)
        .chain(&config.options)
        .find(|o| o.name == top)
        .map(|o| o.value.clone());
    let inert = consumes.zip(value_of_option).is_some_and(|(c, v)| c.inert(top, &v));
    let _guard = rt.enter();
    let (started, reads) = record_reads(|| crate::start(config, &crate::StartOptions::default()));
    let mine = |r: &OptionRead| r.driver.is_none() == global;
    let read_exactly = reads.iter().any(|r| mine(r) && r.name == option);
    // The TLS settings reader takes every option of `tls()` (refusing what it cannot do).
    let read =
        read_exactly || reads.iter().any(|r| mine(r) && r.name == top && (!option.contains('.') || top == "tls"));
    let refused = match started {
        Ok(running) => {
            rt.block_on(running.stop(Duration::ZERO));
            false
        }
        // Named as written, or as the socket option (`SO_REUSEPORT`).
        Err(e)
            if [top, leaf].iter().any(|n| {
                let message = e.message.to_ascii_lowercase();
                message.contains(n) || message.contains(&n.replace('-', "_"))
            }) =>
        {
            true
        }
        Err(e) if e.message.contains("cannot run in rsng") => true,
        Err(e) if warned => return Outcome::Silent(format!("warned about, then start failed: {}\n{text}", e.message)),
        Err(e) => return Outcome::Silent(format!("start failed: {}\n{text}", e.message)),
    };
    if warned && read_exactly {
        return Outcome::Silent(format!("warned about although it is read\n{text}"));
    }
    if warned {
        Outcome::Warned
    } else if refused {
        Outcome::Refused
    } else if read {
        Outcome::Read
    } else if consumes.is_some_and(|c| c.has_no_effect(option)) || inert || front_end_warned {
        Outcome::NoEffect
    } else {
        Outcome::Silent(format!("neither read nor warned about\n{text}"))
    }
}

#[test]
fn every_accepted_option_is_used_or_warned_about() {
    let scratch = Scratch::new();
    let fifo = |n: &str| {
        let _ = std::process::Command::new("mkfifo").arg(scratch.path(n)).status();
    };
    fifo("fifo");
    fifo("dfifo");
    std::fs::create_dir_all(scratch.path("wild")).expect("wild dir");
    std::fs::create_dir_all(scratch.path("dbuf")).expect("disk-buffer dir");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut silent = Vec::new();
    let mut seen = HashSet::new();
    let mut report = |what: String, o: Outcome| {
        if let Outcome::Silent(why) = o {
            let why = if std::env::var_os("RSNG_SHOW_OPTION_FATES").is_some() {
                why.as_str()
            } else {
                why.lines().next().unwrap_or_default()
            };
            silent.push(format!("{what}: {why}"));
        } else if std::env::var_os("RSNG_SHOW_OPTION_FATES").is_some() {
            let fate = match o {
                Outcome::Warned => "warned",
                Outcome::Read => "read",
                Outcome::NoEffect => "no effect",
                _ => "refused",
            };
            eprintln!("{what}: {fate}");
        }
    };
    let usable = |o: &OptionSpec| matches!(o.status, Status::Current | Status::Obsolete(_));
    for spec in DRIVERS {
        for option in spec.options.iter().flat_map(|set| set.iter()).filter(|o| usable(o)) {
            if !seen.insert((spec.context, spec.name, option.name)) {
                continue;
            }
            let values = value_of(option, &scratch);
            let per_value = matches!(option.kind, Kind::Flags { .. } | Kind::Nested(_));
            for v in &values {
                let (text_option, asked) = match option.kind {
                    Kind::Flags { .. } => {
                        (format!("{}({v})", option.name), format!("{}({})", option.name, v.trim_matches('"')))
                    }
                    Kind::Nested(_) => {
                        let inner = v.split('(').next().unwrap_or(v);
                        (format!("{}({v})", option.name), format!("{}.{inner}", option.name))
                    }
                    _ => (format!("{}({v})", option.name), option.name.to_string()),
                };
                let text_option =
                    if per_value { text_option } else { format!("{}({})", option.name, values.join(" ")) };
                let Some(text) = config_text(spec, &text_option, &scratch) else { continue };
                let what = format!("{} {}(): {asked}", spec.context.name(), spec.name);
                report(what, outcome(&rt, &text, &asked, consumed::driver(spec.context, spec.name)));
                if !per_value {
                    break;
                }
            }
        }
    }
    let tcp = DRIVERS.iter().find(|d| d.name == "tcp" && d.context == Context::Source).expect("tcp()");
    for option in GLOBAL_OPTIONS.iter().filter(|o| usable(o)) {
        for v in value_of(option, &scratch) {
            let (opt_text, asked) = match option.kind {
                Kind::Nested(_) => {
                    let inner = v.split('(').next().unwrap_or(&v).to_string();
                    (format!("{}({v})", option.name), format!("{}.{inner}", option.name))
                }
                _ => (format!("{}({v})", option.name), option.name.to_string()),
            };
            // A file name with a macro: `time-reap()` only matters then.
            // A network destination too: `proto-template()` only matters then.
            let text = config_text(tcp, "", &scratch)
                .expect("tcp() config")
                .replace("/o\")", "/o-$PROGRAM\")")
                .replace("destination(d); }", "destination(d); destination(n); }")
                .replace("\nlog {", "\ndestination n { network(\"127.0.0.1\" port(1)); };\nlog {");
            let text = text.replacen("\n", &format!("\noptions {{ {opt_text}; }};\n"), 1);
            report(format!("options: {asked}"), outcome(&rt, &text, &asked, Some(consumed::globals())));
        }
    }
    assert!(silent.is_empty(), "{} options are silently ignored:\n{}", silent.len(), silent.join("\n"));
}

//! Two destinations that syslog-ng would keep under the same persist name (the same file, the
//! same server, the same `persist-name()`) stop start-up there; they are refused here, so that
//! `--syntax-only` says so too. The names are syslog-ng 3.38's, as its error message shows them.

use std::collections::HashMap;

use super::Lowerer;
use crate::diagnostic::{codes, Diagnostic};
use crate::ir::{self, LogElement, LogPath, Value};
use crate::schema::Context;
use crate::source_map::FileSpan;

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) | Value::Raw(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        Value::List(items) => items.first().and_then(text),
        _ => None,
    }
}

fn option(d: &ir::Driver, name: &str) -> Option<String> {
    d.options.iter().rev().find(|o| o.name == name).and_then(|o| text(&o.value))
}

fn positional(d: &ir::Driver) -> String {
    d.positional.first().and_then(text).unwrap_or_default()
}

/// The persist name syslog-ng 3.38 gives destination driver `d`, for the drivers whose names
/// can collide.
fn persist_name(d: &ir::Driver, version4: bool) -> Option<String> {
    let explicit = option(d, "persist-name");
    let or = |key: &str, default: &str| option(d, key).unwrap_or_else(|| default.to_string());
    Some(match (d.name, explicit) {
        ("file" | "pipe", Some(p)) => format!("affile_dd.{p}.writers"),
        ("file" | "pipe", None) => format!("affile_dd_writers({})", positional(d)),
        ("program", Some(p)) => format!("afprogram_dd_name.{p}"),
        ("network" | "syslog" | "tcp" | "tcp6" | "udp" | "udp6" | "unix-stream" | "unix-dgram", Some(p)) => {
            format!("afsocket_dd.({p})")
        }
        (name @ ("unix-stream" | "unix-dgram"), None) => {
            let kind = if name == "unix-stream" { "stream" } else { "dgram" };
            format!("afsocket_dd.({kind},localhost.afunix:{})", positional(d))
        }
        (name @ ("network" | "syslog" | "tcp" | "tcp6" | "udp" | "udp6"), None) => {
            let transport = option(d, "transport");
            let has_tls = d.options.iter().any(|o| o.name == "tls");
            let t = crate::transport::resolve(name, false, transport.as_deref(), has_tls, version4).ok()?;
            let port = option(d, "port").or_else(|| option(d, "destport")).unwrap_or(t.default_port.to_string());
            let kind = if t.datagram { "dgram" } else { "stream" };
            format!("afsocket_dd.({kind},{}:{port})", positional(d))
        }
        ("http", Some(p)) => format!("http.{p}"),
        ("http", None) => format!("http({},)", option(d, "url").unwrap_or_else(|| "http://localhost/".into())),
        ("kafka-c", Some(p)) => format!("kafka.{p}"),
        ("kafka-c", None) => format!("kafka({})", option(d, "topic")?),
        ("redis", Some(p)) => format!("redis.{p}"),
        ("redis", None) => format!("redis({},{})", or("host", "127.0.0.1"), or("port", "6379")),
        ("amqp", Some(p)) => format!("afamqp.{p}"),
        ("amqp", None) => format!(
            "afamqp({},{},{},{},{})",
            or("vhost", "/"),
            or("host", "127.0.0.1"),
            or("port", "5672"),
            or("exchange", "syslog"),
            or("exchange-type", "fanout")
        ),
        ("sql", Some(p)) => format!("afsql_dd.{p}"),
        ("sql", None) => format!(
            "afsql_dd({},{},{},{},{})",
            or("type", "mysql"),
            or("host", ""),
            or("port", ""),
            or("database", "logs"),
            or("table", "messages")
        ),
        ("snmp", None) => format!("snmpdest({},{})", or("host", ""), or("port", "162")),
        _ => return None,
    })
}

/// The destination objects the log paths use (only those are started).
fn used_destinations(paths: &[LogPath], out: &mut Vec<String>) {
    for path in paths {
        for el in &path.elements {
            match el {
                LogElement::Object { context: Context::Destination, name, .. } => out.push(name.clone()),
                LogElement::Object { .. } => {}
                LogElement::Fork(p) => used_destinations(std::slice::from_ref(p), out),
                LogElement::Junction(ps) => used_destinations(ps, out),
                LogElement::Conditional { branches, otherwise } => {
                    for (_, p) in branches {
                        used_destinations(std::slice::from_ref(p), out);
                    }
                    if let Some(p) = otherwise {
                        used_destinations(std::slice::from_ref(p), out);
                    }
                }
            }
        }
    }
}

impl Lowerer<'_> {
    pub(super) fn check_persist_names(&mut self) {
        let mut used = Vec::new();
        used_destinations(&self.out.log_paths, &mut used);
        let version4 = self.version_at_least_4();
        let mut seen: HashMap<String, FileSpan> = HashMap::new();
        let mut found = Vec::new();
        for object in self.out.destinations.iter().filter(|o| used.contains(&o.name)) {
            for driver in &object.drivers {
                let Some(name) = persist_name(driver, version4) else { continue };
                match seen.get(&name) {
                    Some(first) => found.push((name, driver.span, *first)),
                    None => {
                        seen.insert(name, driver.span);
                    }
                }
            }
        }
        for (name, at, first) in found {
            let order = at.start;
            let d = Diagnostic::error(
                codes::DUPLICATE_OBJECT,
                format!(
                    "Automatic assignment of persist names failed, as conflicting persist-names were found; \
                     persist_name='{name}'"
                ),
            )
            .at(at, "the same persist name again")
            .note(first, "first used here")
            .help("give one of them its own persist-name(), or remove the duplicated destination")
            // syslog-ng finds it only at start-up, after the references.
            .ordered(1, order);
            self.push(d);
        }
    }
}

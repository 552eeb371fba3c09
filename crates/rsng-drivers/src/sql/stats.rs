//! How syslog-ng names an `sql()` destination in `syslog-ng-ctl stats`: component `dst.sql`, id
//! `OBJECT#INDEX`, instance `TYPE,HOST,PORT,DATABASE,TABLE` with the table template as written.

use rsng_config::ir::Value;

use crate::options::Options;

/// `(component, id, instance)` of an `sql()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let port = match opts.get("port") {
        Some(Value::Int(n)) => n.to_string(),
        Some(Value::Str(s) | Value::Raw(s)) => s.clone(),
        _ => String::new(),
    };
    let instance = format!(
        "{},{},{},{},{}",
        opts.str("type").unwrap_or("mysql"),
        opts.str("host").unwrap_or_default(),
        port,
        opts.str("database").unwrap_or("logs"),
        opts.str("table").unwrap_or("messages"),
    );
    // syslog-ng formats the instance into a 64-byte buffer.
    let instance = truncate(instance, 63);
    ("dst.sql".to_string(), format!("{object}#{index}"), instance)
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

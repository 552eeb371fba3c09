//! How syslog-ng names an `http()` destination in `syslog-ng-ctl stats`: component `dst.http`,
//! id `OBJECT#INDEX`, instance `http,URL` with the first URL of `url()`.

use crate::options::Options;

/// `(component, id, instance)` of an `http()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let mut first = None;
    if let Some(last) = opts.driver.options.iter().rev().find(|o| o.name == "url") {
        let mut list = Vec::new();
        strings(&last.value, &mut list);
        first = list.iter().flat_map(|s| s.split(' ')).find(|u| !u.is_empty()).map(String::from);
    }
    let url = first.unwrap_or_else(|| super::options::DEFAULT_URL.to_string());
    ("dst.http".to_string(), driver_id(object, index), format!("http,{url}"))
}

/// The driver's id in syslog-ng's messages (`driver='d_http#0'`).
pub fn driver_id(object: &str, index: usize) -> String {
    format!("{object}#{index}")
}

fn strings(v: &rsng_config::ir::Value, out: &mut Vec<String>) {
    use rsng_config::ir::Value;
    match v {
        Value::List(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Str(s) | Value::Raw(s) => out.push(s.clone()),
        _ => {}
    }
}

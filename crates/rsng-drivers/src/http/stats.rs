//! How syslog-ng names an `http()` destination in `syslog-ng-ctl stats`: component `dst.http`,
//! id `OBJECT#INDEX`, instance `http,URL` with the first URL of `url()`.

use super::options::{urls, HttpOptions};
use crate::options::Options;

/// `(component, id, instance)` of an `http()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let url = urls(HttpOptions::read(&opts).url.as_ref()).swap_remove(0);
    ("dst.http".to_string(), driver_id(object, index), format!("http,{url}"))
}

/// The driver's id in syslog-ng's messages (`driver='d_http#0'`).
pub fn driver_id(object: &str, index: usize) -> String {
    format!("{object}#{index}")
}

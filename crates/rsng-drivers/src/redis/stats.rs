//! How syslog-ng names a `redis()` destination in `syslog-ng-ctl stats`: component `dst.redis`,
//! id `OBJECT#INDEX`, instance `redis,HOST,PORT` (or `redis,PERSIST-NAME`).

use crate::options::Options;

/// `(component, id, instance)` of a `redis()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let instance = match opts.str("persist-name") {
        Some(p) => format!("redis,{p}"),
        None => {
            let host = opts.str("host").unwrap_or(super::options::DEFAULT_HOST);
            let port = opts.int("port").unwrap_or(i64::from(super::options::DEFAULT_PORT));
            format!("redis,{host},{port}")
        }
    };
    ("dst.redis".to_string(), format!("{object}#{index}"), instance)
}

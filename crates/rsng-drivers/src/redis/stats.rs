//! How syslog-ng names a `redis()` destination in `syslog-ng-ctl stats`: component `dst.redis`,
//! id `OBJECT#INDEX`, instance `redis,HOST,PORT` (or `redis,PERSIST-NAME`).

use crate::options::Options;

/// `(component, id, instance)` of a `redis()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let o = super::options::RedisOptions::read(&opts);
    let instance = match o.persist_name {
        Some(p) => format!("redis,{p}"),
        None => format!("redis,{},{}", o.host, o.port.unwrap_or(i64::from(super::options::DEFAULT_PORT))),
    };
    ("dst.redis".to_string(), format!("{object}#{index}"), instance)
}

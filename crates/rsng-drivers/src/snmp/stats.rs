//! How syslog-ng names an `snmp()` destination in `syslog-ng-ctl stats`: component `dst.snmp`,
//! id `OBJECT#INDEX`, instance `snmpdest,HOST,PORT`.

use crate::options::Options;

/// `(component, id, instance)` of an `snmp()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let host = opts.str("host").unwrap_or("(null)");
    let port = opts.int("port").unwrap_or(i64::from(super::options::DEFAULT_PORT));
    ("dst.snmp".to_string(), format!("{object}#{index}"), format!("snmpdest,{host},{port}"))
}

//! How syslog-ng names an `snmp()` destination in `syslog-ng-ctl stats`: component `dst.snmp`,
//! id `OBJECT#INDEX`, instance `snmpdest,HOST,PORT`.

use crate::options::Options;

/// `(component, id, instance)` of an `snmp()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let o = super::options::SnmpOptions::read(&opts);
    let host = o.host.as_deref().unwrap_or("(null)");
    let port = o.port.unwrap_or(i64::from(super::options::DEFAULT_PORT));
    ("dst.snmp".to_string(), format!("{object}#{index}"), format!("snmpdest,{host},{port}"))
}

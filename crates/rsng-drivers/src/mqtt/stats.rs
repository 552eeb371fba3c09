//! How syslog-ng names an `mqtt()` destination in `syslog-ng-ctl stats`: component
//! `dst.mqtt-destination` (the type the 3.38 module registers), id `OBJECT#INDEX`, instance
//! `mqtt,ADDRESS,TOPIC` (the topic's template text), or the `persist-name()` alone.

use crate::options::Options;

/// `(component, id, instance)` of an `mqtt()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let instance = match opts.str("persist-name") {
        Some(p) => p.to_string(),
        None => {
            let address = opts.str("address").unwrap_or(super::options::DEFAULT_ADDRESS);
            format!("mqtt,{address},{}", opts.str("topic").unwrap_or_default())
        }
    };
    ("dst.mqtt-destination".to_string(), format!("{object}#{index}"), instance)
}

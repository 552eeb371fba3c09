//! How syslog-ng names an `amqp()` destination in `syslog-ng-ctl stats`: component `dst.amqp`,
//! id `OBJECT#INDEX`, instance `amqp,VHOST,HOST,PORT,EXCHANGE,EXCHANGE-TYPE` (or
//! `amqp,PERSIST-NAME`).

use crate::options::Options;

/// `(component, id, instance)` of an `amqp()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let instance = match opts.str("persist-name") {
        Some(name) => format!("amqp,{name}"),
        None => format!(
            "amqp,{},{},{},{},{}",
            opts.str("vhost").unwrap_or("/"),
            opts.str("host").unwrap_or("127.0.0.1"),
            opts.int("port").unwrap_or(5672),
            opts.str("exchange").unwrap_or("syslog"),
            opts.str("exchange-type").unwrap_or("fanout"),
        ),
    };
    ("dst.amqp".to_string(), format!("{object}#{index}"), instance)
}

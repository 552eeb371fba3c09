//! How syslog-ng names an `amqp()` destination in `syslog-ng-ctl stats`: component `dst.amqp`,
//! id `OBJECT#INDEX`, instance `amqp,VHOST,HOST,PORT,EXCHANGE,EXCHANGE-TYPE` (or
//! `amqp,PERSIST-NAME`).

use super::options::AmqpOptions;
use crate::options::Options;

/// `(component, id, instance)` of an `amqp()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    instance_name(object, index, &AmqpOptions::read(&opts))
}

/// [`stats_name`] from options already read.
pub fn instance_name(object: &str, index: usize, o: &AmqpOptions) -> (String, String, String) {
    let instance = match &o.persist_name {
        Some(name) => format!("amqp,{name}"),
        None => format!("amqp,{},{},{},{},{}", o.vhost, o.host, o.port, o.exchange, o.exchange_type),
    };
    ("dst.amqp".to_string(), format!("{object}#{index}"), instance)
}

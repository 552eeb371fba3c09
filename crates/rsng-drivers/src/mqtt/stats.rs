//! How syslog-ng names an `mqtt()` destination in `syslog-ng-ctl stats`: component
//! `dst.mqtt-destination` (the type the 3.38 module registers), id `OBJECT#INDEX`, instance
//! `mqtt,ADDRESS,TOPIC` (the topic's template text), or the `persist-name()` alone.

use super::options::MqttClientOptions;
use crate::options::Options;

/// `(component, id, instance)` of an `mqtt()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    instance_name(object, index, &MqttClientOptions::read(&opts))
}

/// [`stats_name`] from options already read.
pub fn instance_name(object: &str, index: usize, o: &MqttClientOptions) -> (String, String, String) {
    let instance = match &o.persist_name {
        Some(p) => p.clone(),
        None => format!("mqtt,{},{}", o.address, o.topic.as_deref().unwrap_or_default()),
    };
    ("dst.mqtt-destination".to_string(), format!("{object}#{index}"), instance)
}

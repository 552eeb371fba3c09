//! How syslog-ng names a `kafka-c()` destination in `syslog-ng-ctl stats`: component `dst.kafka`,
//! id `OBJECT#INDEX`, instance `kafka,TOPIC` with `topic()` as written (the template, not a
//! resolved name).

use crate::options::Options;

/// `(component, id, instance)` of a `kafka-c()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    let topic = super::options::KafkaOptions::read(&opts).topic.unwrap_or_default();
    ("dst.kafka".to_string(), format!("{object}#{index}"), format!("kafka,{topic}"))
}

//! Setting a `kafka-c()` destination up at start-up: its options, templates and librdkafka
//! client (created here, so that a property librdkafka refuses stops start-up with the
//! configuration's location, as in syslog-ng; it connects to the brokers in the background).

use std::sync::Arc;

use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rsng_core::template::{compile, Template};

use super::options::{self, topic_error, PROTECTED};
use super::run::{Client, KafkaContext, KafkaDestination, Shared, TopicHandle};
use crate::internal;
use crate::options::Options;
use crate::{BuildContext, Destination, DriverError};

/// Builds a `kafka-c()` destination, the `index`th driver of `object`.
///
/// # Errors
/// A missing `topic()` or `bootstrap-servers()`, a bad template, topic name or librdkafka
/// property.
pub fn build_destination(
    object: &str,
    index: usize,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let location = (ctx.locate)(opts.span());
    let err = |m: String| DriverError::new(m, opts.span());
    let o = options::KafkaOptions::read(&opts);
    let mut settings = options::read(&opts, &o)?;
    let template = |text: &str| -> Result<Arc<Template>, DriverError> {
        compile(text, &ctx.compile).map(Arc::new).map_err(|e| err(format!("error compiling template `{text}`: {e}")))
    };
    let topic_text = o.topic.as_deref().unwrap_or_default();
    let topic = template(topic_text)?;
    let literal_topic = topic.as_literal().map(String::from);
    match &literal_topic {
        Some(name) => {
            if let Some(e) = topic_error(name) {
                return Err(err(format!("kafka: error constructing the kafka topic object; {e}; topic='{name}'")));
            }
        }
        None => match &settings.fallback_topic {
            None => return Err(err("kafka: fallback_topic() required when the topic name is a template".into())),
            Some(f) => {
                if let Some(e) = topic_error(f) {
                    return Err(err(format!("kafka: error constructing the fallback topic object; {e}")));
                }
            }
        },
    }
    let key = o.key.as_deref().map(template).transpose()?;
    let message = template(&o.message)?;
    let (_, driver, _) = super::stats_name(object, index, opts);
    if settings.sync_send && settings.workers > 1 {
        // One client has one transaction at a time.
        internal::info_always(format!(
            "kafka: in case of sync_send(yes) option the number of workers limited to 1; configured_workers='{}', \
             workers='1'",
            settings.workers
        ));
        settings.workers = 1;
    }
    if settings.workers > 1 && o.disk_buffer.is_some() {
        internal::warning(format!(
            "kafka-c() with disk-buffer() runs one worker in rsng; workers='{}', location='{location}'",
            settings.workers
        ));
        settings.workers = 1;
    }
    let mut config = ClientConfig::new();
    config.set_log_level(RDKafkaLogLevel::Info);
    config.set("metadata.broker.list", &settings.bootstrap_servers);
    config.set("topic.partitioner", "murmur2_random");
    if settings.sync_send {
        let persist = match o.persist_name.as_deref() {
            Some(p) => format!("kafka.{p}"),
            None => format!("kafka({topic_text})"),
        };
        config.set("transactional.id", persist);
    }
    for (name, value) in &settings.config {
        if PROTECTED.contains(&name.as_str()) {
            internal::warning(format!("kafka: protected config properties cannot be overridden; name='{name}'"));
            continue;
        }
        // Checked one by one, so that the error names the property as syslog-ng's does.
        let mut one = ClientConfig::new();
        one.set(name, value);
        if let Err(e) = one.create_native_config() {
            return Err(err(format!(
                "kafka: error setting librdkafka config property; name='{name}', value='{value}', error='{e}'"
            )));
        }
        config.set(name, value);
    }
    let client: Arc<Client> = Arc::new(config.create_with_context(KafkaContext).map_err(|e| {
        err(format!("kafka: error constructing the kafka connection object; topic='{topic_text}', error='{e}'"))
    })?);
    let topic_handle = match &literal_topic {
        Some(name) => Some(
            TopicHandle::new(&client, name)
                .map_err(|e| err(format!("kafka: error constructing the kafka topic object; {e}; topic='{name}'")))?,
        ),
        None => None,
    };
    let format = crate::writer::TemplateOptions::send_format_of(&opts);
    let shared =
        Shared::new(settings, topic, literal_topic, key, message, format, client, topic_handle, driver, location);
    Ok(Box::new(KafkaDestination::new(shared)))
}

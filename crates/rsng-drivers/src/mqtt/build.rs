//! Setting an `mqtt()` destination up at start-up: its options, the topic and payload templates.
//! It connects when it runs.

use std::sync::Arc;

use rsng_core::template::compile;

use super::options;
use super::run::{MqttDestination, Shared};
use crate::options::Options;
use crate::{BuildContext, Destination, DriverError};

/// The payload when `template()` is not given, as in syslog-ng 3.38.
pub const DEFAULT_TEMPLATE: &str = "$ISODATE $HOST $MSGHDR$MSG";

/// Builds an `mqtt()` destination, the `index`th driver of `object`.
///
/// # Errors
/// No `topic()`, a templated one without `fallback-topic()`, a bad template, address or `qos()`.
pub fn build_destination(
    object: &str,
    index: usize,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let location = (ctx.locate)(opts.span());
    let err = |m: String| DriverError::new(m, opts.span());
    let (settings, client, dest) = options::read(&opts)?;
    let tls = options::tls_context(&opts, &client, settings.tls, ctx)?;
    let compile_text =
        |text: &str| compile(text, &ctx.compile).map_err(|e| err(format!("error compiling template `{text}`: {e}")));
    let topic = compile_text(client.topic.as_deref().unwrap_or_default())?;
    let literal_topic = topic.as_literal().map(|t| t.as_bytes().to_vec());
    if literal_topic.is_none() && settings.fallback_topic.is_none() {
        return Err(err(
            "mqtt: the fallback_topic() argument is required if topic is templated for mqtt destinations".into()
        ));
    }
    if literal_topic.as_ref().is_some_and(Vec::is_empty) {
        return Err(err("mqtt dest: topic name is illegal, it can't be empty".into()));
    }
    let payload = match dest.template.as_deref() {
        Some(name) if ctx.templates.contains_key(name) => ctx.templates[name].clone(),
        Some(text) => Arc::new(compile_text(text)?),
        None => Arc::new(compile_text(DEFAULT_TEMPLATE)?),
    };
    let (_, driver, _) = super::stats::instance_name(object, index, &client);
    let format = crate::writer::TemplateOptions::send_format_of(&opts);
    let shared = Arc::new(Shared { settings, tls, topic, literal_topic, payload, format, driver, location });
    Ok(Box::new(MqttDestination { shared }))
}

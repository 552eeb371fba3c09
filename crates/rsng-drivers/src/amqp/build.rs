//! Setting an `amqp()` destination up at start-up: its options and templates, and the headers
//! of `value-pairs()` as a `$(format-flat-json)` template.

use std::sync::Arc;

use rsng_core::template::{compile, Template};

use super::options;
use super::run::{AmqpDestination, Shared};
use crate::options::Options;
use crate::{BuildContext, Destination, DriverError};

/// Builds an `amqp()` destination, the `index`th driver of `object`.
///
/// # Errors
/// Bad options (see [`options::read`]), a template that does not compile, a `value-pairs()`
/// rsng cannot evaluate.
pub fn build_destination(
    object: &str,
    index: usize,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let typed = options::AmqpOptions::read(&opts);
    let (_, id, _) = super::stats::instance_name(object, index, &typed);
    let settings = options::read(&opts, &typed, &id)?;
    let tls = options::tls_context(&opts, &typed, ctx)?;
    let template = |text: &str| -> Result<Arc<Template>, DriverError> {
        compile(text, &ctx.compile)
            .map(Arc::new)
            .map_err(|e| DriverError::new(format!("error compiling template `{text}`: {e}"), opts.span()))
    };
    let routing_key = template(&typed.routing_key)?;
    let body = typed.body.as_deref().map(template).transpose()?;
    let value_pairs = match &typed.value_pairs {
        Some(rsng_config::ir::Value::Group(items)) => {
            // What `value_pairs_arguments` takes; it refuses the rest.
            for item in items.iter().filter(|i| options::VALUE_PAIRS_OPTIONS.contains(&i.name)) {
                opts.driver.note(&format!("value-pairs.{}", item.name));
            }
            Some(items.as_slice())
        }
        _ => None,
    };
    let arguments = options::value_pairs_arguments(value_pairs).map_err(|e| DriverError::new(e, opts.span()))?;
    let headers = template(&format!("$(format-flat-json {arguments})"))?;
    let location = (ctx.locate)(opts.span());
    let shared = Shared {
        settings,
        tls,
        routing_key,
        body,
        headers,
        key_format: crate::writer::TemplateOptions::local_format_of(&opts),
        format: crate::writer::TemplateOptions::send_format_of(&opts),
        driver: id,
        location,
    };
    Ok(Box::new(AmqpDestination::new(Arc::new(shared))))
}

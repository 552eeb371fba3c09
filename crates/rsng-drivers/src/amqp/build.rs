//! Setting an `amqp()` destination up at start-up: its options and templates, and the headers
//! of `value-pairs()` as a `$(format-flat-json)` template.

use std::sync::Arc;

use rsng_core::template::{compile, FormatOptions, OnError, Template, TsFormat};

use super::options;
use super::run::{AmqpDestination, Shared};
use crate::options::Options;
use crate::writer::parse_time_zone;
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
    let (_, id, _) = super::stats_name(object, index, opts);
    let settings = options::read(&opts, &id)?;
    let tls = options::tls_context(&opts, ctx)?;
    let template = |text: &str| -> Result<Arc<Template>, DriverError> {
        compile(text, &ctx.compile)
            .map(Arc::new)
            .map_err(|e| DriverError::new(format!("error compiling template `{text}`: {e}"), opts.span()))
    };
    let routing_key = template(opts.str("routing-key").unwrap_or_default())?;
    let body = opts.str("body").map(template).transpose()?;
    let arguments =
        options::value_pairs_arguments(opts.group("value-pairs")).map_err(|e| DriverError::new(e, opts.span()))?;
    let headers = template(&format!("$(format-flat-json {arguments})"))?;
    let location = (ctx.locate)(opts.span());
    let shared = Shared {
        settings,
        tls,
        routing_key,
        body,
        headers,
        key_format: format_options(&opts, &["local-time-zone"]),
        format: format_options(&opts, &["time-zone", "send-time-zone"]),
        driver: id,
        location,
    };
    Ok(Box::new(AmqpDestination::new(Arc::new(shared))))
}

/// The template options: the routing key in `local-time-zone()` (syslog-ng's `LTZ_LOCAL`), the
/// body and headers in `send-time-zone()` (`LTZ_SEND`).
fn format_options(opts: &Options<'_>, zones: &[&str]) -> FormatOptions {
    let ts_format = opts.str_or_global("ts-format").and_then(TsFormat::from_name).unwrap_or(TsFormat::Rfc3164);
    let frac_digits = opts.int_or_global("frac-digits").unwrap_or(0).clamp(0, 6) as u8;
    let zone = zones.iter().find_map(|z| opts.str(z)).or_else(|| zones.iter().find_map(|z| opts.globals.str(z)));
    FormatOptions {
        ts_format,
        frac_digits,
        time_zone: zone.and_then(parse_time_zone),
        escape: false,
        seq_num: 0,
        on_error: opts.str_or_global("on-error").and_then(OnError::from_name).unwrap_or_default(),
    }
}

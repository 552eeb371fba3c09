//! Setting an `sql()` destination up at start-up: its options and templates.

use std::sync::Arc;

use rsng_core::template::{compile, FormatOptions, OnError, Template, TsFormat};

use super::options;
use super::run::{Shared, SqlDestination};
use crate::options::Options;
use crate::writer::parse_time_zone;
use crate::{internal, BuildContext, Destination, DriverError};

/// Builds an `sql()` destination, the `index`th driver of `object`.
///
/// # Errors
/// Bad options (see [`options::read`]) or a template that does not compile.
pub fn build_destination(
    object: &str,
    index: usize,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let settings = options::read(&opts)?;
    let template = |text: &str| -> Result<Arc<Template>, DriverError> {
        compile(text, &ctx.compile)
            .map(Arc::new)
            .map_err(|e| DriverError::new(format!("error compiling template `{text}`: {e}"), opts.span()))
    };
    let table = template(&settings.table)?;
    let values =
        settings.columns.iter().map(|c| c.value.as_deref().map(template).transpose()).collect::<Result<Vec<_>, _>>()?;
    if opts.get("ignore-tns-config").and_then(crate::options::as_bool) == Some(true) {
        internal::warning(format!(
            "WARNING: Option ignore_tns_config was skipped because database type is not Oracle; type='{}'",
            settings.type_name
        ));
    }
    let location = (ctx.locate)(opts.span());
    let (_, id, _) = super::stats_name(object, index, opts);
    let values_format = format_options(&opts, &["time-zone", "send-time-zone"]);
    let table_format = format_options(&opts, &["local-time-zone"]);
    let shared = Shared::new(settings, table, values, table_format, values_format, id, location);
    Ok(Box::new(SqlDestination::new(shared)))
}

/// The template options: the table name in `local-time-zone()` (syslog-ng's `LTZ_LOCAL`), the
/// values in `send-time-zone()` (`LTZ_SEND`).
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

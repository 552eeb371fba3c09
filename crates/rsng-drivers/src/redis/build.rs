//! Setting a `redis()` destination up at start-up: its options and the argument templates of
//! `command()`. It connects when it runs.

use std::sync::Arc;

use rsng_core::template::compile;

use super::options;
use super::run::{RedisDestination, Shared};
use crate::internal;
use crate::options::Options;
use crate::{BuildContext, Destination, DriverError};

/// Builds a `redis()` destination, the `index`th driver of `object`.
///
/// # Errors
/// No `command()`, a bad template or port.
pub fn build_destination(
    object: &str,
    index: usize,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let location = (ctx.locate)(opts.span());
    let (mut settings, arguments) = options::read(&opts)?;
    let arguments = arguments
        .iter()
        .map(|text| {
            compile(text, &ctx.compile)
                .map_err(|e| DriverError::new(format!("error compiling template `{text}`: {e}"), opts.span()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if settings.workers > 1 && options::RedisOptions::read(&opts).disk_buffer.is_some() {
        internal::warning(format!(
            "redis() with disk-buffer() runs one worker in rsng; workers='{}', location='{location}'",
            settings.workers
        ));
        settings.workers = 1;
    }
    let (_, driver, _) = super::stats_name(object, index, opts);
    let format = crate::writer::TemplateOptions::send_format_of(&opts);
    let shared = Arc::new(Shared { settings, arguments, format, driver, location });
    Ok(Box::new(RedisDestination { shared }))
}

//! Setting an `snmp()` destination up at start-up: its options and the value templates of its
//! objects. The socket is opened when it runs.

use std::sync::Arc;

use rsng_core::template::compile;

use super::options;
use super::run::{Shared, SnmpDestination};
use crate::options::Options;
use crate::{BuildContext, Destination, DriverError};

/// Builds an `snmp()` destination, the `index`th driver of `object`.
///
/// # Errors
/// What [`options::read`] refuses, or a bad template.
pub fn build_destination(
    object: &str,
    index: usize,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let location = (ctx.locate)(opts.span());
    let settings = options::read(&opts)?;
    let values = settings
        .objects
        .iter()
        .map(|o| {
            compile(&o.value, &ctx.compile)
                .map_err(|e| DriverError::new(format!("SNMP: invalid log template `{}`: {e}", o.value), opts.span()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (_, id, _) = super::stats_name(object, index, opts);
    let format = crate::writer::TemplateOptions::send_format_of(&opts);
    Ok(Box::new(SnmpDestination { shared: Arc::new(Shared { settings, values, format, driver: id, location }) }))
}

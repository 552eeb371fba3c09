//! Setting an `sql()` destination up at start-up: its options and templates.

use std::sync::Arc;

use rsng_core::template::{compile, Template};

use super::options;
use super::run::{Shared, SqlDestination};
use crate::options::Options;
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
    let (settings, typed) = options::read(&opts)?;
    let template = |text: &str| -> Result<Arc<Template>, DriverError> {
        compile(text, &ctx.compile)
            .map(Arc::new)
            .map_err(|e| DriverError::new(format!("error compiling template `{text}`: {e}"), opts.span()))
    };
    let table = template(&settings.table)?;
    let values =
        settings.columns.iter().map(|c| c.value.as_deref().map(template).transpose()).collect::<Result<Vec<_>, _>>()?;
    if typed.ignore_tns_config {
        internal::warning(format!(
            "WARNING: Option ignore_tns_config was skipped because database type is not Oracle; type='{}'",
            settings.type_name
        ));
    }
    let location = (ctx.locate)(opts.span());
    let (_, id, _) = super::stats::instance_name(object, index, &typed);
    let values_format = crate::writer::TemplateOptions::send_format_of(&opts);
    let table_format = crate::writer::TemplateOptions::local_format_of(&opts);
    let shared = Shared::new(settings, table, values, table_format, values_format, id, location);
    Ok(Box::new(SqlDestination::new(shared)))
}

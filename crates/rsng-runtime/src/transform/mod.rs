//! Parsers and rewrite rules as steps of a log path, built from their IR drivers.

use rsng_config::ir::Driver;
use rsng_config::schema::Context;
use rsng_core::LogMessage;

use crate::BuildError;

/// A parser or rewrite rule.
pub trait Transform: Send + Sync {
    /// Changes `msg` in place (copying it first if shared). Returns `false` when a parser could
    /// not parse the message: syslog-ng then drops it from this log path.
    fn process(&self, msg: &mut LogMessage) -> bool;
}

/// What building a transform may need from the rest of the configuration.
pub struct TransformContext<'a> {
    pub config: &'a rsng_config::ir::Config,
    pub filters: &'a rsng_config::filter_compile::FilterMap,
    pub compile: &'a rsng_core::template::CompileContext,
}

/// Builds the transform of parser or rewrite driver `driver`.
///
/// # Errors
/// When the driver's options cannot be compiled or the driver cannot run in rsng.
pub fn build(context: Context, driver: &Driver, _ctx: &TransformContext<'_>) -> Result<Box<dyn Transform>, BuildError> {
    Err(BuildError::at(format!("the {} `{}()` cannot run in rsng yet", context.name(), driver.name), &driver.span))
}

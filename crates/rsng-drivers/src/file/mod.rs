//! The file family: `file()` as source and destination, `pipe()`, `program()`, `usertty()`.

pub mod destination;

use crate::options::Options;
use crate::{BuildContext, Destination, DriverError, Source};

/// Builds a file-family source driver.
pub fn build_source(_object: &str, opts: Options<'_>, _ctx: &BuildContext) -> Result<Box<dyn Source>, DriverError> {
    Err(DriverError::new(format!("the source driver `{}()` cannot run in rsng yet", opts.name()), opts.span()))
}

/// Builds a file-family destination driver.
pub fn build_destination(
    object: &str,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    match opts.name() {
        "file" => destination::build(object, opts, ctx),
        other => {
            Err(DriverError::new(format!("the destination driver `{other}()` cannot run in rsng yet"), opts.span()))
        }
    }
}

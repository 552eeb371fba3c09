//! Start-up of `systemd-journal()`: the journal is opened once here so that a failure stops
//! start-up with the driver's location, as syslog-ng's init does.

use super::ffi::{self, Journal};
use super::options::JournalOptions;
use super::run::JournalSource;
use crate::file::persist;
use crate::options::Options;
use crate::receive::Receiver;
use crate::{BuildContext, DriverError, Source};

/// Builds `systemd-journal()` (and the journal half of `system()` where systemd runs).
pub fn build_source(object: &str, opts: Options<'_>, ctx: &BuildContext) -> Result<Box<dyn Source>, DriverError> {
    let options = JournalOptions::new(opts);
    let (namespace, flags) = options.open_args();
    Journal::open(namespace, flags).map_err(|e| {
        DriverError::new(format!("Error opening the journal; error='{}'", crate::file::os_error(&e)), opts.span())
    })?;
    let boot_id = if options.match_boot {
        Some(ffi::boot_id().map_err(|e| {
            DriverError::new(
                format!("match-boot(): cannot read the current boot id; error='{}'", crate::file::os_error(&e)),
                opts.span(),
            )
        })?)
    } else {
        None
    };
    Ok(Box::new(JournalSource {
        // Journal entries are not local messages (no LF_LOCAL in syslog-ng).
        receiver: Receiver::new(object, opts, Default::default(), false),
        key: options.persist_key(),
        options,
        boot_id,
        store: persist::store(ctx.persist_file.as_deref()),
    }))
}

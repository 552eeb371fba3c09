//! Which options the file-family drivers run. The configuration front end accepts every option
//! syslog-ng 3.38 accepts; an option rsng cannot honour here is refused when the driver is built,
//! naming the option, instead of being ignored.
//!
//! Some accepted options have no effect, because they have none in syslog-ng either for these
//! drivers: `read-old-records()` (only the journal reader uses it), `trim-large-messages()` (only
//! octet-counted framing), `flush-timeout()` (obsolete, does nothing), `multi-line-timeout()` of
//! `stdin()` (only followed files time out), `optional()` of `file()` destinations, `dir-*()` of
//! sources that do not create directories, `persist-name()` where no state is kept (and of `wildcard-file()`, whose positions are kept
//! per file).

use crate::options::Options;
use crate::receive::ReaderOptions;
use crate::writer::{LocalZoneOptions, TemplateOptions, WriterOptions};
use crate::DriverError;

/// `source_option`, `msg_format_option` and `source_reader_option` of syslog-ng run by the
/// readers of this module, besides [`ReaderOptions`].
pub(crate) const READER_SOURCE: &[&str] = &[
    "log-iw-size",
    "read-old-records",
    "use-syslogng-pid",
    "log-fetch-limit",
    "format",
    "encoding",
    "trim-large-messages",
    "persist-name",
];

pub(crate) const FILE_PERM: &[&str] = &["owner", "group", "perm", "dir-owner", "dir-group", "dir-perm"];
pub(crate) const MULTI_LINE: &[&str] = &["multi-line-mode", "multi-line-prefix", "multi-line-garbage"];
pub(crate) const FILE_SOURCE: &[&str] = &["follow-freq", "pad-size", "multi-line-timeout"];
pub(crate) const STDIN_SOURCE: &[&str] = &["pad-size", "multi-line-timeout"];
pub(crate) const LEGACY_WILDCARD: &[&str] = &["recursive", "force-directory-polling"];
pub(crate) const WILDCARD: &[&str] = &["base-dir", "filename-pattern", "recursive", "max-files", "monitor-method"];
pub(crate) const PIPE_SOURCE: &[&str] = &["optional", "pad-size", "create-dirs"];
pub(crate) const PROGRAM_SOURCE: &[&str] = &["inherit-environment"];

/// `dest_writer_option` and `dest_driver_option` run by the runtime (`log-fifo-size()`,
/// `disk-buffer()`) and the writers of this module, besides [`WriterOptions`],
/// [`TemplateOptions`] and [`LocalZoneOptions`].
pub(crate) const WRITER_DEST: &[&str] = &[
    "flush-lines",
    "sync",
    "sync-freq",
    "flush-timeout",
    "suppress",
    "mark-freq",
    "mark",
    "mark-mode",
    "time-reopen",
    "log-fifo-size",
    "throttle",
    "persist-name",
    // Kept by the runtime behind the destination's queue.
    "disk-buffer",
];
pub(crate) const FILE_DEST: &[&str] =
    &["time-reap", "create-dirs", "optional", "overwrite-if-older", "remove-if-older", "symlink-as", "fsync"];
pub(crate) const PIPE_DEST: &[&str] = &["time-reap", "create-dirs"];
pub(crate) const PROGRAM_DEST: &[&str] = &["keep-alive", "inherit-environment"];
pub(crate) const USERTTY: &[&str] = &["time-reopen"];

/// What each file-family driver runs, in groups; [`crate::consumed`] declares the same.
pub(crate) const LEGACY_FILE_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, FILE_PERM, MULTI_LINE, FILE_SOURCE, LEGACY_WILDCARD];
pub(crate) const FILE_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, FILE_PERM, MULTI_LINE, FILE_SOURCE];
/// follow-freq() would make syslog-ng poll `stat("-")`; standard input is read as a stream.
pub(crate) const STDIN_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, FILE_PERM, MULTI_LINE, STDIN_SOURCE];
pub(crate) const WILDCARD_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, FILE_PERM, MULTI_LINE, FILE_SOURCE, WILDCARD];
pub(crate) const PIPE_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, FILE_PERM, MULTI_LINE, PIPE_SOURCE];
pub(crate) const PROGRAM_SOURCE_OPTIONS: &[&[&str]] = &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, PROGRAM_SOURCE];
pub(crate) const FILE_DEST_OPTIONS: &[&[&str]] = &[
    WriterOptions::DRIVER_OPTIONS,
    TemplateOptions::DRIVER_OPTIONS,
    LocalZoneOptions::DRIVER_OPTIONS,
    WRITER_DEST,
    FILE_PERM,
    FILE_DEST,
];
pub(crate) const PIPE_DEST_OPTIONS: &[&[&str]] = &[
    WriterOptions::DRIVER_OPTIONS,
    TemplateOptions::DRIVER_OPTIONS,
    LocalZoneOptions::DRIVER_OPTIONS,
    WRITER_DEST,
    FILE_PERM,
    PIPE_DEST,
];

/// Checks a source driver's options; `legacy_wildcard`: a `file()` whose path has wildcards.
///
/// # Errors
/// The first option rsng does not run.
pub fn source(opts: &Options<'_>, legacy_wildcard: bool) -> Result<(), DriverError> {
    let groups: &[&[&str]] = match opts.name() {
        "file" if legacy_wildcard => LEGACY_FILE_SOURCE_OPTIONS,
        "file" => FILE_SOURCE_OPTIONS,
        "stdin" => STDIN_SOURCE_OPTIONS,
        "wildcard-file" => WILDCARD_SOURCE_OPTIONS,
        "pipe" => PIPE_SOURCE_OPTIONS,
        "program" => PROGRAM_SOURCE_OPTIONS,
        _ => &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE],
    };
    if opts.name() == "file" && !legacy_wildcard {
        if let Some(o) = opts.driver.options.iter().find(|o| LEGACY_WILDCARD.contains(&o.name)) {
            return Err(DriverError::new(
                format!("Invalid option, {}() can only be used in legacy wildcard file sources", o.name),
                &o.span,
            ));
        }
    }
    allowed(opts, groups, "source")?;
    for flag in opts.words("flags") {
        if matches!(flag.as_str(), "store-raw-message" | "guess-timezone") {
            return Err(refused(opts, "flags", &format!("flags({flag})"), "source"));
        }
    }
    if let Some(format) = opts.str("format") {
        if !format.eq_ignore_ascii_case("syslog") && !format.eq_ignore_ascii_case("linux-kmsg") {
            return Err(refused(opts, "format", &format!("format({format})"), "source"));
        }
    }
    if let Some(enc) = opts.str("encoding") {
        if !matches!(enc.to_ascii_lowercase().as_str(), "utf-8" | "utf8") {
            return Err(refused(opts, "encoding", &format!("encoding(\"{enc}\")"), "source"));
        }
    }
    Ok(())
}

/// Checks a destination driver's options.
///
/// # Errors
/// The first option rsng does not run.
pub fn destination(opts: &Options<'_>) -> Result<(), DriverError> {
    let groups: &[&[&str]] = match opts.name() {
        "file" => FILE_DEST_OPTIONS,
        "pipe" => PIPE_DEST_OPTIONS,
        "program" => &[
            WriterOptions::DRIVER_OPTIONS,
            TemplateOptions::DRIVER_OPTIONS,
            LocalZoneOptions::DRIVER_OPTIONS,
            WRITER_DEST,
            PROGRAM_DEST,
        ],
        "usertty" => &[USERTTY],
        _ => &[
            WriterOptions::DRIVER_OPTIONS,
            TemplateOptions::DRIVER_OPTIONS,
            LocalZoneOptions::DRIVER_OPTIONS,
            WRITER_DEST,
        ],
    };
    allowed(opts, groups, "destination")
}

fn allowed(opts: &Options<'_>, groups: &[&[&str]], what: &str) -> Result<(), DriverError> {
    for o in &opts.driver.options {
        // The runtime runs `hook-commands()` for every driver.
        if o.name != "hook-commands" && !groups.iter().any(|g| g.contains(&o.name)) {
            return Err(DriverError::new(
                format!("option `{}()` of the `{}()` {what} is not supported by rsng", o.name, opts.name()),
                &o.span,
            ));
        }
    }
    Ok(())
}

fn refused(opts: &Options<'_>, name: &str, shown: &str, what: &str) -> DriverError {
    let span = opts.driver.options.iter().rev().find(|o| o.name == name).map_or(opts.span(), |o| &o.span);
    DriverError::new(format!("`{shown}` of the `{}()` {what} is not supported by rsng", opts.name()), span)
}

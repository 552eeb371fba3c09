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

use super::options::{
    FileDestinationOptions, FileWriterOptions, FollowOptions, PermOptions, PipeSourceOptions,
    ProgramDestinationOptions, ProgramOptions, RecordOptions, ReopenOptions, SourceReaderOptions, ThrottleOptions,
    WildcardOptions,
};
use crate::options::Options;
use crate::receive::ReaderOptions;
use crate::writer::{LocalZoneOptions, TemplateOptions, WriterOptions};
use crate::DriverError;

/// Accepted by some of these drivers and without effect, in syslog-ng too (see above).
pub(crate) const NO_EFFECT: &[&str] = &[
    "read-old-records",
    "trim-large-messages",
    "log-fetch-limit",
    "flush-timeout",
    "persist-name",
    "optional",
    "multi-line-timeout",
    "monitor-method",
    "dir-owner",
    "dir-group",
    "dir-perm",
];

/// syslog-ng 3.38 reads `flush-lines()` (and its old names `sync()`, `sync-freq()`) only in its
/// file writer; its program and socket writers send whatever the queue holds, as rsng's do.
pub(crate) const NO_FLUSH_LINES: &[&str] = &["flush-lines", "sync", "sync-freq"];

/// The readers' options of this module, besides [`ReaderOptions`].
pub(crate) const READER_SOURCE: &[&str] = SourceReaderOptions::DRIVER_OPTIONS;
pub(crate) const FILE_PERM: &[&str] = PermOptions::DRIVER_OPTIONS;
pub(crate) const RECORD: &[&str] = RecordOptions::DRIVER_OPTIONS;
pub(crate) const FOLLOW: &[&str] = FollowOptions::DRIVER_OPTIONS;
/// `force-directory-polling()` is obsolete (the front end says so) and changes nothing.
pub(crate) const LEGACY_WILDCARD: &[&str] = &["recursive", "force-directory-polling"];
pub(crate) const WILDCARD: &[&str] = WildcardOptions::DRIVER_OPTIONS;
pub(crate) const PIPE_SOURCE: &[&str] = PipeSourceOptions::DRIVER_OPTIONS;
pub(crate) const PROGRAM: &[&str] = ProgramOptions::DRIVER_OPTIONS;

/// What the runtime runs behind a destination's queue: MARK messages, `suppress()`, the queue
/// itself (`log-fifo-size()`, `disk-buffer()`, named by `persist-name()`).
pub(crate) const DEST_QUEUE: &[&str] =
    &["suppress", "mark-freq", "mark", "mark-mode", "log-fifo-size", "persist-name", "disk-buffer"];
pub(crate) const FILE_DEST: &[&str] = FileDestinationOptions::DRIVER_OPTIONS;
pub(crate) const PIPE_DEST: &[&str] = &["time-reap", "create-dirs"];
pub(crate) const PROGRAM_DEST: &[&str] = ProgramDestinationOptions::DRIVER_OPTIONS;
pub(crate) const USERTTY: &[&str] = ReopenOptions::DRIVER_OPTIONS;

/// What each file-family driver runs (or accepts without effect, as syslog-ng does), in groups;
/// [`crate::consumed`] declares the same.
pub(crate) const LEGACY_FILE_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, FILE_PERM, RECORD, FOLLOW, LEGACY_WILDCARD, NO_EFFECT];
pub(crate) const FILE_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, FILE_PERM, RECORD, FOLLOW, NO_EFFECT];
/// follow-freq() would make syslog-ng poll `stat("-")`; standard input is read as a stream.
pub(crate) const STDIN_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, FILE_PERM, RECORD, NO_EFFECT];
pub(crate) const WILDCARD_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, FILE_PERM, RECORD, FOLLOW, WILDCARD, NO_EFFECT];
pub(crate) const PIPE_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, FILE_PERM, RECORD, PIPE_SOURCE, NO_EFFECT];
pub(crate) const PROGRAM_SOURCE_OPTIONS: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, READER_SOURCE, PROGRAM, NO_EFFECT];
pub(crate) const FILE_DEST_OPTIONS: &[&[&str]] = &[
    WriterOptions::DRIVER_OPTIONS,
    TemplateOptions::DRIVER_OPTIONS,
    LocalZoneOptions::DRIVER_OPTIONS,
    FileWriterOptions::DRIVER_OPTIONS,
    ReopenOptions::DRIVER_OPTIONS,
    ThrottleOptions::DRIVER_OPTIONS,
    DEST_QUEUE,
    FILE_PERM,
    FILE_DEST,
    NO_EFFECT,
];
pub(crate) const PIPE_DEST_OPTIONS: &[&[&str]] = &[
    WriterOptions::DRIVER_OPTIONS,
    TemplateOptions::DRIVER_OPTIONS,
    LocalZoneOptions::DRIVER_OPTIONS,
    FileWriterOptions::DRIVER_OPTIONS,
    ReopenOptions::DRIVER_OPTIONS,
    ThrottleOptions::DRIVER_OPTIONS,
    DEST_QUEUE,
    FILE_PERM,
    PIPE_DEST,
    NO_EFFECT,
];
/// `program()` destinations write each batch at once: `flush-lines()` and its old names have
/// no effect, as in syslog-ng, whose program writer does not read them.
pub(crate) const PROGRAM_DEST_OPTIONS: &[&[&str]] = &[
    NO_FLUSH_LINES,
    WriterOptions::DRIVER_OPTIONS,
    TemplateOptions::DRIVER_OPTIONS,
    LocalZoneOptions::DRIVER_OPTIONS,
    ReopenOptions::DRIVER_OPTIONS,
    ThrottleOptions::DRIVER_OPTIONS,
    DEST_QUEUE,
    PROGRAM,
    PROGRAM_DEST,
    NO_EFFECT,
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
    if opts.name() == "wildcard-file" {
        wildcard_location(opts, &WildcardOptions::read(opts))?;
    }
    let flags = ReaderOptions::read(opts).flags;
    if let Some(flag) = flags.iter().find(|f| matches!(*f, "store-raw-message" | "guess-timezone")) {
        return Err(refused(opts, "flags", &format!("flags({flag})"), "source"));
    }
    let reader = SourceReaderOptions::read(opts);
    if let Some(format) = &reader.format {
        if !format.eq_ignore_ascii_case("syslog") && !format.eq_ignore_ascii_case("linux-kmsg") {
            return Err(refused(opts, "format", &format!("format({format})"), "source"));
        }
    }
    if let Some(enc) = &reader.encoding {
        if !matches!(enc.to_ascii_lowercase().as_str(), "utf-8" | "utf8") {
            return Err(refused(opts, "encoding", &format!("encoding(\"{enc}\")"), "source"));
        }
    }
    Ok(())
}

/// `base-dir()` and `filename-pattern()` of a `wildcard-file()` source, which it cannot run
/// without.
///
/// # Errors
/// The first of them missing, in syslog-ng's words.
pub fn wildcard_location<'w>(
    opts: &Options<'_>,
    wildcard: &'w WildcardOptions,
) -> Result<(&'w str, &'w str), DriverError> {
    let required = |name: &str| DriverError::new(format!("Error: {name} option is required"), opts.span());
    let base = wildcard.base_dir.as_deref().ok_or_else(|| required("base-dir"))?;
    let pattern = wildcard.filename_pattern.as_deref().ok_or_else(|| required("filename-pattern"))?;
    Ok((base, pattern))
}

/// Checks a destination driver's options.
///
/// # Errors
/// The first option rsng does not run.
pub fn destination(opts: &Options<'_>) -> Result<(), DriverError> {
    let groups: &[&[&str]] = match opts.name() {
        "file" => FILE_DEST_OPTIONS,
        "pipe" => PIPE_DEST_OPTIONS,
        "program" => PROGRAM_DEST_OPTIONS,
        "usertty" => &[USERTTY],
        _ => &[
            WriterOptions::DRIVER_OPTIONS,
            TemplateOptions::DRIVER_OPTIONS,
            LocalZoneOptions::DRIVER_OPTIONS,
            FileWriterOptions::DRIVER_OPTIONS,
            ReopenOptions::DRIVER_OPTIONS,
            ThrottleOptions::DRIVER_OPTIONS,
            DEST_QUEUE,
            NO_EFFECT,
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

//! The file family, as syslog-ng's `affile`, `afprog` and `afuser` modules provide it:
//!
//! - `file()` source ([`follow`]): follows a regular file, polling every `follow-freq()` seconds
//!   (1 by default), with its position kept in the persist file ([`persist`]). A path with `*`
//!   or `?` is a (deprecated) wildcard source; a character device, or `/proc/kmsg`, is read as a
//!   stream ([`stream`]).
//! - `wildcard-file()` source ([`follow`]): every file matching `filename-pattern()` under
//!   `base-dir()` (with `recursive(yes)`, below it too), at most `max-files()` at a time.
//! - `pipe()` source and destination: a named pipe, made when missing.
//! - `stdin()` source: standard input; its end stops rsng, as in syslog-ng.
//! - `program()` source and destination ([`program`]).
//! - `file()` destination ([`destination`]); [`request_reopen`] makes file destinations open
//!   their files again (SIGUSR1, `syslog-ng-ctl reopen`, reload).
//! - `usertty()` destination ([`usertty`]).
//! - The kernel log that `system()` adds on Linux ([`kernel_log_source`]), and `/dev/kmsg` with
//!   the `linux-kmsg` format ([`kmsg`]).
//!
//! Lines are cut and joined by [`lines`] (`multi-line-mode()`, `pad-size()`); messages are built
//! by [`crate::receive::Receiver`] like every source's, with `$FILE_NAME` set by file readers.
//! Options rsng does not run are refused when the driver is built ([`check`]).

pub mod check;
pub mod destination;
pub mod follow;
pub mod kmsg;
pub mod kmsg_record;
pub mod lines;
pub mod options;
pub mod perms;
pub mod persist;
pub mod program;
pub mod stream;
pub mod usertty;

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsng_config::ir::Value;
use rsng_config::schema::Context;
use rsng_core::template::{compile, CompileContext, FormatOptions};
use rsng_proto::syslog::ParseFlags;

use crate::internal;
use crate::options::Options;
use crate::receive::Receiver;
use crate::writer::{WireFormat, Writer, WriterOptions};
use crate::{BuildContext, Destination, DriverError, Source};
pub use destination::request_reopen;
use destination::{FileDestination, Kind};
use follow::{FileSource, FollowSettings, WildcardSource};
use lines::MultiLine;
use options::{
    FileDestinationOptions, FileWriterOptions, FollowOptions, PipeSourceOptions, ProgramDestinationOptions,
    ProgramOptions, RecordOptions, ReopenOptions, SourceReaderOptions, ThrottleOptions, WildcardOptions,
};
use perms::FilePerms;
use stream::{AtEof, ReadSettings, StreamSource};

/// Messages posted at once by a reader unless `log-fetch-limit()`/`log-iw-size()` say fewer.
const SOURCE_BATCH: usize = 256;
/// syslog-ng's `time-reap()` default.
const TIME_REAP: i64 = 60;
/// syslog-ng's `flush-lines()` default.
const FLUSH_LINES: i64 = 100;
/// The most messages written with one call (`IOV_MAX`, which syslog-ng also caps it to).
const FLUSH_LINES_MAX: usize = 1024;
/// syslog-ng's `log-fifo-size()` default.
const LOG_FIFO_SIZE: usize = 10_000;
/// syslog-ng's `max-files()` default of wildcard sources.
const MAX_FILES: usize = 100;
/// Configured times are capped to this many seconds (136 years), so that adding them to a clock
/// reading cannot overflow.
const MAX_SECONDS: i64 = u32::MAX as i64;
/// The kernel log `system()` reads.
pub const PROC_KMSG: &str = "/proc/kmsg";

/// Builds a file-family source driver.
///
/// # Errors
/// An option rsng does not run, or a file that cannot be set up (syslog-ng fails to start then).
pub fn build_source(object: &str, opts: Options<'_>, ctx: &BuildContext) -> Result<Box<dyn Source>, DriverError> {
    check_options(Context::Source, &opts)?;
    match opts.name() {
        "file" => file_source(object, opts, ctx),
        "wildcard-file" => wildcard_source(object, opts, ctx, None),
        "pipe" => pipe_source(object, opts),
        "stdin" => stdin_source(object, opts),
        "program" => program_source(object, opts),
        other => Err(DriverError::new(format!("the source driver `{other}()` cannot run in rsng yet"), opts.span())),
    }
}

/// Builds a file-family destination driver.
///
/// # Errors
/// An option rsng does not run, or a template that does not compile.
pub fn build_destination(
    object: &str,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    check_options(Context::Destination, &opts)?;
    match opts.name() {
        "file" => file_destination(opts, ctx, Kind::File),
        "pipe" => file_destination(opts, ctx, Kind::Pipe),
        "program" => program_destination(object, opts, ctx),
        "usertty" => usertty_destination(opts),
        other => {
            Err(DriverError::new(format!("the destination driver `{other}()` cannot run in rsng yet"), opts.span()))
        }
    }
}

/// The option checks of a file-family driver, which its build runs before it touches the system
/// (`--syntax-only` runs them too).
///
/// # Errors
/// The first option rsng does not run.
pub fn check_options(context: Context, opts: &Options<'_>) -> Result<(), DriverError> {
    match (context, opts.name()) {
        (Context::Source, "file") => check::source(opts, is_legacy_wildcard(opts.positional().unwrap_or_default())),
        (Context::Source, "wildcard-file" | "pipe" | "stdin" | "program") => check::source(opts, false),
        (Context::Destination, "file" | "pipe" | "program" | "usertty") => check::destination(opts),
        _ => Ok(()),
    }
}

/// The kernel log source `system()` adds on Linux, as syslog-ng 3.38 chooses it: `/dev/kmsg`
/// with `format(linux-kmsg)` when that device opens and seeks, else `/proc/kmsg`; both with
/// `flags(kernel)`, `program-override("kernel")` and `keep-timestamp(no)`. `None` when neither
/// can be opened (not Linux, or no privileges).
pub fn kernel_log_source(object: &str, opts: Options<'_>) -> Option<Box<dyn Source>> {
    let flags = ParseFlags { kernel: true, no_parse_date: true, local: true, ..ParseFlags::default() };
    if kmsg::dev_kmsg_usable() {
        if let Ok(file) = kmsg::open_at_end(Path::new(kmsg::DEV_KMSG)) {
            let mut settings = read_settings(object, opts, flags).ok()?;
            settings.linux_kmsg = true;
            Arc::make_mut(&mut settings.receiver).program_override = Some(Arc::from("kernel"));
            kmsg::boot_time();
            return Some(Box::new(kmsg::KmsgSource {
                file: Some(file),
                path: PathBuf::from(kmsg::DEV_KMSG),
                settings,
                file_name: Arc::from(kmsg::DEV_KMSG.as_bytes()),
                time_reopen: time_reopen(&opts),
            }));
        }
    }
    let file = open_for_reading(Path::new(PROC_KMSG)).ok()?;
    let mut settings = read_settings(object, opts, flags).ok()?;
    settings.linux_kmsg = false;
    let receiver = Arc::make_mut(&mut settings.receiver);
    receiver.program_override = Some(Arc::from("kernel"));
    Some(Box::new(StreamSource {
        file: Some(file),
        settings,
        file_name: Some(Arc::from(PROC_KMSG.as_bytes())),
        at_eof: AtEof::Stop,
    }))
}

fn defaults_local() -> ParseFlags {
    ParseFlags { local: true, ..ParseFlags::default() }
}

/// An OS error as syslog-ng prints it: `No such file or directory (2)`.
pub fn os_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let text = io::Error::from_raw_os_error(code).to_string();
            let message = text.rsplit_once(" (os error").map_or(text.as_str(), |(m, _)| m);
            format!("{message} ({code})")
        }
        None => e.to_string(),
    }
}

/// `throttle()`: at most `rate` messages a second (0: no limit).
#[derive(Debug, Clone)]
pub struct Throttle {
    rate: u32,
    next: Instant,
}

impl Throttle {
    pub fn new(rate: u32) -> Throttle {
        Throttle { rate, next: Instant::now() }
    }

    /// Waits until more messages may be written.
    pub async fn wait(&self) {
        if self.rate > 0 && self.next > Instant::now() {
            tokio::time::sleep_until(self.next.into()).await;
        }
    }

    /// How many messages to take at once.
    pub fn limit(&self, max: usize) -> usize {
        if self.rate == 0 {
            max
        } else {
            max.min(self.rate as usize).max(1)
        }
    }

    /// Accounts for `n` messages taken.
    pub fn account(&mut self, n: usize) {
        if self.rate > 0 && n > 0 {
            let now = Instant::now();
            self.next = self.next.max(now) + Duration::from_secs_f64(n as f64 / f64::from(self.rate));
        }
    }
}

/// A whole number of seconds from the configuration (at most [`MAX_SECONDS`]).
fn secs(n: i64) -> Duration {
    Duration::from_secs(n.clamp(0, MAX_SECONDS) as u64)
}

/// A number of seconds, fractions allowed (`follow-freq(0.5)`).
fn seconds(value: &Value) -> Option<f64> {
    match value {
        Value::Float(f) => Some(*f),
        Value::Int(n) => Some(*n as f64),
        Value::Str(s) | Value::Raw(s) => s.trim().parse().ok(),
        Value::List(items) if items.len() == 1 => seconds(&items[0]),
        _ => None,
    }
}

fn option_span<'a>(opts: &Options<'a>, name: &str) -> &'a rsng_config::source_map::FileSpan {
    opts.driver.options.iter().rev().find(|o| o.name == name).map_or(opts.span(), |o| &o.span)
}

/// The reading settings of a file-family source.
fn read_settings(object: &str, opts: Options<'_>, defaults: ParseFlags) -> Result<ReadSettings, DriverError> {
    let receiver = Receiver::new(object, opts, defaults, true);
    let reader = SourceReaderOptions::read(&opts);
    let record = RecordOptions::read(&opts);
    let compile_re = |name: &str, pattern: &Option<String>| -> Result<Option<pcre2::bytes::Regex>, DriverError> {
        match pattern {
            None => Ok(None),
            Some(p) => lines::compile_pattern(p).map(Some).map_err(|e| DriverError::new(e, option_span(&opts, name))),
        }
    };
    let prefix = compile_re("multi-line-prefix", &record.multi_line_prefix)?;
    let garbage = compile_re("multi-line-garbage", &record.multi_line_garbage)?;
    let mode = record.multi_line_mode.as_deref().map(str::to_ascii_lowercase);
    let regexp = matches!(mode.as_deref(), Some("regexp" | "prefix-garbage" | "prefix-suffix"));
    if !regexp && (prefix.is_some() || garbage.is_some()) {
        return Err(DriverError::new(
            "multi-line-prefix() and/or multi-line-garbage() specified but multi-line-mode() is not regexp based (prefix-garbage or prefix-suffix), please set multi-line-mode() properly",
            opts.span(),
        ));
    }
    if regexp && prefix.is_none() && garbage.is_none() {
        return Err(DriverError::new(
            "To follow files in multi-line-mode() 'regexp', 'prefix-garbage', 'prefix-suffix', please also specify regexps using the multi-line-prefix/garbage options",
            opts.span(),
        ));
    }
    let multi_line = match mode.as_deref() {
        Some("indented") => MultiLine::Indented,
        Some("regexp" | "prefix-garbage") => MultiLine::PrefixGarbage { prefix, garbage },
        Some("prefix-suffix") => MultiLine::PrefixSuffix { prefix, suffix: garbage },
        _ => MultiLine::None,
    };
    let pad_size = record.pad_size;
    if pad_size > 0 && !matches!(multi_line, MultiLine::None) {
        return Err(DriverError::new("pad-size() and multi-line-mode() can not be used together", opts.span()));
    }
    if pad_size > receiver.max_msg_size {
        return Err(DriverError::new(
            format!("Buffer is too small to hold the number of bytes required for a record, please make sure log-msg-size() is greater than equal to record-size; record_size='{pad_size}', max_buffer_size='{}'", receiver.max_msg_size),
            opts.span(),
        ));
    }
    let limit = |n: Option<usize>| n.unwrap_or(SOURCE_BATCH);
    Ok(ReadSettings {
        receiver: Arc::new(receiver),
        multi_line,
        pad_size,
        batch: limit(reader.log_fetch_limit).min(limit(reader.log_iw_size)).max(1),
        linux_kmsg: reader.format.as_deref().is_some_and(|f| f.eq_ignore_ascii_case("linux-kmsg")),
    })
}

/// A `file()` source path with wildcards: the legacy form of `wildcard-file()`.
fn is_legacy_wildcard(path: &str) -> bool {
    path.contains(['*', '?'])
}

fn open_for_reading(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new().read(true).custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK).open(path)
}

fn open_error(opts: &Options<'_>, path: &str, e: &io::Error) -> DriverError {
    DriverError::new(format!("Error opening file for reading; filename='{path}', error='{}'", os_error(e)), opts.span())
}

fn file_source(object: &str, opts: Options<'_>, ctx: &BuildContext) -> Result<Box<dyn Source>, DriverError> {
    let path = opts.positional().unwrap_or_default();
    if is_legacy_wildcard(path) {
        internal::warning(
            "WARNING: Using wildcard characters in the file() source is deprecated, use wildcard-file() instead. The legacy wildcard file() source can only monitor up to 100 files, use wildcard-file(max-files()) to change this limit;",
        );
        let p = Path::new(path);
        let base = p.parent().filter(|b| !b.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let pattern = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        return wildcard_source(object, opts, ctx, Some((base.to_path_buf(), pattern)));
    }
    if path == kmsg::DEV_KMSG {
        // Read a record at a time from its end, as syslog-ng does; `format(linux-kmsg)` makes
        // messages of the records.
        let file = kmsg::open_at_end(Path::new(path)).map_err(|e| open_error(&opts, path, &e))?;
        let settings = read_settings(object, opts, defaults_local())?;
        if settings.linux_kmsg {
            kmsg::boot_time();
        }
        return Ok(Box::new(kmsg::KmsgSource {
            file: Some(file),
            path: PathBuf::from(path),
            settings,
            file_name: Arc::from(path.as_bytes()),
            time_reopen: time_reopen(&opts),
        }));
    }
    let meta = std::fs::metadata(path).ok();
    if meta.as_ref().is_some_and(std::fs::Metadata::is_dir) {
        return Err(open_error(&opts, path, &io::Error::from_raw_os_error(nix::libc::EISDIR)));
    }
    let is_device = path == PROC_KMSG || meta.as_ref().is_some_and(|m| !m.file_type().is_file());
    let defaults = ParseFlags { local: true, ..ParseFlags::default() };
    if is_device {
        if meta.as_ref().is_some_and(|m| m.file_type().is_fifo()) {
            return Err(DriverError::new(
                format!("You are using the file() driver, underlying file is a FIFO, it should be used by pipe(); filename='{path}'"),
                opts.span(),
            ));
        }
        let file = open_for_reading(Path::new(path)).map_err(|e| open_error(&opts, path, &e))?;
        let settings = read_settings(object, opts, defaults)?;
        return Ok(Box::new(StreamSource {
            file: Some(file),
            settings,
            file_name: Some(Arc::from(path.as_bytes())),
            at_eof: AtEof::Stop,
        }));
    }
    let settings = follow_settings(object, opts, ctx, defaults)?;
    let key = follow::persist_key(path, SourceReaderOptions::read(&opts).persist_name.as_deref());
    Ok(Box::new(FileSource { settings: Arc::new(settings), path: PathBuf::from(path), key }))
}

fn follow_settings(
    object: &str,
    opts: Options<'_>,
    ctx: &BuildContext,
    defaults: ParseFlags,
) -> Result<FollowSettings, DriverError> {
    let follow = FollowOptions::read(&opts);
    let freq = follow.follow_freq.as_ref().and_then(seconds).unwrap_or(1.0);
    if freq <= 0.0 {
        return Err(DriverError::new(
            format!("Unable to determine how to monitor this file, follow_freq() unset and it is not possible to poll it with the current ivykis polling method. Set follow-freq() for regular files; filename='{}'", opts.positional().unwrap_or_default()),
            option_span(&opts, "follow-freq"),
        ));
    }
    let follow_freq = Duration::from_secs_f64(freq.min(1e6));
    let multi_line_timeout = follow.multi_line_timeout.map(secs);
    if let Some(t) = multi_line_timeout {
        if follow_freq >= t {
            return Err(DriverError::new(
                format!("multi-line-timeout() should be set to a higher value than follow-freq(), it is recommended to set multi-line-timeout() to a multiple of follow-freq(); multi_line_timeout='{}', follow_freq='{}'", t.as_millis(), follow_freq.as_millis()),
                option_span(&opts, "multi-line-timeout"),
            ));
        }
    }
    Ok(FollowSettings {
        read: read_settings(object, opts, defaults)?,
        follow_freq,
        multi_line_timeout,
        store: persist::store(ctx.persist_file.as_deref()),
        perms: FilePerms::from_options(&opts, false)?.file,
    })
}

fn wildcard_source(
    object: &str,
    opts: Options<'_>,
    ctx: &BuildContext,
    legacy: Option<(PathBuf, String)>,
) -> Result<Box<dyn Source>, DriverError> {
    let wildcard = WildcardOptions::read(&opts);
    let (base_dir, pattern) = match legacy {
        Some(l) => l,
        None => {
            let (base, pattern) = check::wildcard_location(&opts, &wildcard)?;
            (PathBuf::from(base), pattern.to_string())
        }
    };
    let defaults = ParseFlags { local: true, ..ParseFlags::default() };
    let settings = follow_settings(object, opts, ctx, defaults)?;
    Ok(Box::new(WildcardSource {
        settings: Arc::new(settings),
        base_dir,
        pattern,
        recursive: wildcard.recursive,
        max_files: wildcard.max_files.unwrap_or(MAX_FILES),
        object: object.to_string(),
    }))
}

fn pipe_source(object: &str, opts: Options<'_>) -> Result<Box<dyn Source>, DriverError> {
    let path = opts.positional().unwrap_or_default();
    let perms = FilePerms::from_options(&opts, true)?;
    // pipe() has expected no hostname in its messages since syslog-ng 3.2.
    let defaults = ParseFlags { expect_hostname: false, local: true, ..ParseFlags::default() };
    let settings = read_settings(object, opts, defaults)?;
    let pipe = PipeSourceOptions::read(&opts);
    let file = match open_pipe(Path::new(path), &perms, pipe.create_dirs) {
        Ok(f) => Some(f),
        Err(e) if pipe.optional => {
            internal::error(format!("Error opening file for reading; filename='{path}', error='{e}'"));
            None
        }
        Err(e) => {
            return Err(DriverError::new(
                format!("Error opening file for reading; filename='{path}', error='{e}'"),
                opts.span(),
            ))
        }
    };
    Ok(Box::new(StreamSource { file, settings, file_name: Some(Arc::from(path.as_bytes())), at_eof: AtEof::Stop }))
}

/// Opens a named pipe for reading and writing (so that it never reports an end), making it
/// first when it is missing.
fn open_pipe(path: &Path, perms: &FilePerms, create_dirs: bool) -> Result<File, String> {
    let text = path.as_os_str().as_encoded_bytes();
    if text.windows(3).any(|w| w == b"../" || w == b"/..") {
        return Err(format!("Spurious path, logfile not created; path='{}'", path.display()));
    }
    if create_dirs {
        perms::create_containing_dirs(path, &perms.dir).map_err(|e| os_error(&e))?;
    }
    match std::fs::metadata(path) {
        Err(_) => {
            let mode = nix::sys::stat::Mode::from_bits_truncate(perms.file.mode.unwrap_or(0o600) as nix::libc::mode_t);
            nix::unistd::mkfifo(path, mode)
                .map_err(|e| format!("Error creating named pipe, mkfifo() returned an error; error='{}'", e.desc()))?;
        }
        Ok(m) if !m.file_type().is_fifo() => {
            return Err("You are using the pipe() driver, underlying file is not a FIFO, it should be used by file()"
                .to_string());
        }
        Ok(_) => {}
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| os_error(&e))?;
    if !path.starts_with("/dev/") {
        if let Err(e) = perms.file.apply_fd(&file) {
            internal::error(format!(
                "Error setting file ownership or permissions; filename='{}', error='{}'",
                path.display(),
                os_error(&e)
            ));
        }
    }
    Ok(file)
}

fn stdin_source(object: &str, opts: Options<'_>) -> Result<Box<dyn Source>, DriverError> {
    let defaults = ParseFlags { local: true, ..ParseFlags::default() };
    let settings = read_settings(object, opts, defaults)?;
    let file = std::io::stdin().lock().as_fd_owned().map_err(|e| {
        DriverError::new(format!("Error opening standard input; error='{}'", os_error(&e)), opts.span())
    })?;
    // syslog-ng also applies the global perm() (0600) to standard input; rsng only what the
    // driver sets.
    let perms = FilePerms::from_options(&opts, false)?.file;
    if !perms.is_empty() {
        if let Err(e) = perms.apply_fd(&file) {
            internal::error(format!(
                "Error setting file ownership or permissions; filename='-', error='{}'",
                os_error(&e)
            ));
        }
    }
    Ok(Box::new(StreamSource {
        file: Some(file),
        settings,
        file_name: Some(Arc::from(&b"-"[..])),
        at_eof: AtEof::Terminate,
    }))
}

/// A duplicate of a descriptor as a [`File`].
trait AsFdOwned {
    fn as_fd_owned(&self) -> io::Result<File>;
}

impl<T: std::os::fd::AsFd> AsFdOwned for T {
    fn as_fd_owned(&self) -> io::Result<File> {
        Ok(File::from(self.as_fd().try_clone_to_owned()?))
    }
}

fn program_source(object: &str, opts: Options<'_>) -> Result<Box<dyn Source>, DriverError> {
    let defaults = ParseFlags { local: true, ..ParseFlags::default() };
    Ok(Box::new(program::ProgramSource {
        cmdline: opts.positional().unwrap_or_default().to_string(),
        inherit_environment: ProgramOptions::read(&opts).inherit_environment,
        settings: read_settings(object, opts, defaults)?,
        time_reopen: time_reopen(&opts),
    }))
}

/// The writer of a file-family destination: `flags(syslog-protocol)` formats RFC 5424 lines.
fn writer(opts: Options<'_>, ctx: &BuildContext) -> Result<Writer, DriverError> {
    let format = if WriterOptions::read(&opts).flags.contains("syslog-protocol") {
        WireFormat::Syslog
    } else {
        WireFormat::File
    };
    Writer::new(opts, format, ctx)
}

fn time_reopen(opts: &Options<'_>) -> Duration {
    secs(ReopenOptions::read(opts).time_reopen)
}

/// `throttle()` of a destination driver.
pub(crate) fn throttle(opts: &Options<'_>) -> Throttle {
    Throttle::new(ThrottleOptions::read(opts).throttle.min(i64::from(u32::MAX)) as u32)
}

fn file_destination(opts: Options<'_>, ctx: &BuildContext, kind: Kind) -> Result<Box<dyn Destination>, DriverError> {
    let text = opts.positional().unwrap_or_default();
    let path = compile(text, &ctx.compile)
        .map_err(|e| DriverError::new(format!("error compiling the file name template `{text}`: {e}"), opts.span()))?;
    let literal = path.as_literal().map(|p| p.as_bytes().to_vec());
    let o = FileDestinationOptions::read(&opts);
    let w = FileWriterOptions::read(&opts);
    let time_reap = match o.time_reap {
        Some(n) => Some(n),
        None if literal.is_some() => None,
        None => Some(o.global_time_reap.unwrap_or(TIME_REAP)),
    }
    .filter(|&n| n > 0)
    .map(secs);
    let flush_lines = (w.flush_lines.or(w.sync).or(w.sync_freq))
        .or(w.global_flush_lines.or(w.global_sync_freq).or(w.global_sync))
        .unwrap_or(FLUSH_LINES)
        .clamp(1, FLUSH_LINES_MAX as i64) as usize;
    let overwrite_if_older = o.overwrite_if_older.or(o.remove_if_older).filter(|&n| n > 0).map(secs);
    let local_zone = crate::writer::LocalZoneOptions::read(&opts).local_time_zone;
    let time_zone = match local_zone.as_deref() {
        Some(z) => Some(crate::writer::parse_time_zone(z).ok_or_else(|| {
            DriverError::new(
                format!("unknown time zone `{z}` in local-time-zone()"),
                option_span(&opts, "local-time-zone"),
            )
        })?),
        None => None,
    };
    let path_opts = crate::writer::TemplateOptions::read(&opts).with_zone(time_zone);
    Ok(Box::new(FileDestination {
        kind,
        path,
        literal,
        path_opts,
        writer: writer(opts, ctx)?,
        perms: FilePerms::from_options(&opts, true)?,
        create_dirs: o.create_dirs,
        time_reap,
        time_reopen: time_reopen(&opts),
        flush_lines,
        fsync: o.fsync,
        overwrite_if_older,
        symlink_as: o.symlink_as.map(PathBuf::from),
        ignore_errors: WriterOptions::read(&opts).flags.contains("ignore-errors"),
        max_pending: w.log_fifo_size.unwrap_or(LOG_FIFO_SIZE),
        throttle: throttle(&opts),
        targets: Default::default(),
        reopen_seen: destination::reopen_generation(),
    }))
}

fn program_destination(
    object: &str,
    opts: Options<'_>,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let cmdline = opts.positional().unwrap_or_default().to_string();
    let o = ProgramDestinationOptions::read(&opts);
    let key = match &o.persist_name {
        Some(name) => format!("afprogram_dd_name.{name}"),
        None => format!("afprogram_dd_name({cmdline},{object})"),
    };
    Ok(Box::new(program::ProgramDestination {
        inherit_environment: ProgramOptions::read(&opts).inherit_environment,
        keep_alive: o.keep_alive,
        key,
        writer: writer(opts, ctx)?,
        time_reopen: time_reopen(&opts),
        throttle: throttle(&opts),
        cmdline,
    }))
}

fn usertty_destination(opts: Options<'_>) -> Result<Box<dyn Destination>, DriverError> {
    let line = compile("${FULLDATE} ${HOST} ${MESSAGE}\n", &CompileContext::new())
        .map_err(|e| DriverError::new(format!("error compiling the usertty() line: {e}"), opts.span()))?;
    Ok(Box::new(usertty::UserTty {
        user: opts.positional().unwrap_or_default().to_string(),
        time_reopen: ReopenOptions::read(&opts).time_reopen.min(MAX_SECONDS),
        line,
        opts: FormatOptions { time_zone: Some(jiff::tz::TimeZone::system()), ..FormatOptions::default() },
        utmp: PathBuf::from(usertty::UTMP),
        disabled_until: 0,
    }))
}

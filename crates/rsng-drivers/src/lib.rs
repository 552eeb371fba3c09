//! rsng's source and destination drivers, grouped by family as syslog-ng groups them:
//!
//! - [`socket`]: `network()`, `syslog()`, `tcp()`, `udp()`, `tcp6()`, `udp6()`, `unix-stream()`,
//!   `unix-dgram()` and `system()`, as sources and destinations.
//! - [`file`]: `file()` (source and destination), `pipe()`, `program()`, `usertty()`.
//! - [`amqp`]: `amqp()`, messages to AMQP brokers.
//! - [`http`]: `http()`, requests to HTTP bulk APIs.
//! - [`journal`]: `systemd-journal()`, the systemd journal through libsystemd.
//! - [`kafka`]: `kafka-c()`, records to Apache Kafka.
//! - [`redis`]: `redis()`, commands to a Redis server.
//! - [`mqtt`]: `mqtt()`, messages published to an MQTT broker.
//! - [`snmp`]: `snmp()`, SNMPv2c traps.
//! - [`sql`]: `sql()`, rows in database tables.
//! - [`internal`]: rsng's own events, as syslog-ng's `internal()` source names them.
//! - [`secure_logging`]: the `$(slog)` template function's key and MAC files.
//! - [`example`]: `example-msg-generator()` and `example-destination()` of syslog-ng's
//!   `examples` module.
//!
//! Each driver is built from its IR ([`build_source`], [`build_destination`]) — binding sockets
//! and opening files there, so that a failure stops start-up with the config location, as in
//! syslog-ng — and then runs as tokio tasks: one per listener and per connection for sources
//! (see [`pipeline`] for where they post messages), one writer per destination.

pub mod amqp;
pub mod charset;
pub mod consumed;
pub mod disk_buffer;
pub mod example;
pub mod fault;
pub mod file;
pub mod http;
pub mod internal;
pub mod journal;
pub mod kafka;
pub mod mark;
pub mod mqtt;
pub mod msg_stats;
pub mod options;
pub mod pipeline;
pub mod receive;
pub mod redis;
pub mod secure_logging;
pub mod snmp;
pub mod socket;
pub mod sql;
pub mod suppress;
pub mod threaded;
pub mod writer;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rsng_config::ir::Driver;
use rsng_config::source_map::FileSpan;
use rsng_core::template::{CompileContext, Template};
use tokio_util::sync::CancellationToken;

pub use options::{Globals, Options};
pub use pipeline::{DestinationQueue, Outbox, Outlet, Route, SourcePort, SourceStats};

/// A driver's task.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A driver that could not be set up (a port in use, a file that cannot be opened).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DriverError {
    pub message: String,
    /// The driver in the configuration.
    pub span: Option<FileSpan>,
}

impl DriverError {
    pub fn new(message: impl Into<String>, span: &FileSpan) -> DriverError {
        DriverError { message: message.into(), span: Some(*span) }
    }
}

/// What every driver may need from the rest of the configuration.
#[derive(Clone)]
pub struct BuildContext {
    pub globals: Globals,
    /// `template NAME { ... };` statements, compiled.
    pub templates: HashMap<String, Arc<Template>>,
    /// Escaping of named templates (`template-escape(yes)` in the statement).
    pub template_escape: HashMap<String, bool>,
    /// Template compilation context (user template functions, named templates).
    pub compile: CompileContext,
    /// The persist file (`-R`): where file positions and other state survive restarts.
    pub persist_file: Option<std::path::PathBuf>,
    /// Names a configuration position as syslog-ng's `location=` does, for run-time messages.
    pub locate: Locate,
    /// The counters of the destination being built, which its formatter updates.
    pub queue_stats: Option<Arc<pipeline::QueueStats>>,
}

/// `file:line:column` of a configuration span (see [`locator`]).
pub type Locate = Arc<dyn Fn(&FileSpan) -> String + Send + Sync>;

/// A [`Locate`] over the files of `config`, usable after the configuration is gone.
pub fn locator(config: &rsng_config::ir::Config) -> Locate {
    let files: Vec<(String, Arc<str>)> = config.files.iter().map(|f| (f.name.clone(), f.text.clone())).collect();
    Arc::new(move |span: &FileSpan| match files.get(span.file as usize) {
        Some((name, text)) => {
            let (line, col) = rsng_config::source_map::line_col(text, span.start);
            format!("{name}:{line}:{col}")
        }
        None => String::from("<unknown>"),
    })
}

/// What a running source gets.
pub struct SourceContext {
    pub port: SourcePort,
    pub shutdown: CancellationToken,
    /// The source object's name (`$SOURCE`).
    pub source_name: Arc<str>,
    /// The driver's id in the per-driver counters (`s#0`).
    pub stats_id: Arc<str>,
}

/// What a running destination gets.
pub struct DestinationContext {
    pub queue: Arc<DestinationQueue>,
    /// Cancelled when rsng stops for good: stop retrying; the queue is closed first so that what
    /// can be written is written.
    pub shutdown: CancellationToken,
}

/// A source, set up and ready to run.
pub trait Source: Send {
    fn run(self: Box<Self>, ctx: SourceContext) -> Task;
}

/// A destination, set up and ready to run.
pub trait Destination: Send {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task;
}

/// Builds source driver `driver` of source object `object`.
///
/// # Errors
/// When the driver cannot be set up (bind failure, unreadable path).
pub fn build_source(object: &str, driver: &Driver, ctx: &BuildContext) -> Result<Box<dyn Source>, DriverError> {
    let opts = Options::new(driver, &ctx.globals);
    match driver.name {
        // 3.38's system() reads the journal where systemd is the init system.
        "system" if journal::systemd_is_running() => journal::build_source(object, opts, ctx),
        "network" | "syslog" | "tcp" | "udp" | "tcp6" | "udp6" | "unix-stream" | "unix-dgram" | "system"
        | "systemd-syslog" => socket::build_source(object, opts, ctx),
        "systemd-journal" => journal::build_source(object, opts, ctx),
        "internal" => Ok(internal::build_source(object, opts)),
        "example-msg-generator" => example::build_source(object, opts, ctx),
        "mqtt" => mqtt::build_source(object, opts, ctx),
        "file" | "pipe" | "program" | "stdin" | "wildcard-file" => file::build_source(object, opts, ctx),
        other => Err(DriverError::new(format!("the source driver `{other}()` cannot run in rsng yet"), &driver.span)),
    }
}

/// Whether a source starts over at every reload even when its definition did not change:
/// `example-msg-generator()`, which syslog-ng initialises again (`num(1)` sends one more
/// message), and socket sources with `keep-alive(no)`, whose connections syslog-ng closes at a
/// reload (the listening socket is handed over, so nothing sent to it is lost).
pub fn source_restarts_at_reload(driver: &Driver, globals: &options::Globals) -> bool {
    match driver.name {
        "example-msg-generator" => true,
        name if socket::LISTENERS.contains(&name) => {
            !socket::options::ListenerOptions::read(&Options::new(driver, globals)).keep_alive
        }
        _ => false,
    }
}

/// The checks of `driver`'s options that its build runs before it touches the system, so that
/// `--syntax-only` refuses what start-up refuses.
///
/// # Errors
/// The first option rsng does not run, as the build reports it.
pub fn check_options(
    context: rsng_config::schema::Context,
    driver: &Driver,
    globals: &options::Globals,
) -> Result<(), DriverError> {
    let opts = Options::new(driver, globals);
    file::check_options(context, &opts)?;
    if context == rsng_config::schema::Context::Source && socket::LISTENERS.contains(&driver.name) {
        socket::check_options(&opts)?;
    }
    Ok(())
}

/// The drivers `system()` stands for on this host, written as syslog-ng 3.38 generates them:
/// the journal where systemd is the init system, else `/dev/log` and the kernel log that can be
/// read (`--preprocess-into` shows it).
pub fn system_source_expansion() -> String {
    if journal::systemd_is_running() {
        return "systemd-journal();".to_string();
    }
    let mut text = String::from("unix-dgram(\"/dev/log\" so-rcvbuf(8192) flags(syslog-protocol));");
    if file::kmsg::dev_kmsg_usable() {
        text.push_str(
            " file(\"/dev/kmsg\" program-override(\"kernel\") flags(kernel) format(linux-kmsg) keep-timestamp(no));",
        );
    } else if std::fs::File::open(file::PROC_KMSG).is_ok() {
        text.push_str(" file(\"/proc/kmsg\" program-override(\"kernel\") flags(kernel) keep-timestamp(no));");
    }
    text
}

/// Builds destination driver `driver`, the `index`th of destination object `object`.
///
/// # Errors
/// When the driver cannot be set up (bad template, unusable path).
pub fn build_destination(
    object: &str,
    index: usize,
    driver: &Driver,
    ctx: &BuildContext,
) -> Result<Box<dyn Destination>, DriverError> {
    let opts = Options::new(driver, &ctx.globals);
    match driver.name {
        "network" | "syslog" | "tcp" | "udp" | "tcp6" | "udp6" | "unix-stream" | "unix-dgram" => {
            socket::build_destination(object, opts, ctx)
        }
        "file" | "pipe" | "program" | "usertty" | "stdout" => file::build_destination(object, opts, ctx),
        "http" => http::build_destination(object, index, opts, ctx),
        "kafka-c" => kafka::build_destination(object, index, opts, ctx),
        "redis" => redis::build_destination(object, index, opts, ctx),
        "mqtt" => mqtt::build_destination(object, index, opts, ctx),
        "snmp" => snmp::build_destination(object, index, opts, ctx),
        "sql" => sql::build_destination(object, index, opts, ctx),
        "amqp" => amqp::build_destination(object, index, opts, ctx),
        "example-destination" => example::build_destination(opts),
        other => {
            Err(DriverError::new(format!("the destination driver `{other}()` cannot run in rsng yet"), &driver.span))
        }
    }
}

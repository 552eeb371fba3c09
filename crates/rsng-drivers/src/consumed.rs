//! Which accepted options each driver consumes.
//!
//! The option tables of `rsng_config::schema` accept everything syslog-ng 3.38 accepts, so that a
//! user's configuration loads unchanged. These tables say which of those options the drivers of
//! this crate (and the runtime behind them: `log-fifo-size()`, `disk-buffer()`) act on; the
//! runtime warns about every other option present in a configuration. A test in the runtime
//! (`unused/tests.rs`) builds every driver with every accepted option and checks these tables
//! against what the build code asks for, both ways.

use rsng_config::ir::Value;
use rsng_config::schema::Context;

use crate::file::{self, check};
use crate::mark::MarkOptions;
use crate::mqtt::options::{MqttClientOptions, MqttDestinationOptions, MqttSourceOptions};
use crate::options::globals::{DaemonGlobals, HostGlobals};
use crate::options::{as_bool, as_int, as_str};
use crate::receive::ReaderOptions;
use crate::socket::options::{
    InetListenerOptions, ListenerOptions, SenderOptions, SocketLevelOptions, UnixListenerOptions,
};
use crate::suppress::SuppressOptions;
use crate::writer::{LocalZoneOptions, TemplateOptions, WriterOptions};

/// What a driver does with its options.
#[derive(Debug, Clone, Copy)]
pub struct Consumes {
    /// Options read when the driver is built.
    pub options: &'static [&'static [&'static str]],
    /// Options that have no effect in syslog-ng 3.38 either for this driver (see the comments at
    /// the lists), so there is nothing to warn about.
    pub no_effect: &'static [&'static [&'static str]],
    /// Words of `flags()` that take effect (or that have no effect in syslog-ng either).
    pub flags: &'static [&'static str],
    /// Options of nested groups that take effect, as `group.option`. `tls()` is read whole by
    /// the TLS settings reader, which refuses what it cannot do.
    pub nested: &'static [&'static [&'static str]],
    /// Values with which an option that is not implemented changes nothing, because rsng does
    /// what syslog-ng does with that value (`spoof-source(no)`, `stats-freq(0)`).
    pub inert: &'static [(&'static str, &'static str)],
}

impl Consumes {
    /// Whether option `name` (canonical) is acted on, or has no effect in syslog-ng either.
    pub fn takes(&self, name: &str) -> bool {
        self.options.iter().any(|set| set.contains(&name)) || self.has_no_effect(name) || name == HOOK_COMMANDS
    }

    /// Whether option `name` has no effect in syslog-ng either for this driver.
    pub fn has_no_effect(&self, name: &str) -> bool {
        self.no_effect.iter().any(|set| set.contains(&name))
    }

    /// Whether option `group.name` of a nested group is acted on.
    pub fn takes_nested(&self, name: &str) -> bool {
        self.nested.iter().any(|set| set.contains(&name))
            || name.strip_prefix(HOOK_COMMANDS).is_some_and(|rest| rest.starts_with('.'))
    }

    /// Whether `value` of an option this driver does not run is one that changes nothing.
    pub fn inert(&self, name: &str, value: &Value) -> bool {
        self.inert.iter().filter(|(n, _)| *n == name).any(|(_, v)| same_value(v, value))
    }
}

/// `hook-commands()`, which the runtime runs for every driver.
const HOOK_COMMANDS: &str = "hook-commands";

fn same_value(expected: &str, value: &Value) -> bool {
    match expected {
        "yes" | "no" => as_bool(value) == Some(expected == "yes"),
        _ => match expected.parse::<i64>() {
            Ok(n) => as_int(value) == Some(n),
            Err(_) => as_str(value).is_some_and(|v| v.replace('_', "-").eq_ignore_ascii_case(expected)),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Sources

/// IP listeners: the reader, the listener, address and transport, socket options.
const INET_SOURCE: &[&[&str]] = &[
    ReaderOptions::DRIVER_OPTIONS,
    ListenerOptions::DRIVER_OPTIONS,
    InetListenerOptions::DRIVER_OPTIONS,
    SocketLevelOptions::DRIVER_OPTIONS,
];

/// Unix listeners: the reader, the listener, the socket file and credentials, and the socket
/// options syslog-ng sets on them (`so-rcvbuf()`, `so-keepalive()`, `so-reuseport()`,
/// `listen-backlog()`).
const UNIX_SOURCE: &[&[&str]] = &[
    ReaderOptions::DRIVER_OPTIONS,
    ListenerOptions::DRIVER_OPTIONS,
    UnixListenerOptions::DRIVER_OPTIONS,
    SocketLevelOptions::DRIVER_OPTIONS,
];

/// `systemd-syslog()` takes its socket as passed, with only the credentials option of a unix
/// listener.
const SYSTEMD_SYSLOG: &[&[&str]] =
    &[ReaderOptions::DRIVER_OPTIONS, ListenerOptions::DRIVER_OPTIONS, &["so-passcred", "pass-unix-credentials"]];

/// `read-old-records()` is only read by syslog-ng's journal reader; `log-fetch-limit()` only
/// shapes how many messages one poll takes (rsng reads 64 KiB and posts the batch);
/// `persist-name()` names persist-file entries, and socket sources keep none;
/// `trim-large-messages()` acts on octet-counted framing only; `ip-tos()` only marks what a
/// socket sends, and syslog-ng sets it on destinations only.
const SOCKET_SOURCE_NO_EFFECT: &[&str] =
    &["read-old-records", "log-fetch-limit", "persist-name", "trim-large-messages", "ip-tos"];

/// Parser flags of `rsng_proto::syslog::ParseFlags`, `empty-lines`, and `threaded` (rsng reads
/// every connection on its own task anyway).
const READER_FLAGS: &[&str] = &[
    "no-parse",
    "check-hostname",
    "syslog-protocol",
    "no-rfc3164-fallback",
    "assume-utf8",
    "validate-utf8",
    "sanitize-utf8",
    "no-multi-line",
    "store-legacy-msghdr",
    "dont-store-legacy-msghdr",
    "expect-hostname",
    "no-hostname",
    "no-header",
    "kernel",
    "empty-lines",
    "threaded",
    "store-raw-message",
    "guess-timezone",
    "ignore-aux-data",
];

/// Values of options the socket sources do not run that leave syslog-ng doing what rsng does.
const SOCKET_SOURCE_INERT: &[(&str, &str)] = &[("so-passcred", "yes")];

/// The kernel log that `system()` reads beside `/dev/log` takes nothing from `system()`'s
/// options; `exclude-kmsg()` is ignored by syslog-ng 3.38 too.
const SYSTEM_NO_EFFECT: &[&str] = &["exclude-kmsg"];

/// rsng's `system()` does not run the `app-parser()` syslog-ng adds to it, so `auto-parse(no)`
/// changes nothing.
const SYSTEM_INERT: &[(&str, &str)] = &[("auto-parse", "no")];

// ---------------------------------------------------------------------------------------------
// Destinations

/// What the runtime runs beside every socket destination: its queue, MARK messages
/// ([`crate::mark`]), `throttle()`, keeping the connection across a reload (`keep-alive()`), and
/// `suppress()` ([`crate::suppress`]).
/// The rest is typed in [`crate::writer::WriterOptions`] and [`crate::socket::options`].
const SOCKET_DEST_QUEUE: &[&str] =
    &["log-fifo-size", "disk-buffer", "mark-freq", "mark", "mark-mode", "throttle", "keep-alive", "suppress"];

/// Socket destinations: the writer, socket options, peer and connection, the queue.
const SOCKET_DEST: &[&[&str]] = &[
    WriterOptions::DRIVER_OPTIONS,
    TemplateOptions::DRIVER_OPTIONS,
    SocketLevelOptions::DRIVER_OPTIONS,
    SenderOptions::DRIVER_OPTIONS,
    SOCKET_DEST_QUEUE,
];

/// `flush-timeout()` is obsolete and does nothing; `persist-name()` names persist-file entries, which socket destinations do not keep;
/// `pad-size()` is only read by file and pipe destinations; syslog-ng sets `ip-freebind()` and
/// `tcp-keepalive-*()` on listening sockets only.
/// `local-time-zone()` is the zone of file names and table names (syslog-ng's `LTZ_LOCAL`),
/// which socket destinations do not have.
const SOCKET_DEST_NO_EFFECT: &[&str] = &[
    "local-time-zone",
    "flush-timeout",
    "persist-name",
    "pad-size",
    "ip-freebind",
    "tcp-keepalive-time",
    "tcp-keepalive-intvl",
    "tcp-keepalive-probes",
];

/// `no-multi-line` is the writer's, `syslog-protocol` chooses `syslog()`'s format; `threaded`
/// changes nothing (every destination has its own task).
const SOCKET_WRITER_FLAGS: &[&str] = &["no-multi-line", "syslog-protocol", "threaded"];

/// `disk-buffer()` options the disk queue runs (the runtime's `disk_options`).
const DISK_BUFFER: &[&str] = &[
    "disk-buffer.dir",
    "disk-buffer.disk-buf-size",
    "disk-buffer.reliable",
    "disk-buffer.qout-size",
    "disk-buffer.mem-buf-length",
    "disk-buffer.mem-buf-size",
];

/// `failover()` of IP destinations, its `failback()` read whole ([`crate::socket::failover`]).
const FAILOVER: &[&str] = &["failover.servers", "failover.failback"];

/// The file family checks its options itself ([`check`]) and refuses what it cannot do; of the
/// options it accepts these have no effect, in syslog-ng either (see [`check`]'s comment).
const FILE_NO_EFFECT: &[&str] = check::NO_EFFECT;

const ALL_FILE_FLAGS: &[&str] = &[
    "no-parse",
    "check-hostname",
    "syslog-protocol",
    "no-rfc3164-fallback",
    "assume-utf8",
    "validate-utf8",
    "sanitize-utf8",
    "no-multi-line",
    "store-legacy-msghdr",
    "dont-store-legacy-msghdr",
    "expect-hostname",
    "no-hostname",
    "no-header",
    "kernel",
    "empty-lines",
    "threaded",
    "ignore-errors",
];

const FILE_INERT: &[(&str, &str)] = &[];

/// `local-time-zone()` is the zone of file names, table names and routing keys (syslog-ng's
/// `LTZ_LOCAL`), which `program()` and `http()` do not have.
const NO_LOCAL_NAMES: &[&str] = &["local-time-zone"];

/// `kafka-c()` besides its typed options ([`crate::kafka::options::KafkaOptions`]): `config()`.
const KAFKA: &[&str] = &[crate::kafka::options::CONFIG];

/// `snmp()` besides its typed options ([`crate::snmp::options::SnmpOptions`]): its objects.
const SNMP: &[&str] = &[crate::snmp::options::SNMP_OBJ, crate::snmp::options::TRAP_OBJ];

/// 3.38's mqtt source never parses the payload (`format()` and the parser flags change
/// nothing), keeps no state under `persist-name()` and reads no old records.
const MQTT_SOURCE_NO_EFFECT: &[&str] = &["format", "persist-name", "read-old-records"];

/// The message-format flags the `mqtt()` source accepts: it never parses, so none of them
/// changes anything, in syslog-ng either.
const MQTT_SOURCE_FLAGS: &[&str] = &[
    "no-parse",
    "check-hostname",
    "syslog-protocol",
    "assume-utf8",
    "validate-utf8",
    "sanitize-utf8",
    "no-multi-line",
    "store-legacy-msghdr",
    "dont-store-legacy-msghdr",
    "store-raw-message",
    "expect-hostname",
    "no-hostname",
    "guess-timezone",
    "no-header",
    "no-rfc3164-fallback",
];

/// The queue the runtime puts in front of a threaded destination.
const THREADED_QUEUE: &[&str] = &["log-fifo-size", "disk-buffer"];

/// The `value-pairs()` options `amqp()` sends as headers; others are refused.
const AMQP_VALUE_PAIRS: &[&str] = &["value-pairs.scope", "value-pairs.key", "value-pairs.exclude", "value-pairs.pair"];

/// `persist-name()` of the threaded destinations names their stats row, disk buffer and (for
/// `kafka-c(sync-send(yes))`) transactions; it is read where those are named, not at build.
const THREADED_DEST_NO_EFFECT: &[&str] = &["persist-name"];

const fn consumes(
    options: &'static [&'static [&'static str]],
    no_effect: &'static [&'static [&'static str]],
    flags: &'static [&'static str],
    nested: &'static [&'static [&'static str]],
    inert: &'static [(&'static str, &'static str)],
) -> Consumes {
    Consumes { options, no_effect, flags, nested, inert }
}

/// What source or destination driver `name` consumes; `None` for parsers and rewrite rules,
/// whose builders take every option they accept or refuse it by name (`rsng_runtime::transform`).
pub fn driver(context: Context, name: &str) -> Option<Consumes> {
    use check::*;
    Some(match (context, name) {
        (Context::Source, "network" | "syslog" | "tcp" | "tcp6" | "udp" | "udp6") => {
            consumes(INET_SOURCE, &[SOCKET_SOURCE_NO_EFFECT], READER_FLAGS, &[], SOCKET_SOURCE_INERT)
        }
        (Context::Source, "unix-stream") => {
            consumes(UNIX_SOURCE, &[SOCKET_SOURCE_NO_EFFECT], READER_FLAGS, &[], SOCKET_SOURCE_INERT)
        }
        (Context::Source, "unix-dgram") => {
            consumes(UNIX_SOURCE, &[SOCKET_SOURCE_NO_EFFECT], READER_FLAGS, &[], SOCKET_SOURCE_INERT)
        }
        (Context::Source, "systemd-syslog") => {
            consumes(SYSTEMD_SYSLOG, &[SOCKET_SOURCE_NO_EFFECT], READER_FLAGS, &[], SOCKET_SOURCE_INERT)
        }
        (Context::Source, "system") => consumes(&[], &[SYSTEM_NO_EFFECT], &[], &[], SYSTEM_INERT),
        (Context::Source, "mqtt") => consumes(
            &[MqttClientOptions::DRIVER_OPTIONS, MqttSourceOptions::DRIVER_OPTIONS, ReaderOptions::DRIVER_OPTIONS],
            &[MQTT_SOURCE_NO_EFFECT],
            MQTT_SOURCE_FLAGS,
            &[],
            &[],
        ),
        (Context::Source, "internal") => consumes(
            &[
                &["chain-hostnames", "long-hostnames", "keep-hostname", "program-override", "log-prefix"],
                &["host-override", "keep-timestamp", "tags"],
                &["use-fqdn", "use-dns", "dns-cache", "normalize-hostnames", "log-fifo-size"],
                crate::internal::InternalSourceOptions::DRIVER_OPTIONS,
            ],
            // Internal messages carry rsng's own pid already.
            &[&["read-old-records", "use-syslogng-pid"]],
            &[],
            &[],
            &[],
        ),
        // `persist-name()` is not used by 3.38's journal reader (its key is fixed); the journal
        // keeps what is not read yet, so the reader waits for room in every destination and
        // `log-iw-size()` has nothing to bound.
        (Context::Source, "systemd-journal") => consumes(
            &[ReaderOptions::DRIVER_OPTIONS, crate::journal::options::JournalSourceOptions::DRIVER_OPTIONS],
            &[&["persist-name", "log-iw-size"]],
            &[],
            &[],
            &[],
        ),
        (Context::Source, "file") => {
            consumes(LEGACY_FILE_SOURCE_OPTIONS, &[FILE_NO_EFFECT], ALL_FILE_FLAGS, &[], FILE_INERT)
        }
        (Context::Source, "stdin") => {
            consumes(STDIN_SOURCE_OPTIONS, &[FILE_NO_EFFECT], ALL_FILE_FLAGS, &[], FILE_INERT)
        }
        (Context::Source, "wildcard-file") => {
            consumes(WILDCARD_SOURCE_OPTIONS, &[FILE_NO_EFFECT], ALL_FILE_FLAGS, &[], FILE_INERT)
        }
        (Context::Source, "pipe") => consumes(PIPE_SOURCE_OPTIONS, &[FILE_NO_EFFECT], ALL_FILE_FLAGS, &[], FILE_INERT),
        (Context::Source, "program") => {
            consumes(PROGRAM_SOURCE_OPTIONS, &[FILE_NO_EFFECT], ALL_FILE_FLAGS, &[], FILE_INERT)
        }
        (
            Context::Destination,
            "network" | "syslog" | "tcp" | "tcp6" | "udp" | "udp6" | "unix-stream" | "unix-dgram",
        ) => consumes(
            SOCKET_DEST,
            &[SOCKET_DEST_NO_EFFECT, check::NO_FLUSH_LINES],
            SOCKET_WRITER_FLAGS,
            &[DISK_BUFFER, FAILOVER],
            &[],
        ),
        (Context::Destination, "file") => {
            consumes(FILE_DEST_OPTIONS, &[FILE_NO_EFFECT], ALL_FILE_FLAGS, &[DISK_BUFFER], FILE_INERT)
        }
        (Context::Destination, "pipe") => {
            consumes(PIPE_DEST_OPTIONS, &[FILE_NO_EFFECT], ALL_FILE_FLAGS, &[DISK_BUFFER], FILE_INERT)
        }
        (Context::Destination, "program") => consumes(
            PROGRAM_DEST_OPTIONS,
            &[FILE_NO_EFFECT, NO_LOCAL_NAMES, check::NO_FLUSH_LINES],
            ALL_FILE_FLAGS,
            &[DISK_BUFFER],
            FILE_INERT,
        ),
        (Context::Destination, "usertty") => consumes(&[USERTTY], &[], &[], &[], &[]),
        (Context::Destination, "kafka-c") => consumes(
            &[
                KAFKA,
                THREADED_QUEUE,
                crate::kafka::options::KafkaOptions::DRIVER_OPTIONS,
                TemplateOptions::DRIVER_OPTIONS,
            ],
            &[THREADED_DEST_NO_EFFECT],
            &[],
            &[DISK_BUFFER],
            &[],
        ),
        (Context::Destination, "redis") => consumes(
            &[THREADED_QUEUE, crate::redis::options::RedisOptions::DRIVER_OPTIONS, TemplateOptions::DRIVER_OPTIONS],
            &[THREADED_DEST_NO_EFFECT],
            &[],
            &[DISK_BUFFER],
            &[],
        ),
        (Context::Destination, "http") => consumes(
            &[
                THREADED_QUEUE,
                crate::http::options::HttpOptions::DRIVER_OPTIONS,
                crate::http::options::TLS_OPTIONS,
                TemplateOptions::DRIVER_OPTIONS,
            ],
            &[NO_LOCAL_NAMES],
            &[],
            &[DISK_BUFFER],
            &[],
        ),
        (Context::Destination, "sql") => consumes(
            &[
                THREADED_QUEUE,
                crate::sql::options::SqlOptions::DRIVER_OPTIONS,
                TemplateOptions::DRIVER_OPTIONS,
                LocalZoneOptions::DRIVER_OPTIONS,
            ],
            &[THREADED_DEST_NO_EFFECT],
            crate::sql::options::SQL_FLAGS,
            &[DISK_BUFFER],
            &[],
        ),
        (Context::Destination, "amqp") => consumes(
            &[
                THREADED_QUEUE,
                crate::amqp::options::AmqpOptions::DRIVER_OPTIONS,
                crate::amqp::options::TLS_OPTIONS,
                TemplateOptions::DRIVER_OPTIONS,
                LocalZoneOptions::DRIVER_OPTIONS,
            ],
            &[],
            &[],
            &[DISK_BUFFER, AMQP_VALUE_PAIRS],
            &[],
        ),
        (Context::Destination, "example-destination") => consumes(
            &[THREADED_QUEUE, crate::example::ExampleDestinationOptions::DRIVER_OPTIONS],
            &[THREADED_DEST_NO_EFFECT],
            &[],
            &[DISK_BUFFER],
            &[],
        ),
        (Context::Destination, "mqtt") => consumes(
            &[
                THREADED_QUEUE,
                MqttClientOptions::DRIVER_OPTIONS,
                MqttDestinationOptions::DRIVER_OPTIONS,
                TemplateOptions::DRIVER_OPTIONS,
            ],
            &[],
            &[],
            &[DISK_BUFFER],
            &[],
        ),
        (Context::Destination, "snmp") => consumes(
            &[SNMP, THREADED_QUEUE, crate::snmp::options::SnmpOptions::DRIVER_OPTIONS, TemplateOptions::DRIVER_OPTIONS],
            &[THREADED_DEST_NO_EFFECT],
            &[],
            &[DISK_BUFFER],
            &[],
        ),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Global options

/// Every global option read: as a driver's fallback, or for the daemon itself.
static GLOBALS: &[&[&str]] = &[
    ReaderOptions::GLOBAL_OPTIONS,
    WriterOptions::GLOBAL_OPTIONS,
    TemplateOptions::GLOBAL_OPTIONS,
    LocalZoneOptions::GLOBAL_OPTIONS,
    SenderOptions::GLOBAL_OPTIONS,
    ListenerOptions::GLOBAL_OPTIONS,
    InetListenerOptions::GLOBAL_OPTIONS,
    UnixListenerOptions::GLOBAL_OPTIONS,
    HostGlobals::GLOBAL_OPTIONS,
    DaemonGlobals::GLOBAL_OPTIONS,
    MarkOptions::GLOBAL_OPTIONS,
    SuppressOptions::GLOBAL_OPTIONS,
    file::options::FileWriterOptions::GLOBAL_OPTIONS,
    file::options::FileDestinationOptions::GLOBAL_OPTIONS,
    file::options::GlobalPermOptions::GLOBAL_OPTIONS,
    file::options::PipeSourceOptions::GLOBAL_OPTIONS,
    file::options::ReopenOptions::GLOBAL_OPTIONS,
];

/// `flush-timeout()` and `time-sleep()` are obsolete and do nothing; `threaded()` changes
/// nothing (rsng always runs on worker threads); the global `log-iw-size()` and
/// `log-fetch-limit()` were removed in syslog-ng and are ignored there too.
const GLOBAL_NO_EFFECT: &[&str] = &["flush-timeout", "time-sleep", "threaded", "log-iw-size", "log-fetch-limit"];

/// What the global `options {}` consumes.
pub fn globals() -> Consumes {
    consumes(GLOBALS, &[GLOBAL_NO_EFFECT], &[], &[], &[])
}

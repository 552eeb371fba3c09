//! Option groups of syslog-ng's socket drivers and the groups every source and destination shares.
//!
//! Mirrors syslog-ng 3.38's `afsocket` grammar (`network() syslog() tcp() tcp6() udp() udp6()
//! unix-stream() unix-dgram()`) and the generic rules it includes from `lib/cfg-grammar.y`:
//! `source_option` (LogSource), `source_reader_option` (LogReader, with `msg_format_option` and
//! `source_proto_option`), `source_driver_option`, `dest_writer_option` (LogWriter),
//! `dest_driver_option` (with the inner `disk-buffer()` and `hook-commands()` plugins),
//! `socket_option`, `inet_socket_option` and `file_perm_option`. Drivers combine these groups in
//! `drivers.rs`, in the same way the syslog-ng grammar rules include one another.

use super::global::{MARK_MODES, ON_ERROR_VALUES, TS_FORMATS, USE_DNS_VALUES};
use super::{Kind, OptionSpec as O, NONNEGATIVE_INTEGER, POSITIVE_INTEGER, TLS_OPTIONS, TLS_SOURCE_OPTIONS};

const ONLY_4X: &str = "only in syslog-ng 4.x; syslog-ng 3.38 does not accept it";

// ---------------------------------------------------------------------------------------------
// Flags

/// Message-format flags (`lib/msg-format.c`): valid in every reader's `flags()` and in
/// `syslog-parser(flags())`.
pub static MSG_FORMAT_FLAGS: &[&str] = &[
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

/// `flags()` of a reading source: the message-format flags plus the LogReader ones
/// (`lib/logreader.c`). An unknown flag is fatal ("Unknown flag"). Note: unquoted `threaded`
/// lexes as a keyword in 3.38 and is a syntax error; `flags("threaded")` works.
pub static READER_FLAGS: &[&str] = &[
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
    "kernel",
    "empty-lines",
    "threaded",
    "ignore-aux-data",
];

/// `flags()` of a destination writer (`lib/logwriter.c`). An unknown flag only prints
/// "Unknown dest writer flag"; the configuration is still accepted. As in sources, unquoted
/// `threaded` is a syntax error in 3.38.
pub static WRITER_FLAGS: &[&str] = &["syslog-protocol", "no-multi-line", "threaded", "ignore-errors"];

// ---------------------------------------------------------------------------------------------
// Sources

/// `source_option`: LogSource options, valid in every source (also `internal()`).
pub static SOURCE_OPTIONS: &[O] = &[
    O::new("log-iw-size", POSITIVE_INTEGER),
    O::new("chain-hostnames", Kind::YesNo),
    O::new("long-hostnames", Kind::YesNo).obsolete("use chain-hostnames() instead"),
    O::new("keep-hostname", Kind::YesNo),
    O::new("program-override", Kind::String),
    O::new("log-prefix", Kind::String).obsolete("use program-override() instead"),
    O::new("host-override", Kind::String),
    O::new("keep-timestamp", Kind::YesNo),
    O::new("read-old-records", Kind::YesNo),
    O::new("use-syslogng-pid", Kind::YesNo),
    O::new("tags", Kind::StringList).multi(),
    // host_resolve_option
    O::new("use-fqdn", Kind::YesNo),
    O::new("use-dns", Kind::Enum(USE_DNS_VALUES)),
    O::new("dns-cache", Kind::YesNo),
    O::new("normalize-hostnames", Kind::YesNo),
];

/// `msg_format_option`: how incoming messages are parsed. Also used by `syslog-parser()`.
pub static MSG_FORMAT_OPTIONS: &[O] = &[
    // Receive time zone for stamps that carry none.
    O::new("time-zone", Kind::String),
    O::new("default-priority", Kind::Level).aliases(&["default-level", "default-severity"]),
    O::new("default-facility", Kind::Facility),
    O::new("sdata-prefix", Kind::String).rejected(ONLY_4X),
];

/// `source_reader_option` without its `source_option` and `msg_format_option` parts: options of
/// every source that reads a stream (all but `internal()`).
pub static READER_OPTIONS: &[O] = &[
    O::new("check-hostname", Kind::YesNo),
    O::new("flags", Kind::Flags { values: READER_FLAGS, fatal: true }),
    O::new("log-fetch-limit", POSITIVE_INTEGER),
    // Message format plugin name (`syslog`, `linux-kmsg`, ...), resolved at start-up.
    O::new("format", Kind::String),
    // source_proto_option; unknown encodings are an error while parsing.
    O::new("encoding", Kind::Encoding),
    O::new("log-msg-size", POSITIVE_INTEGER),
    O::new("trim-large-messages", Kind::YesNo),
    O::new("check-program", Kind::YesNo).rejected(ONLY_4X),
    O::new("idle-timeout", POSITIVE_INTEGER).rejected(ONLY_4X),
];

/// `hook-commands(...)`: shell commands run at driver start-up/shutdown (inner plugin of both
/// sources and destinations).
pub static HOOK_COMMANDS_OPTIONS: &[O] = &[
    O::new("startup", Kind::String),
    O::new("setup", Kind::String),
    O::new("teardown", Kind::String),
    O::new("shutdown", Kind::String),
];

/// `source_driver_option`: `persist-name()` and inner source plugins.
pub static SOURCE_DRIVER_OPTIONS: &[O] =
    &[O::new("persist-name", Kind::String), O::new("hook-commands", Kind::Nested(HOOK_COMMANDS_OPTIONS))];

/// `ip()`/`port()` of `network() syslog() tcp() tcp6() udp() udp6()` sources.
pub static INET_SOURCE_OPTIONS: &[O] = &[
    // Listen address; IPv6 addresses must be quoted.
    O::new("ip", Kind::String).aliases(&["localip"]),
    // Number or service name; numbers keep their source text.
    O::new("port", Kind::StringOrNumber).aliases(&["localport"]),
];

/// `source_afsocket_stream_params`: connection handling of listening sockets (also accepted by
/// the unix sockets, including `unix-dgram()`).
pub static STREAM_SOURCE_OPTIONS: &[O] = &[
    O::new("keep-alive", Kind::YesNo),
    O::new("max-connections", POSITIVE_INTEGER),
    O::new("listen-backlog", POSITIVE_INTEGER),
    O::new("dynamic-window-size", NONNEGATIVE_INTEGER),
    O::new("dynamic-window-stats-freq", Kind::Float),
    O::new("dynamic-window-realloc-ticks", NONNEGATIVE_INTEGER),
];

/// `ip-protocol()`: only `4` and `6` ("ip-protocol option can only be 4 or 6!").
pub static IP_PROTOCOLS: &[&str] = &["4", "6"];

/// `transport()`, `ip-protocol()` and `tls()` of `network()`/`syslog()` sources.
/// `tcp()`/`udp()` have no `transport()` or `ip-protocol()`.
pub static TRANSPORT_SOURCE_OPTIONS: &[O] = &[
    // `tcp`, `udp`, `tls` or a LogProto plugin name (`framed`, `proxied-tcp`, ...), compared
    // case-insensitively; checked with the driver's other options (`crate::transport`).
    O::new("transport", Kind::String),
    O::new("ip-protocol", Kind::Enum(IP_PROTOCOLS)),
    O::new("tls", Kind::Nested(TLS_SOURCE_OPTIONS)),
];

/// `tls()` alone, for `tcp()`/`tcp6()` sources (where it switches TLS on).
pub static TLS_SOURCE_OPTION: &[O] = &[O::new("tls", Kind::Nested(TLS_SOURCE_OPTIONS))];

/// Options of `unix-stream()`/`unix-dgram()` sources besides the shared groups.
pub static UNIX_SOURCE_OPTIONS: &[O] = &[
    O::new("optional", Kind::YesNo),
    O::new("create-dirs", Kind::YesNo),
    O::new("pass-unix-credentials", Kind::YesNo).obsolete(
        "pass-unix-credentials() has been deprecated in syslog-ng 3.35 in favour of the so-passcred() \
         source option or the ignore-aux-data source flag",
    ),
];

// ---------------------------------------------------------------------------------------------
// Sockets and files

/// `socket_option`: valid in every socket source and destination.
pub static SOCKET_OPTIONS: &[O] = &[
    O::new("so-sndbuf", NONNEGATIVE_INTEGER),
    O::new("so-rcvbuf", NONNEGATIVE_INTEGER),
    O::new("so-broadcast", Kind::YesNo),
    O::new("so-keepalive", Kind::YesNo).aliases(&["tcp-keepalive", "tcp-keep-alive"]),
    O::new("so-reuseport", Kind::YesNo),
];

/// `inet_socket_option` without its `socket_option` part: IP sockets only.
pub static INET_SOCKET_OPTIONS: &[O] = &[
    O::new("ip-ttl", NONNEGATIVE_INTEGER),
    O::new("ip-tos", NONNEGATIVE_INTEGER),
    O::new("ip-freebind", Kind::YesNo),
    O::new("interface", Kind::String),
    O::new("tcp-keepalive-time", NONNEGATIVE_INTEGER),
    O::new("tcp-keepalive-intvl", NONNEGATIVE_INTEGER),
    O::new("tcp-keepalive-probes", NONNEGATIVE_INTEGER),
];

/// `unix_socket_option` without its `socket_option` part: unix sources only (not destinations).
pub static UNIX_SOCKET_OPTIONS: &[O] = &[O::new("so-passcred", Kind::YesNo).aliases(&["local-creds"])];

/// `file_perm_option`: ownership and mode of created files, sockets and directories. An empty
/// value (`owner()`) means "leave as is".
pub static FILE_PERM_OPTIONS: &[O] = &[
    O::new("owner", Kind::User),
    O::new("group", Kind::UnixGroup),
    O::new("perm", Kind::Perm),
    O::new("dir-owner", Kind::User),
    O::new("dir-group", Kind::UnixGroup),
    O::new("dir-perm", Kind::Perm),
];

// ---------------------------------------------------------------------------------------------
// Destinations

/// `dest_writer_option`: LogWriter options, valid in every destination except `usertty()`.
pub static WRITER_OPTIONS: &[O] = &[
    O::new("flags", Kind::Flags { values: WRITER_FLAGS, fatal: false }),
    O::new("flush-lines", NONNEGATIVE_INTEGER),
    O::new("sync", NONNEGATIVE_INTEGER).obsolete("use flush-lines() instead"),
    O::new("sync-freq", NONNEGATIVE_INTEGER).obsolete("use flush-lines() instead"),
    O::new("flush-timeout", POSITIVE_INTEGER)
        .obsolete("flush-timeout() does nothing; some drivers support batch-timeout() at the destination level"),
    O::new("suppress", NONNEGATIVE_INTEGER),
    // A template defined earlier, else inline template text.
    O::new("template", Kind::TemplateRef),
    // Only meaningful after an inline template(); otherwise 3.38 prints an error but goes on.
    O::new("template-escape", Kind::YesNo),
    O::new("pad-size", NONNEGATIVE_INTEGER),
    O::new("truncate-size", NONNEGATIVE_INTEGER),
    O::new("mark-freq", NONNEGATIVE_INTEGER),
    O::new("mark", NONNEGATIVE_INTEGER).obsolete("use mark-freq() instead"),
    O::new("mark-mode", Kind::Enum(MARK_MODES)),
    O::new("time-reopen", POSITIVE_INTEGER),
    // template_option
    O::new("ts-format", Kind::Enum(TS_FORMATS)),
    O::new("frac-digits", NONNEGATIVE_INTEGER),
    O::new("time-zone", Kind::String),
    O::new("send-time-zone", Kind::String),
    O::new("local-time-zone", Kind::String),
    O::new("on-error", Kind::Enum(ON_ERROR_VALUES)),
];

/// `disk-buffer(...)` with its 3.38 option names. The 4.x names are rejected with the 3.38
/// spelling to use instead.
pub static DISK_BUFFER_OPTIONS: &[O] = &[
    O::new("reliable", Kind::YesNo),
    O::new("compaction", Kind::YesNo),
    O::new("disk-buf-size", NONNEGATIVE_INTEGER),
    O::new("mem-buf-size", NONNEGATIVE_INTEGER),
    O::new("mem-buf-length", NONNEGATIVE_INTEGER),
    O::new("qout-size", NONNEGATIVE_INTEGER),
    O::new("dir", Kind::Path),
    // A float between 0 and 1.
    O::new("truncate-size-ratio", Kind::Float),
    O::new("capacity-bytes", NONNEGATIVE_INTEGER).rejected("only in syslog-ng 4.x; use disk-buf-size() in 3.38"),
    O::new("flow-control-window-bytes", NONNEGATIVE_INTEGER)
        .rejected("only in syslog-ng 4.x; use mem-buf-size() in 3.38"),
    O::new("flow-control-window-size", NONNEGATIVE_INTEGER)
        .rejected("only in syslog-ng 4.x; use mem-buf-length() in 3.38"),
    O::new("front-cache-size", NONNEGATIVE_INTEGER).rejected("only in syslog-ng 4.x; use qout-size() in 3.38"),
    O::new("prealloc", Kind::YesNo).rejected(ONLY_4X),
    O::new("stats", Kind::Any).rejected(ONLY_4X),
];

/// `dest_driver_option`: queueing, persist name and inner destination plugins.
pub static DEST_DRIVER_OPTIONS: &[O] = &[
    O::new("log-fifo-size", POSITIVE_INTEGER),
    O::new("throttle", NONNEGATIVE_INTEGER),
    O::new("persist-name", Kind::String),
    O::new("disk-buffer", Kind::Nested(DISK_BUFFER_OPTIONS)),
    O::new("hook-commands", Kind::Nested(HOOK_COMMANDS_OPTIONS)),
];

/// `failback(...)` inside `failover(...)`.
pub static FAILBACK_OPTIONS: &[O] =
    &[O::new("tcp-probe-interval", POSITIVE_INTEGER), O::new("successful-probes-required", POSITIVE_INTEGER)];

/// `failover(servers(...) failback(...))`: `servers()` must come first in 3.38.
pub static FAILOVER_OPTIONS: &[O] =
    &[O::new("servers", Kind::StringList).multi(), O::new("failback", Kind::Nested(FAILBACK_OPTIONS))];

/// `dest_afinet_option` without the shared groups: IP destinations. There is no `ip()`.
pub static INET_DEST_OPTIONS: &[O] = &[
    O::new("localip", Kind::String),
    O::new("localport", Kind::StringOrNumber),
    O::new("port", Kind::StringOrNumber).aliases(&["destport"]),
    O::new("failover", Kind::Nested(FAILOVER_OPTIONS)),
    O::new("failover-servers", Kind::StringList)
        .multi()
        .obsolete("failover-servers() has been deprecated, use failover(servers(...)) instead"),
];

/// rsng extension (syslog-ng has none) of the destinations that can connect over TCP: reconnect
/// after this many seconds, so that a load balancer can spread long-lived connections again.
/// See docs/tls.md.
pub static STREAM_DEST_OPTIONS: &[O] = &[O::new("max-connection-lifetime", NONNEGATIVE_INTEGER)];

/// `dest_afsocket_option`: every socket destination.
pub static SOCKET_DEST_OPTIONS: &[O] = &[
    // Keep the connection across reloads.
    O::new("keep-alive", Kind::YesNo),
    O::new("close-on-input", Kind::YesNo),
];

/// `dest_afinet_dgram_option`: `udp()`/`udp6()`, and `network()`/`syslog()` (used with UDP).
pub static DGRAM_DEST_OPTIONS: &[O] =
    &[O::new("spoof-source", Kind::YesNo), O::new("spoof-source-max-msglen", POSITIVE_INTEGER)];

/// `transport()`, `ip-protocol()` and `tls()` of `network()`/`syslog()` destinations.
pub static TRANSPORT_DEST_OPTIONS: &[O] = &[
    O::new("transport", Kind::String),
    O::new("ip-protocol", Kind::Enum(IP_PROTOCOLS)),
    O::new("tls", Kind::Nested(TLS_OPTIONS)),
];

/// `tls()` alone, for `tcp()`/`tcp6()` destinations.
pub static TLS_DEST_OPTION: &[O] = &[O::new("tls", Kind::Nested(TLS_OPTIONS))];

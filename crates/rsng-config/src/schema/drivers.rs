//! The driver table: every source, destination, parser and rewrite rule rsng runs, with the
//! option groups each accepts, plus the syslog-ng drivers rsng only recognises.
//!
//! Mirrors how syslog-ng 3.38 registers plugins per context (`lib/plugin.c`) and how each
//! driver's grammar rule includes the shared option rules: the `affile`, `afprog`, `afuser`,
//! `afsocket` and `system-source` modules, `internal()` from `lib/cfg-grammar.y`, the parser
//! modules and `lib/rewrite/rewrite-expr-grammar.ym`. The file-family option groups (`file()`,
//! `wildcard-file()`, `pipe()`, `stdin()`, `program()`, `usertty()`, `internal()`, `system()`)
//! live here; socket and shared groups are in `socket.rs`.

use super::amqp::AMQP_OPTION_SETS;
use super::http::HTTP_OPTION_SETS;
use super::kafka::KAFKA_OPTION_SETS;
use super::mqtt::{MQTT_OPTION_SETS, MQTT_SOURCE_OPTION_SETS};
use super::parsers::{
    CSV_PARSER_OPTIONS, DATE_PARSER_OPTIONS, DB_PARSER_OPTIONS, JSON_PARSER_OPTIONS, KV_PARSER_OPTIONS, PARSER_OPTIONS,
    REGEXP_PARSER_OPTIONS, SYSLOG_PARSER_OPTIONS,
};
use super::redis::REDIS_OPTION_SETS;
use super::rewrites::{CONDITION_OPTIONS, GROUPSET_OPTIONS, SET_OPTIONS, SUBST_OPTIONS, UNSET_OPTIONS};
use super::snmp::SNMP_OPTION_SETS;
use super::socket::{
    DEST_DRIVER_OPTIONS, DGRAM_DEST_OPTIONS, FILE_PERM_OPTIONS, INET_DEST_OPTIONS, INET_SOCKET_OPTIONS,
    INET_SOURCE_OPTIONS, MSG_FORMAT_OPTIONS, READER_OPTIONS, SOCKET_DEST_OPTIONS, SOCKET_OPTIONS,
    SOURCE_DRIVER_OPTIONS, SOURCE_OPTIONS, STREAM_DEST_OPTIONS, STREAM_SOURCE_OPTIONS, TLS_DEST_OPTION,
    TLS_SOURCE_OPTION, TRANSPORT_DEST_OPTIONS, TRANSPORT_SOURCE_OPTIONS, UNIX_SOCKET_OPTIONS, UNIX_SOURCE_OPTIONS,
    WRITER_OPTIONS,
};
use super::sql::SQL_OPTION_SETS;
use super::{
    same_name, Context, DriverSpec, Kind, OptionSpec as O, Positional, Support, NONNEGATIVE_INTEGER, POSITIVE_INTEGER,
};

// Short names for the table below.
use Context::{Destination as Dst, Parser as Par, Rewrite as Rw, Source as Src};
use Positional::{None as NoArg, Required};

// ---------------------------------------------------------------------------------------------
// File-family option groups

/// `multi-line-mode()` values.
pub static MULTI_LINE_MODES: &[&str] = &["indented", "regexp", "prefix-garbage", "prefix-suffix", "none"];

/// `multi_line_option`: `file()`, `wildcard-file()`, `stdin()` and `pipe()` sources.
pub static MULTI_LINE_OPTIONS: &[O] = &[
    O::new("multi-line-mode", Kind::Enum(MULTI_LINE_MODES)),
    // Regular expressions, compiled while parsing.
    O::new("multi-line-prefix", Kind::String),
    O::new("multi-line-garbage", Kind::String).aliases(&["multi-line-suffix"]),
];

/// `source_affile_option` without the shared groups: `file()`, `wildcard-file()`, `stdin()`.
pub static FILE_SOURCE_OPTIONS: &[O] = &[
    // Seconds, fractions allowed.
    O::new("follow-freq", Kind::NonNegativeFloat),
    O::new("pad-size", NONNEGATIVE_INTEGER),
    O::new("multi-line-timeout", NONNEGATIVE_INTEGER),
];

/// Options of a `file()` source whose path has wildcards (deprecated in favour of
/// `wildcard-file()`); 3.38 rejects them on plain files.
pub static LEGACY_WILDCARD_OPTIONS: &[O] = &[
    O::new("recursive", Kind::YesNo),
    O::new("force-directory-polling", Kind::YesNo).obsolete("use wildcard-file(monitor-method()) instead"),
];

/// `wildcard-file()` monitor methods.
pub static MONITOR_METHODS: &[&str] = &["auto", "poll", "inotify"];

/// `source_wildcard_option` without `source_affile_option`.
pub static WILDCARD_FILE_OPTIONS: &[O] = &[
    O::new("base-dir", Kind::Path),
    O::new("filename-pattern", Kind::String),
    O::new("recursive", Kind::YesNo),
    O::new("max-files", POSITIVE_INTEGER),
    O::new("monitor-method", Kind::Enum(MONITOR_METHODS)),
];

/// `source_afpipe_option` without the shared groups (no `follow-freq()`, no
/// `multi-line-timeout()`).
pub static PIPE_SOURCE_OPTIONS: &[O] =
    &[O::new("optional", Kind::YesNo), O::new("pad-size", NONNEGATIVE_INTEGER), O::new("create-dirs", Kind::YesNo)];

/// `program()` source and destination: whether the child inherits syslog-ng's environment.
pub static PROGRAM_SOURCE_OPTIONS: &[O] = &[O::new("inherit-environment", Kind::YesNo)];

/// `program()` destination besides the writer/driver groups.
pub static PROGRAM_DEST_OPTIONS: &[O] =
    &[O::new("keep-alive", Kind::YesNo), O::new("inherit-environment", Kind::YesNo)];

/// `internal()`: only LogSource options and the size of its queue (no reader options, no
/// `persist-name()`).
pub static INTERNAL_OPTIONS: &[O] = &[O::new("log-fifo-size", POSITIVE_INTEGER)];

/// value-pairs expressions (`scope() key() exclude() pair() rekey() cast()`), as taken by
/// `map-value-pairs()`; the sub-options of `key()`/`rekey()` are checked at run time.
pub static VALUE_PAIRS_OPTIONS: &[O] = &[
    O::new("scope", Kind::Any),
    O::new("key", Kind::Any),
    O::new("exclude", Kind::Any),
    O::new("pair", Kind::Any),
    O::new("rekey", Kind::Any),
    O::new("cast", Kind::Any),
];

/// `system()`: the arguments are handed to the `app-parser()` it generates.
pub static SYSTEM_OPTIONS: &[O] = &[
    O::new("auto-parse", Kind::YesNo),
    // Raw text (a list of application names).
    O::new("auto-parse-exclude", Kind::Any),
    O::new("auto-parse-include", Kind::Any),
    O::new("exclude-kmsg", Kind::Any).obsolete("exclude-kmsg() was removed from system() and is ignored"),
];

/// `dest_affile_common_option`: `file()` and `pipe()` destinations.
pub static FILE_DEST_COMMON_OPTIONS: &[O] =
    &[O::new("time-reap", NONNEGATIVE_INTEGER), O::new("create-dirs", Kind::YesNo)];

/// `dest_affile_option` without the shared groups.
pub static FILE_DEST_OPTIONS: &[O] = &[
    O::new("optional", Kind::YesNo),
    O::new("overwrite-if-older", NONNEGATIVE_INTEGER),
    O::new("remove-if-older", NONNEGATIVE_INTEGER).obsolete("use overwrite-if-older() instead"),
    O::new("symlink-as", Kind::Path),
    O::new("fsync", Kind::YesNo),
];

/// `usertty()`: takes `time-reopen()` and nothing else (no writer options).
pub static USERTTY_OPTIONS: &[O] = &[O::new("time-reopen", POSITIVE_INTEGER)];

// ---------------------------------------------------------------------------------------------
// The driver table

/// Option sets of a source that reads with a LogReader, followed by driver-specific sets.
macro_rules! reader_source {
    ($($extra:expr),* $(,)?) => {
        &[SOURCE_OPTIONS, MSG_FORMAT_OPTIONS, READER_OPTIONS, SOURCE_DRIVER_OPTIONS, $($extra),*]
    };
}

/// Option sets of a destination that writes with a LogWriter, followed by driver-specific sets.
macro_rules! writer_dest {
    ($($extra:expr),* $(,)?) => {
        &[WRITER_OPTIONS, DEST_DRIVER_OPTIONS, $($extra),*]
    };
}

const fn driver(
    context: Context,
    name: &'static str,
    positional: Positional,
    options: &'static [&'static [O]],
) -> DriverSpec {
    DriverSpec { name, aliases: &[], context, positional, options, support: Support::Implemented }
}

const fn with_aliases(mut spec: DriverSpec, aliases: &'static [&'static str]) -> DriverSpec {
    spec.aliases = aliases;
    spec
}

/// `example-msg-generator()` (syslog-ng's `examples` module): message generation.
pub static MSG_GENERATOR_OPTIONS: &[O] = &[
    // Seconds between messages, fractions allowed.
    O::new("freq", Kind::NonNegativeFloat),
    O::new("num", NONNEGATIVE_INTEGER),
    O::new("template", Kind::Template),
    O::new("values", Kind::NameValuePairs),
];

/// `example-destination()`: `threaded_dest_driver_general_option` plus `filename()`.
pub static EXAMPLE_DESTINATION_OPTIONS: &[O] =
    &[O::new("filename", Kind::String), O::new("retries", POSITIVE_INTEGER), O::new("time-reopen", POSITIVE_INTEGER)];

/// `systemd-journal()` (syslog-ng's `sdjournal` module) besides the source option groups.
/// `matches()` and `match-boot()` come from syslog-ng 4.x; rsng accepts them under 3.38 too.
pub static SYSTEMD_JOURNAL_OPTIONS: &[O] = &[
    O::new("prefix", Kind::String),
    O::new("max-field-size", POSITIVE_INTEGER),
    O::new("default-priority", Kind::Level).aliases(&["default-level", "default-severity"]),
    O::new("default-facility", Kind::Facility),
    O::new("time-zone", Kind::String),
    O::new("log-fetch-limit", POSITIVE_INTEGER),
    O::new("namespace", Kind::String),
    // `"FIELD" => "value"` pairs.
    O::new("matches", Kind::NameValuePairs),
    O::new("match-boot", Kind::YesNo),
];

/// Every driver rsng implements, by context.
pub static DRIVERS: &[DriverSpec] = &[
    // --- sources ---
    driver(
        Src,
        "network",
        NoArg,
        reader_source![
            SOCKET_OPTIONS,
            INET_SOCKET_OPTIONS,
            STREAM_SOURCE_OPTIONS,
            INET_SOURCE_OPTIONS,
            TRANSPORT_SOURCE_OPTIONS,
        ],
    ),
    driver(
        Src,
        "syslog",
        NoArg,
        reader_source![
            SOCKET_OPTIONS,
            INET_SOCKET_OPTIONS,
            STREAM_SOURCE_OPTIONS,
            INET_SOURCE_OPTIONS,
            TRANSPORT_SOURCE_OPTIONS,
        ],
    ),
    driver(
        Src,
        "tcp",
        NoArg,
        reader_source![
            SOCKET_OPTIONS,
            INET_SOCKET_OPTIONS,
            STREAM_SOURCE_OPTIONS,
            INET_SOURCE_OPTIONS,
            TLS_SOURCE_OPTION,
        ],
    ),
    driver(
        Src,
        "tcp6",
        NoArg,
        reader_source![
            SOCKET_OPTIONS,
            INET_SOCKET_OPTIONS,
            STREAM_SOURCE_OPTIONS,
            INET_SOURCE_OPTIONS,
            TLS_SOURCE_OPTION,
        ],
    ),
    // No stream options and no tls() on UDP.
    driver(Src, "udp", NoArg, reader_source![SOCKET_OPTIONS, INET_SOCKET_OPTIONS, INET_SOURCE_OPTIONS]),
    driver(Src, "udp6", NoArg, reader_source![SOCKET_OPTIONS, INET_SOCKET_OPTIONS, INET_SOURCE_OPTIONS]),
    // 3.38 requires the path as the first argument (there is no path() option).
    driver(
        Src,
        "unix-stream",
        Required("path"),
        reader_source![
            SOCKET_OPTIONS,
            UNIX_SOCKET_OPTIONS,
            STREAM_SOURCE_OPTIONS,
            UNIX_SOURCE_OPTIONS,
            FILE_PERM_OPTIONS,
        ],
    ),
    driver(
        Src,
        "unix-dgram",
        Required("path"),
        reader_source![
            SOCKET_OPTIONS,
            UNIX_SOCKET_OPTIONS,
            STREAM_SOURCE_OPTIONS,
            UNIX_SOURCE_OPTIONS,
            FILE_PERM_OPTIONS,
        ],
    ),
    driver(
        Src,
        "file",
        Required("path"),
        reader_source![FILE_PERM_OPTIONS, MULTI_LINE_OPTIONS, FILE_SOURCE_OPTIONS, LEGACY_WILDCARD_OPTIONS,],
    ),
    driver(
        Src,
        "wildcard-file",
        NoArg,
        reader_source![FILE_PERM_OPTIONS, MULTI_LINE_OPTIONS, FILE_SOURCE_OPTIONS, WILDCARD_FILE_OPTIONS,],
    ),
    // `fifo` is a keyword of the affile grammar, but not a registered plugin name: `fifo(...)`
    // is an unknown driver in 3.38.
    driver(Src, "pipe", Required("path"), reader_source![FILE_PERM_OPTIONS, MULTI_LINE_OPTIONS, PIPE_SOURCE_OPTIONS]),
    driver(Src, "stdin", NoArg, reader_source![FILE_PERM_OPTIONS, MULTI_LINE_OPTIONS, FILE_SOURCE_OPTIONS]),
    driver(Src, "program", Required("command"), reader_source![PROGRAM_SOURCE_OPTIONS]),
    driver(Src, "internal", NoArg, &[SOURCE_OPTIONS, INTERNAL_OPTIONS]),
    driver(Src, "example-msg-generator", NoArg, &[SOURCE_OPTIONS, SOURCE_DRIVER_OPTIONS, MSG_GENERATOR_OPTIONS]),
    driver(Src, "system", NoArg, &[SYSTEM_OPTIONS]),
    // The socket systemd passes (socket activation); `source_reader_option`, `socket_option`
    // and `source_driver_option` in 3.38's grammar.
    driver(Src, "systemd-syslog", NoArg, reader_source![SOCKET_OPTIONS]),
    driver(Src, "systemd-journal", NoArg, &[SOURCE_OPTIONS, SOURCE_DRIVER_OPTIONS, SYSTEMD_JOURNAL_OPTIONS]),
    // --- destinations ---
    driver(
        Dst,
        "network",
        Required("host"),
        writer_dest![
            SOCKET_OPTIONS,
            INET_SOCKET_OPTIONS,
            SOCKET_DEST_OPTIONS,
            INET_DEST_OPTIONS,
            DGRAM_DEST_OPTIONS,
            TRANSPORT_DEST_OPTIONS,
            STREAM_DEST_OPTIONS,
        ],
    ),
    driver(
        Dst,
        "syslog",
        Required("host"),
        writer_dest![
            SOCKET_OPTIONS,
            INET_SOCKET_OPTIONS,
            SOCKET_DEST_OPTIONS,
            INET_DEST_OPTIONS,
            DGRAM_DEST_OPTIONS,
            TRANSPORT_DEST_OPTIONS,
            STREAM_DEST_OPTIONS,
        ],
    ),
    driver(
        Dst,
        "tcp",
        Required("host"),
        writer_dest![
            SOCKET_OPTIONS,
            INET_SOCKET_OPTIONS,
            SOCKET_DEST_OPTIONS,
            INET_DEST_OPTIONS,
            TLS_DEST_OPTION,
            STREAM_DEST_OPTIONS,
        ],
    ),
    driver(
        Dst,
        "tcp6",
        Required("host"),
        writer_dest![
            SOCKET_OPTIONS,
            INET_SOCKET_OPTIONS,
            SOCKET_DEST_OPTIONS,
            INET_DEST_OPTIONS,
            TLS_DEST_OPTION,
            STREAM_DEST_OPTIONS,
        ],
    ),
    driver(
        Dst,
        "udp",
        Required("host"),
        writer_dest![SOCKET_OPTIONS, INET_SOCKET_OPTIONS, SOCKET_DEST_OPTIONS, INET_DEST_OPTIONS, DGRAM_DEST_OPTIONS,],
    ),
    driver(
        Dst,
        "udp6",
        Required("host"),
        writer_dest![SOCKET_OPTIONS, INET_SOCKET_OPTIONS, SOCKET_DEST_OPTIONS, INET_DEST_OPTIONS, DGRAM_DEST_OPTIONS,],
    ),
    // Unix destinations take plain socket options (no so-passcred()).
    driver(Dst, "unix-stream", Required("path"), writer_dest![SOCKET_OPTIONS, SOCKET_DEST_OPTIONS]),
    driver(Dst, "unix-dgram", Required("path"), writer_dest![SOCKET_OPTIONS, SOCKET_DEST_OPTIONS]),
    // The path is a template.
    driver(Dst, "file", Required("path"), writer_dest![FILE_PERM_OPTIONS, FILE_DEST_COMMON_OPTIONS, FILE_DEST_OPTIONS]),
    driver(Dst, "pipe", Required("path"), writer_dest![FILE_PERM_OPTIONS, FILE_DEST_COMMON_OPTIONS]),
    driver(Dst, "program", Required("command"), writer_dest![PROGRAM_DEST_OPTIONS]),
    // The positional is a user name or `*` (every logged-in user).
    driver(Dst, "usertty", Required("user"), &[USERTTY_OPTIONS]),
    // The `http` module (Debian's syslog-ng-mod-http): a threaded destination, no writer options.
    driver(Dst, "http", NoArg, HTTP_OPTION_SETS),
    // The `kafka` module (Debian's syslog-ng-mod-rdkafka) and the `redis` module.
    driver(Dst, "kafka-c", NoArg, KAFKA_OPTION_SETS),
    driver(Dst, "redis", NoArg, REDIS_OPTION_SETS),
    // The `mqtt` module (no Debian package of 3.38 ships it).
    driver(Dst, "mqtt", NoArg, MQTT_OPTION_SETS),
    driver(Src, "mqtt", NoArg, MQTT_SOURCE_OPTION_SETS),
    // The `afsnmp` module (Debian's syslog-ng-mod-snmp): SNMPv2c traps.
    driver(Dst, "snmp", NoArg, SNMP_OPTION_SETS),
    // The `afsql` module (Debian's syslog-ng-mod-sql): a threaded destination.
    driver(Dst, "sql", NoArg, SQL_OPTION_SETS),
    // The `afamqp` module (Debian's syslog-ng-mod-amqp): a threaded destination.
    driver(Dst, "amqp", NoArg, AMQP_OPTION_SETS),
    driver(Dst, "example-destination", NoArg, &[DEST_DRIVER_OPTIONS, EXAMPLE_DESTINATION_OPTIONS]),
    // --- parsers ---
    driver(Par, "csv-parser", NoArg, &[PARSER_OPTIONS, CSV_PARSER_OPTIONS]),
    driver(Par, "kv-parser", NoArg, &[PARSER_OPTIONS, KV_PARSER_OPTIONS]),
    driver(Par, "json-parser", NoArg, &[PARSER_OPTIONS, JSON_PARSER_OPTIONS]),
    driver(Par, "regexp-parser", NoArg, &[PARSER_OPTIONS, REGEXP_PARSER_OPTIONS]),
    driver(Par, "syslog-parser", NoArg, &[PARSER_OPTIONS, MSG_FORMAT_OPTIONS, SYSLOG_PARSER_OPTIONS]),
    driver(Par, "date-parser", NoArg, &[PARSER_OPTIONS, DATE_PARSER_OPTIONS]),
    driver(Par, "db-parser", NoArg, &[PARSER_OPTIONS, DB_PARSER_OPTIONS]),
    // `app-parser()` is not here: like syslog-ng's, it is a generator, expanded by the
    // preprocessor into channels (see preprocess/appmodel.rs).
    // tags-parser: a comma separated list of tags (from `template()`) becomes the message's tags.
    driver(Par, "tags-parser", NoArg, &[PARSER_OPTIONS]),
    // linux-audit-parser: kv-parser with the audit log's hex-encoded values decoded.
    driver(Par, "linux-audit-parser", NoArg, &[PARSER_OPTIONS, KV_PARSER_OPTIONS]),
    // map-value-pairs: renames and selects name-value pairs with a value-pairs expression.
    driver(Par, "map-value-pairs", NoArg, &[VALUE_PAIRS_OPTIONS]),
    // --- rewrite rules ---
    driver(Rw, "set", Required("template"), &[SET_OPTIONS]),
    // Two positionals: `subst("regexp" "replacement" ...)`; the lowering takes the second one.
    driver(Rw, "subst", Required("regexp"), &[SUBST_OPTIONS]),
    driver(Rw, "unset", NoArg, &[UNSET_OPTIONS]),
    driver(Rw, "groupset", Required("template"), &[GROUPSET_OPTIONS]),
    driver(Rw, "groupunset", NoArg, &[GROUPSET_OPTIONS]),
    driver(Rw, "set-tag", Required("tag"), &[CONDITION_OPTIONS]),
    driver(Rw, "clear-tag", Required("tag"), &[CONDITION_OPTIONS]),
    driver(Rw, "set-matches", Required("template"), &[CONDITION_OPTIONS]),
    driver(Rw, "unset-matches", NoArg, &[CONDITION_OPTIONS]),
    driver(Rw, "set-pri", Required("template"), &[CONDITION_OPTIONS]),
    driver(Rw, "set-severity", Required("template"), &[CONDITION_OPTIONS]),
    driver(Rw, "set-facility", Required("template"), &[CONDITION_OPTIONS]),
    // Two positionals: `rename("old-name" "new-name")`; the lowering takes the second one.
    driver(Rw, "rename", Required("old-name"), &[CONDITION_OPTIONS]),
];

// ---------------------------------------------------------------------------------------------
// syslog-ng drivers rsng does not run

const fn syslog_ng(context: Context, name: &'static str) -> DriverSpec {
    DriverSpec { name, aliases: &[], context, positional: NoArg, options: &[], support: Support::NotImplemented }
}

/// Plugins that the reference installation (syslog-ng 3.38.1 with Debian's `syslog-ng-core` and
/// `syslog-ng-scl`) loads and rsng does not run:
/// `pseudofile`, `dbparser`, `appmodel`, `kvformat`, `tags-parser`, `map-value-pairs`,
/// `timestamp`. Like rsng's own drivers these are built-ins there: a `block` of the same name is
/// ignored.
pub static INSTALLED_PLUGINS: &[DriverSpec] = &[
    syslog_ng(Dst, "pseudofile"),
    syslog_ng(Par, "grouping-by"),
    syslog_ng(Rw, "fix-time-zone"),
    syslog_ng(Rw, "set-time-zone"),
    syslog_ng(Rw, "guess-time-zone"),
];

/// Plugins of syslog-ng modules the reference installation lacks: 3.38 modules Debian ships in
/// separate packages or not at all (sql, mongodb, python, java, ...) and 4.x additions
/// (`stdout()`, `opentelemetry()`, `loki()`, ...). They are recognised for the error message
/// only; on the reference machine these names are free, so a user's
/// `block destination stdout() { ... };` works there and must keep working.
///
/// SCL blocks (`elasticsearch-http()`, `default-network-drivers()`, `apache-accesslog-parser()`,
/// `credit-card-mask()`, ...) are deliberately absent from both tables: they are ordinary blocks
/// that `scl.conf` defines, and many expand to drivers rsng runs.
pub static OTHER_PLUGINS: &[DriverSpec] = &[
    // --- sources ---
    syslog_ng(Src, "openbsd"),
    with_aliases(syslog_ng(Src, "sun-streams"), &["sun-stream"]),
    syslog_ng(Src, "python"),
    syslog_ng(Src, "python-fetcher"),
    syslog_ng(Src, "java"),
    syslog_ng(Src, "example-random-generator"),
    syslog_ng(Src, "example-diskq-source"),
    syslog_ng(Src, "kafka"),
    syslog_ng(Src, "darwinosl"),
    syslog_ng(Src, "opentelemetry"),
    syslog_ng(Src, "syslog-ng-otlp"),
    syslog_ng(Src, "random-choice-generator"),
    // --- destinations ---
    syslog_ng(Dst, "mongodb"),
    syslog_ng(Dst, "smtp"),
    syslog_ng(Dst, "riemann"),
    syslog_ng(Dst, "stomp"),
    syslog_ng(Dst, "python"),
    syslog_ng(Dst, "java"),
    // 4.x only: syslog-ng 3.38 has no stdout() destination.
    syslog_ng(Dst, "stdout"),
    syslog_ng(Dst, "kafka"),
    syslog_ng(Dst, "opentelemetry"),
    syslog_ng(Dst, "syslog-ng-otlp"),
    syslog_ng(Dst, "loki"),
    syslog_ng(Dst, "bigquery"),
    syslog_ng(Dst, "clickhouse"),
    syslog_ng(Dst, "google-pubsub-grpc"),
    // --- parsers ---
    syslog_ng(Par, "xml"),
    syslog_ng(Par, "add-contextual-data"),
    syslog_ng(Par, "geoip"),
    syslog_ng(Par, "geoip2"),
    syslog_ng(Par, "snmptrapd-parser"),
    syslog_ng(Par, "python"),
    syslog_ng(Par, "group-lines"),
    syslog_ng(Par, "metrics-probe"),
    syslog_ng(Par, "sdata-parser"),
    syslog_ng(Par, "windows-eventlog-xml-parser"),
    syslog_ng(Par, "opentelemetry"),
];

fn matches(spec: &DriverSpec, context: Context, name: &str) -> bool {
    spec.context == context && (same_name(spec.name, name) || spec.aliases.iter().any(|a| same_name(a, name)))
}

/// Looks up a driver rsng implements; `-` and `_` are equal (`unix_stream` finds `unix-stream`).
pub fn find_driver(context: Context, name: &str) -> Option<&'static DriverSpec> {
    DRIVERS.iter().find(|d| matches(d, context, name))
}

/// Whether `name` is a syslog-ng driver of this context (of any module or version) that rsng
/// does not run, so that the error can say "syslog-ng driver X is not implemented by rsng" instead of
/// "unknown driver". Check user-defined blocks first: see [`builtin_driver`].
pub fn unimplemented_driver(context: Context, name: &str) -> bool {
    find_driver(context, name).is_none()
        && INSTALLED_PLUGINS.iter().chain(OTHER_PLUGINS).any(|d| matches(d, context, name))
}

/// Whether the reference syslog-ng has a built-in plugin of this name in this context (rsng's
/// drivers and [`INSTALLED_PLUGINS`]). syslog-ng silently ignores a block with such a name, while
/// a block named like one of [`OTHER_PLUGINS`] (e.g. `stdout`) is an ordinary block there. Use
/// this, not [`unimplemented_driver`], to decide whether a block definition is shadowed.
pub fn builtin_driver(context: Context, name: &str) -> bool {
    find_driver(context, name).is_some() || INSTALLED_PLUGINS.iter().any(|d| matches(d, context, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::filters::{IN_LIST_OPTIONS, MATCHER_OPTIONS, RATE_LIMIT_OPTIONS, REGEX_FILTER_OPTIONS};
    use crate::schema::global::{GLOBAL_OPTIONS, TEMPLATE_STATEMENT_OPTIONS};
    use crate::schema::{find_option, TLS_OPTIONS, TLS_SOURCE_OPTIONS};

    /// Every option table reachable from the public tables, nested groups included.
    fn all_tables() -> Vec<&'static [O]> {
        fn visit(table: &'static [O], out: &mut Vec<&'static [O]>) {
            if out.iter().any(|t| std::ptr::eq(*t, table)) {
                return;
            }
            out.push(table);
            for option in table {
                if let Kind::Nested(inner) = option.kind {
                    visit(inner, out);
                }
            }
        }
        let mut out = Vec::new();
        let roots = [
            GLOBAL_OPTIONS,
            TEMPLATE_STATEMENT_OPTIONS,
            MATCHER_OPTIONS,
            REGEX_FILTER_OPTIONS,
            IN_LIST_OPTIONS,
            RATE_LIMIT_OPTIONS,
            TLS_OPTIONS,
            TLS_SOURCE_OPTIONS,
        ];
        for table in roots.into_iter().chain(DRIVERS.iter().flat_map(|d| d.options.iter().copied())) {
            visit(table, &mut out);
        }
        out
    }

    fn names(options: impl IntoIterator<Item = &'static O>) -> Vec<&'static str> {
        options.into_iter().flat_map(|o| std::iter::once(o.name).chain(o.aliases.iter().copied())).collect()
    }

    fn first_duplicate(names: &[&'static str]) -> Option<&'static str> {
        names.iter().enumerate().find_map(|(i, a)| names[i + 1..].iter().find(|b| same_name(a, b)).map(|_| *a))
    }

    #[test]
    fn lookups_treat_dash_and_underscore_alike() {
        let spec = find_driver(Context::Source, "unix_stream").expect("unix-stream source");
        assert_eq!(spec.name, "unix-stream");
        assert_eq!(spec.positional, Positional::Required("path"));
        assert!(find_driver(Context::Destination, "fifo").is_none());
        assert!(find_driver(Context::Parser, "kv_parser").is_some());
        assert!(find_driver(Context::Rewrite, "set_tag").is_some());
        assert!(find_driver(Context::Destination, "wildcard-file").is_none());
    }

    #[test]
    fn syslog_ng_drivers_are_recognised() {
        assert!(unimplemented_driver(Context::Destination, "mongodb"));
        assert!(unimplemented_driver(Context::Destination, "riemann"));
        assert!(unimplemented_driver(Context::Destination, "stdout"));
        assert!(unimplemented_driver(Context::Destination, "pseudofile"));
        assert!(!unimplemented_driver(Context::Destination, "file"));
        assert!(!unimplemented_driver(Context::Source, "mongodb"));
        assert!(!unimplemented_driver(Context::Destination, "no-such-driver"));
        assert!(!unimplemented_driver(Context::Source, "default-network-drivers"));
    }

    #[test]
    fn builtins_are_those_of_the_reference_installation() {
        assert!(builtin_driver(Context::Source, "network"));
        assert!(builtin_driver(Context::Parser, "db-parser"));
        assert!(!builtin_driver(Context::Destination, "mongodb"));
        assert!(!builtin_driver(Context::Destination, "stdout"));
        assert!(!builtin_driver(Context::Destination, "slack"));
    }

    #[test]
    fn options_resolve_through_aliases() {
        let tcp = find_driver(Context::Source, "tcp").unwrap();
        assert_eq!(find_option(tcp.options, "localport").map(|o| o.name), Some("port"));
        assert_eq!(find_option(tcp.options, "tcp_keep_alive").map(|o| o.name), Some("so-keepalive"));
        assert!(find_option(tcp.options, "transport").is_none());
        let network = find_driver(Context::Destination, "network").unwrap();
        assert!(find_option(network.options, "ip").is_none());
        assert!(find_option(network.options, "disk_buffer").is_some());
    }

    #[test]
    fn no_table_names_an_option_twice() {
        for table in all_tables() {
            if let Some(name) = first_duplicate(&names(table)) {
                panic!("option `{name}` appears twice in the table starting with `{}`", table[0].name);
            }
        }
    }

    #[test]
    fn no_driver_merges_an_option_twice() {
        for spec in DRIVERS {
            if let Some(name) = first_duplicate(&names(spec.options.iter().flat_map(|set| set.iter()))) {
                panic!("option `{name}` appears twice in {} {}()", spec.context.name(), spec.name);
            }
        }
    }

    #[test]
    fn driver_names_are_unique_per_context() {
        let all: Vec<&DriverSpec> = DRIVERS.iter().chain(INSTALLED_PLUGINS).chain(OTHER_PLUGINS).collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                let clash =
                    a.context == b.context && names_of(a).iter().any(|x| names_of(b).iter().any(|y| same_name(x, y)));
                assert!(!clash, "{} {}() is listed twice", a.context.name(), a.name);
            }
        }
        fn names_of(d: &DriverSpec) -> Vec<&'static str> {
            std::iter::once(d.name).chain(d.aliases.iter().copied()).collect()
        }
    }

    #[test]
    fn support_matches_the_table() {
        assert!(DRIVERS.iter().all(|d| d.support == Support::Implemented));
        let others = INSTALLED_PLUGINS.iter().chain(OTHER_PLUGINS);
        assert!(others.clone().all(|d| d.support == Support::NotImplemented));
        // SCL blocks must stay out of the plugin tables (they would shadow scl.conf's blocks).
        for scl_block in ["default-network-drivers", "elasticsearch-http", "slack", "graphite", "hdfs"] {
            assert!(!others.clone().any(|d| same_name(d.name, scl_block)), "{scl_block} is an SCL block");
        }
    }
}

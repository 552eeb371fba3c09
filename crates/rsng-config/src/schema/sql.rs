//! `sql()` destination options, as syslog-ng 3.38's `afsql` module accepts them.
//!
//! Mirrors `dest_afsql_option` of `modules/afsql/afsql-grammar.ym`: the driver's own options,
//! the template options and the threaded destination options (`retries()` with its old name
//! `retry-sql-inserts()`, `time-reopen()`, `batch-lines()`, `batch-timeout()` and the destination
//! driver options). It takes no `workers()`.

use super::global::{ON_ERROR_VALUES, TS_FORMATS};
use super::socket::DEST_DRIVER_OPTIONS;
use super::{Kind, OptionSpec as O, NONNEGATIVE_INTEGER, POSITIVE_INTEGER};

/// `flags()` words 3.38 knows; others are warned about and ignored there.
pub static SQL_FLAGS: &[&str] = &["explicit-commits", "dont-create-tables"];

const NOT_LIBDBI: &str = "rsng talks to the database with its own client, not libdbi; the option has no effect";

/// The driver's own options, the threaded destination options and the template options.
pub static SQL_OPTIONS: &[O] = &[
    O::new("type", Kind::String),
    O::new("host", Kind::String),
    O::new("port", Kind::StringOrNumber),
    O::new("username", Kind::String),
    O::new("password", Kind::String),
    O::new("database", Kind::String),
    O::new("table", Kind::Template),
    O::new("columns", Kind::StringList),
    O::new("indexes", Kind::StringList),
    // Templates and the bare word `default`: read by the driver from the source text.
    O::new("values", Kind::Any),
    O::new("null", Kind::String),
    O::new("session-statements", Kind::StringList),
    O::new("flags", Kind::Flags { values: SQL_FLAGS, fatal: false }),
    O::new("create-statement-append", Kind::String),
    O::new("ignore-tns-config", Kind::YesNo),
    O::new("dbd-option", Kind::Any).ignored(NOT_LIBDBI),
    // threaded_dest_driver_general_option
    O::new("retries", POSITIVE_INTEGER).aliases(&["retry-sql-inserts"]),
    O::new("time-reopen", POSITIVE_INTEGER),
    // threaded_dest_driver_batch_option
    O::new("batch-lines", NONNEGATIVE_INTEGER),
    O::new("flush-lines", NONNEGATIVE_INTEGER)
        .obsolete("The flush-lines() option is deprecated, use batch-lines() instead."),
    O::new("batch-timeout", POSITIVE_INTEGER),
    O::new("flush-timeout", POSITIVE_INTEGER)
        .obsolete("The flush-timeout() option is deprecated, use batch-timeout() instead."),
    // template_option
    O::new("ts-format", Kind::Enum(TS_FORMATS)),
    O::new("frac-digits", NONNEGATIVE_INTEGER),
    O::new("time-zone", Kind::String),
    O::new("send-time-zone", Kind::String),
    O::new("local-time-zone", Kind::String),
    O::new("on-error", Kind::Enum(ON_ERROR_VALUES)),
];

/// Every option set of `sql()`.
pub static SQL_OPTION_SETS: &[&[O]] = &[SQL_OPTIONS, DEST_DRIVER_OPTIONS];

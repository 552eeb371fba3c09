//! `redis()` destination options, as syslog-ng 3.38's `redis` module accepts them.
//!
//! Mirrors `redis_option` of `modules/redis/redis-grammar.ym`: `host()`, `port()`, `auth()`,
//! `command("NAME" "template" ...)`, `timeout()`, the threaded destination options and the
//! template options.

use super::global::{ON_ERROR_VALUES, TS_FORMATS};
use super::socket::DEST_DRIVER_OPTIONS;
use super::{Kind, OptionSpec as O, NONNEGATIVE_INTEGER, POSITIVE_INTEGER};

pub static REDIS_OPTIONS: &[O] = &[
    O::new("host", Kind::String),
    O::new("port", POSITIVE_INTEGER),
    O::new("auth", Kind::String),
    // The command's name, then one template per argument.
    O::new("command", Kind::StringList),
    O::new("timeout", NONNEGATIVE_INTEGER),
    // threaded_dest_driver_general_option
    O::new("retries", POSITIVE_INTEGER),
    O::new("time-reopen", POSITIVE_INTEGER),
    // threaded_dest_driver_batch_option
    O::new("batch-lines", NONNEGATIVE_INTEGER),
    O::new("flush-lines", NONNEGATIVE_INTEGER)
        .obsolete("The flush-lines option is deprecated. Use batch-lines instead."),
    O::new("batch-timeout", POSITIVE_INTEGER),
    // threaded_dest_driver_workers_option
    O::new("workers", POSITIVE_INTEGER),
    // template_option
    O::new("ts-format", Kind::Enum(TS_FORMATS)),
    O::new("frac-digits", NONNEGATIVE_INTEGER),
    O::new("time-zone", Kind::String),
    O::new("send-time-zone", Kind::String),
    O::new("local-time-zone", Kind::String),
    O::new("on-error", Kind::Enum(ON_ERROR_VALUES)),
];

/// Every option set of `redis()`.
pub static REDIS_OPTION_SETS: &[&[O]] = &[REDIS_OPTIONS, DEST_DRIVER_OPTIONS];

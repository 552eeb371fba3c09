//! `kafka-c()` destination options, as syslog-ng 3.38's `kafka` module accepts them.
//!
//! Mirrors `kafka_option` of `modules/kafka/kafka-grammar.ym`: the driver's own options, the
//! threaded destination options (`retries()`, `time-reopen()`, `batch-lines()`,
//! `batch-timeout()`, `workers()`, the destination driver options) and the template options.

use super::global::{ON_ERROR_VALUES, TS_FORMATS};
use super::socket::DEST_DRIVER_OPTIONS;
use super::{Kind, OptionSpec as O, NONNEGATIVE_INTEGER, POSITIVE_INTEGER};

pub static KAFKA_OPTIONS: &[O] = &[
    O::new("topic", Kind::Template),
    O::new("fallback-topic", Kind::String),
    // librdkafka properties: `"name" => "value"`, `"name"("value")` or `"name" "value"`.
    O::new("config", Kind::Any).multi(),
    O::new("key", Kind::Template),
    O::new("message", Kind::Template),
    O::new("flush-timeout-on-shutdown", NONNEGATIVE_INTEGER),
    O::new("flush-timeout-on-reload", NONNEGATIVE_INTEGER),
    O::new("poll-timeout", NONNEGATIVE_INTEGER),
    O::new("bootstrap-servers", Kind::String),
    O::new("sync-send", Kind::YesNo),
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

/// Every option set of `kafka-c()`.
pub static KAFKA_OPTION_SETS: &[&[O]] = &[KAFKA_OPTIONS, DEST_DRIVER_OPTIONS];

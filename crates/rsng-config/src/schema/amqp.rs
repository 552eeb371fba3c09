//! `amqp()` destination options, as syslog-ng 3.38's `afamqp` module accepts them.
//!
//! Mirrors `amqp_option` of `modules/afamqp/afamqp-grammar.ym`: the driver's own options, the
//! TLS options (both bare and inside `tls()`), `value-pairs()` (the message headers), the
//! threaded destination options (`retries()`, `time-reopen()` and the destination driver
//! options) and the template options. It takes no batching options and no `workers()`.

use super::drivers::VALUE_PAIRS_OPTIONS;
use super::global::{ON_ERROR_VALUES, TS_FORMATS};
use super::socket::DEST_DRIVER_OPTIONS;
use super::{Kind, OptionSpec as O, NONNEGATIVE_INTEGER, POSITIVE_INTEGER};

/// `auth-method()` values 3.38 knows ("unknown auth-method() argument" otherwise).
pub static AMQP_AUTH_METHODS: &[&str] = &["plain", "external"];

/// `afamqp_tls_option`: accepted both directly in `amqp()` and inside its `tls()`; `ca-file()`
/// turns TLS on.
pub static AMQP_TLS_OPTIONS: &[O] = &[
    O::new("ca-file", Kind::ExistingFile),
    O::new("key-file", Kind::ExistingFile),
    O::new("cert-file", Kind::ExistingFile),
    O::new("peer-verify", Kind::YesNo),
];

/// The driver's own options, the threaded destination options and the template options.
pub static AMQP_OPTIONS: &[O] = &[
    O::new("host", Kind::String),
    O::new("port", POSITIVE_INTEGER),
    O::new("vhost", Kind::String),
    O::new("exchange", Kind::String),
    O::new("exchange-declare", Kind::YesNo),
    O::new("exchange-type", Kind::String),
    O::new("routing-key", Kind::Template),
    O::new("body", Kind::Template),
    O::new("persistent", Kind::YesNo),
    O::new("auth-method", Kind::Enum(AMQP_AUTH_METHODS)),
    O::new("username", Kind::String),
    O::new("password", Kind::String),
    O::new("max-channel", POSITIVE_INTEGER),
    O::new("frame-size", POSITIVE_INTEGER),
    O::new("heartbeat", NONNEGATIVE_INTEGER),
    O::new("value-pairs", Kind::Nested(VALUE_PAIRS_OPTIONS)),
    O::new("tls", Kind::Nested(AMQP_TLS_OPTIONS)),
    // threaded_dest_driver_general_option
    O::new("retries", POSITIVE_INTEGER),
    O::new("time-reopen", POSITIVE_INTEGER),
    // template_option
    O::new("ts-format", Kind::Enum(TS_FORMATS)),
    O::new("frac-digits", NONNEGATIVE_INTEGER),
    O::new("time-zone", Kind::String),
    O::new("send-time-zone", Kind::String),
    O::new("local-time-zone", Kind::String),
    O::new("on-error", Kind::Enum(ON_ERROR_VALUES)),
];

/// Every option set of `amqp()`.
pub static AMQP_OPTION_SETS: &[&[O]] = &[AMQP_OPTIONS, AMQP_TLS_OPTIONS, DEST_DRIVER_OPTIONS];

//! `mqtt()` destination options, as syslog-ng 3.38's `mqtt` module accepts them.
//!
//! Mirrors `mqtt_destination_option` of `modules/mqtt/mqtt-grammar.ym`: `topic()` (a template),
//! `fallback-topic()`, `template()`, the client options (`address()`, `qos()`, `client-id()`,
//! `keepalive()`, `username()`, `password()`, `http-proxy()`, `tls()`), `retries()`,
//! `time-reopen()`, the destination driver options and the template options. 3.38's grammar has
//! no batching and no `workers()` for it.

use super::global::{ON_ERROR_VALUES, TS_FORMATS};
use super::socket::DEST_DRIVER_OPTIONS;
use super::{Kind, OptionSpec as O, NONNEGATIVE_INTEGER, POSITIVE_INTEGER};

/// `mqtt_tls_option`: only inside `tls()`; they take effect with an `ssl://` address.
pub static MQTT_TLS_OPTIONS: &[O] = &[
    O::new("ca-dir", Kind::String),
    O::new("ca-file", Kind::ExistingFile),
    O::new("cert-file", Kind::ExistingFile),
    O::new("key-file", Kind::ExistingFile),
    O::new("cipher-suite", Kind::Any),
    O::new("ssl-version", Kind::String),
    O::new("peer-verify", Kind::YesNo),
    O::new("use-system-cert-store", Kind::YesNo),
];

pub static MQTT_OPTIONS: &[O] = &[
    O::new("topic", Kind::Template),
    O::new("fallback-topic", Kind::String),
    O::new("template", Kind::Template),
    // mqtt_option
    O::new("keepalive", POSITIVE_INTEGER),
    O::new("address", Kind::String),
    O::new("qos", NONNEGATIVE_INTEGER),
    O::new("client-id", Kind::String),
    O::new("username", Kind::String),
    O::new("password", Kind::String),
    O::new("http-proxy", Kind::String)
        .rejected("rsng's mqtt() does not connect through an HTTP proxy; it would connect directly"),
    O::new("tls", Kind::Nested(MQTT_TLS_OPTIONS)),
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

/// Every option set of `mqtt()`.
pub static MQTT_OPTION_SETS: &[&[O]] = &[MQTT_OPTIONS, DEST_DRIVER_OPTIONS];

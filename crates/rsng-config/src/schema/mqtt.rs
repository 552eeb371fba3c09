//! `mqtt()` source and destination options, as syslog-ng 3.38's `mqtt` module accepts them.
//!
//! Mirrors `mqtt_destination_option` of `modules/mqtt/mqtt-grammar.ym`: `topic()` (a template),
//! `fallback-topic()`, `template()`, the client options (`address()`, `qos()`, `client-id()`,
//! `keepalive()`, `username()`, `password()`, `http-proxy()`, `tls()`), `retries()`,
//! `time-reopen()`, the destination driver options and the template options. 3.38's grammar has
//! no batching and no `workers()` for it.

use super::global::{ON_ERROR_VALUES, TS_FORMATS};
use super::socket::{DEST_DRIVER_OPTIONS, MSG_FORMAT_FLAGS, MSG_FORMAT_OPTIONS, SOURCE_DRIVER_OPTIONS, SOURCE_OPTIONS};
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

/// `mqtt_option`: the client options of the source and the destination.
pub static MQTT_CLIENT_OPTIONS: &[O] = &[
    O::new("keepalive", POSITIVE_INTEGER),
    O::new("address", Kind::String),
    O::new("qos", NONNEGATIVE_INTEGER),
    O::new("client-id", Kind::String),
    O::new("username", Kind::String),
    O::new("password", Kind::String),
    O::new("http-proxy", Kind::String)
        .rejected("rsng's mqtt() does not connect through an HTTP proxy; it would connect directly"),
    O::new("tls", Kind::Nested(MQTT_TLS_OPTIONS)),
];

/// Every option set of the `mqtt()` destination.
pub static MQTT_OPTION_SETS: &[&[O]] = &[MQTT_OPTIONS, MQTT_CLIENT_OPTIONS, DEST_DRIVER_OPTIONS];

/// The `mqtt()` source's own options (`mqtt_source_option`): `topic()` is a topic filter (a
/// string, not a template), `cleansession()`; `format()` and `flags()` of
/// `threaded_source_driver_option` are accepted, and the payload is never parsed.
pub static MQTT_SOURCE_OPTIONS: &[O] = &[
    O::new("topic", Kind::String),
    O::new("cleansession", Kind::YesNo),
    O::new("format", Kind::String),
    O::new("flags", Kind::Flags { values: MSG_FORMAT_FLAGS, fatal: true }),
];

/// Every option set of the `mqtt()` source: its own, the client options, `source_option`,
/// `msg_format_option` and `source_driver_option`.
pub static MQTT_SOURCE_OPTION_SETS: &[&[O]] =
    &[MQTT_SOURCE_OPTIONS, MQTT_CLIENT_OPTIONS, SOURCE_OPTIONS, MSG_FORMAT_OPTIONS, SOURCE_DRIVER_OPTIONS];

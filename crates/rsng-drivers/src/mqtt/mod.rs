//! `mqtt()`: one MQTT PUBLISH per message, as syslog-ng 3.38's `mqtt` destination sends them,
//! and the `mqtt()` source ([`source`]), whose messages are what is published to a topic.
//!
//! `topic()` is a template; a templated topic needs `fallback-topic()`, used when a message's
//! topic comes out empty. The payload is `template()` (default `$ISODATE $HOST $MSGHDR$MSG`),
//! published with `qos()` 0, 1 or 2 and never retained. A message counts as sent when the broker
//! acknowledged it (QoS 1 and 2) or when it was written (QoS 0); a lost connection puts the
//! unacknowledged messages back in the queue and reconnects after `time-reopen()`.
//!
//! The protocol (MQTT 3.1.1, publishing only) is spoken by the small client in [`packet`].
//!
//! - [`options`]: the options and their defaults.
//! - [`build`]: start-up (templates, address).
//! - [`run`]: the worker, its connection and keep-alive.
//! - [`packet`]: writing and reading MQTT packets.
//! - [`source`]: the source: subscription, reading, acknowledgements.
//! - [`stats`]: how `syslog-ng-ctl stats` names the driver.

pub mod build;
pub mod options;
pub mod packet;
pub mod run;
pub mod source;
pub mod stats;

pub use build::build_destination;
pub use source::build_source;
pub use stats::stats_name;

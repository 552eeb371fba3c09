//! `amqp()`: messages to an AMQP 0-9-1 broker (RabbitMQ), as syslog-ng 3.38's `afamqp` module
//! publishes them.
//!
//! Each message is one `basic.publish` on channel 1 to `exchange()` with the `routing-key()`
//! template, the `body()` template as the body (empty without it), content type `text/plain`,
//! delivery mode 2 (`persistent(yes)`) or 1, and the name-value pairs of `value-pairs()` (by
//! default the selected macros, the name-value pairs and SDATA) as string headers. With
//! `exchange-declare(yes)` the exchange is declared (not durable) with `exchange-type()` on
//! connecting. A connection that cannot be made is tried again after `time-reopen()` while the
//! queue (with flow control, the sources) waits; a publish that fails is retried `retries()`
//! times, then dropped.
//!
//! Unlike syslog-ng, rsng asks the broker to confirm what it took (publisher confirms): a
//! message counts as written once the broker has it, so a broker that goes away loses nothing
//! that rsng had sent.
//!
//! - [`options`]: the options and their defaults.
//! - [`build`]: start-up (templates, headers).
//! - [`run`]: the worker: connecting, publishing, confirmations, retries.
//! - [`client`]: the AMQP 0-9-1 client it publishes through, on the worker's own task.
//! - [`stats`]: how `syslog-ng-ctl stats` names the driver.

pub mod build;
pub mod client;
pub mod options;
pub mod run;
pub mod stats;

pub use build::build_destination;
pub use stats::stats_name;

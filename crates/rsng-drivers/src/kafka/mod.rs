//! `kafka-c()`: messages to Apache Kafka, as syslog-ng 3.38's `kafka` module produces them.
//!
//! Each message becomes one record: `message()` (by default `$ISODATE $HOST $MSGHDR$MSG`) as the
//! value, `key()` as the key (none when it formats empty), on `topic()` — a template, with
//! `fallback-topic()` for names Kafka refuses. librdkafka does the protocol work; its properties
//! come from `config()`, with syslog-ng's `murmur2_random` partitioner unless overridden.
//!
//! Unlike syslog-ng, which counts a record delivered once librdkafka has queued it, rsng waits for
//! the broker's acknowledgement of each batch before it takes the next one from the destination
//! queue: with flow control or a disk buffer, a broker that is away holds the messages back
//! instead of letting librdkafka's queue time them out.
//!
//! - [`options`]: the options and their defaults.
//! - [`build`]: start-up (templates, the librdkafka client, warnings).
//! - [`run`]: the workers, the delivery reports, transactions for `sync-send(yes)`.
//! - [`stats`]: how `syslog-ng-ctl stats` names the driver.

pub mod build;
pub mod options;
pub mod run;
pub mod stats;

pub use build::build_destination;
pub use stats::stats_name;

//! `redis()`: one Redis command per message, as syslog-ng 3.38's `redis` module sends them.
//!
//! `command("HSET" "logs" "$HOST" "$MSG")`: the first word is the command, the others templates,
//! each sent as one argument. Without `batch-lines()` every command waits for its reply, and an
//! error reply counts against `retries()`; with it, a batch goes out pipelined and only a broken
//! connection fails it (error replies are read and let go, as in syslog-ng). A connection starts
//! with `AUTH` (when `auth()` is given) and `PING`.
//!
//! The protocol is spoken by the small RESP client in [`resp`]: a command is an array of bulk
//! strings, and a reply only needs to be told apart from an error.
//!
//! - [`options`]: the options and their defaults.
//! - [`build`]: start-up (the command's templates).
//! - [`run`]: the workers, connections and batches.
//! - [`resp`]: writing commands, reading replies.
//! - [`stats`]: how `syslog-ng-ctl stats` names the driver.

pub mod build;
pub mod options;
pub mod resp;
pub mod run;
pub mod stats;

pub use build::build_destination;
pub use stats::stats_name;

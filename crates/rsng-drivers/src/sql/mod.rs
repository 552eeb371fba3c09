//! `sql()`: messages to database tables, as syslog-ng 3.38's `afsql` module writes them.
//!
//! Each message becomes one `INSERT` of its `values()` into the table `table()` names (a
//! template, unsafe characters made `_`). A table is checked the first time it is used: created
//! with `columns()` (and `create-statement-append()`) and indexed by `indexes()` when missing,
//! given the missing columns when it exists. Values are quoted SQL literals, `null()` gives
//! `NULL`, and `default` columns are left out. With `flags(explicit-commits)` the rows of a batch
//! (`batch-lines()`, 100 by default) go in one transaction. A failed insert is retried
//! `retries()` times after `time-reopen()`, then dropped; a connection that cannot be made is
//! tried again after `time-reopen()` while the queue (with flow control, the sources) waits.
//!
//! It writes to MySQL/MariaDB (`type(mysql)`, the default) through mysql_async and to PostgreSQL
//! (`type(pgsql)`) through tokio-postgres. The statements are sent as syslog-ng's libdbi sends
//! them, as text with literals quoted as each server's client library quotes them, so that the
//! server converts the literals to the column types exactly as it does for syslog-ng.
//!
//! - [`options`]: the options and their defaults.
//! - [`build`]: start-up (templates, checks).
//! - [`client`]: the connection to each kind of server.
//! - [`run`]: the worker: table checks and inserts.
//! - [`stats`]: how `syslog-ng-ctl stats` names the driver.

pub mod build;
pub mod client;
pub mod options;
pub mod run;
pub mod stats;

pub use build::build_destination;
pub use stats::stats_name;

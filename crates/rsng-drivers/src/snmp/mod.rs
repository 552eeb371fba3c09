//! `snmp()`: one SNMPv2c trap per message over UDP, as syslog-ng 3.38's `afsnmp` module sends
//! them.
//!
//! The trap's variable bindings are the `snmp-obj()`s and the `trap-obj()` in the order they are
//! written, nothing added (syslog-ng sends no `sysUpTime.0` of its own). Each value is a
//! template; a number type whose value is not all digits is sent as 0 with a warning.
//!
//! - [`options`]: the options, their defaults and checks.
//! - [`build`]: start-up (the value templates).
//! - [`run`]: the worker and its socket.
//! - [`ber`]: encoding the trap message.
//! - [`stats`]: how `syslog-ng-ctl stats` names the driver.

pub mod ber;
pub mod build;
pub mod options;
pub mod run;
pub mod stats;

pub use build::build_destination;
pub use stats::stats_name;

//! `snmp()` destination options, as syslog-ng 3.38's `afsnmp` module accepts them.
//!
//! Mirrors `dest_snmpdest_option` of `modules/afsnmp/afsnmp-grammar.ym`: `host()`, `port()`,
//! `version()`, `community()`, the SNMPv3 options, `snmp-obj(OID, TYPE, VALUE)` (repeated),
//! `trap-obj(OID, "Objectid", VALUE)`, `time-zone()` and the plain destination options (no
//! threaded-destination or template options: 3.38's grammar refuses them, and `transport()` too).
//! Values are checked when the driver is built, where syslog-ng's messages are given.

use super::socket::DEST_DRIVER_OPTIONS;
use super::{Kind, OptionSpec as O, POSITIVE_INTEGER};

pub static SNMP_OPTIONS: &[O] = &[
    O::new("host", Kind::String),
    O::new("port", POSITIVE_INTEGER),
    O::new("version", Kind::String),
    O::new("community", Kind::String),
    O::new("engine-id", Kind::String),
    O::new("auth-username", Kind::String),
    O::new("auth-algorithm", Kind::String),
    O::new("auth-password", Kind::String),
    O::new("enc-algorithm", Kind::String),
    O::new("enc-password", Kind::String),
    // Three strings: the OID, the type and the value template; repeated, kept in order.
    O::new("snmp-obj", Kind::StringList).multi(),
    O::new("trap-obj", Kind::StringList),
    // `time_zone` of afsnmp: the zone its templates format dates in (also `local-time-zone`).
    O::new("time-zone", Kind::String).aliases(&["local-time-zone"]),
];

/// Every option set of `snmp()`.
pub static SNMP_OPTION_SETS: &[&[O]] = &[SNMP_OPTIONS, DEST_DRIVER_OPTIONS];

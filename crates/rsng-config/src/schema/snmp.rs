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

/// Why syslog-ng 3.38 (or rsng) refuses an `snmp()` destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    /// The option at fault: its name and which of the options of that name (0 for the first);
    /// `None` for what is missing from the driver as a whole.
    pub option: Option<(&'static str, usize)>,
}

/// The value types of `snmp-obj()` (compared case-insensitively, as syslog-ng does).
pub const OBJECT_TYPES: &[&str] = &["integer", "timeticks", "octetstring", "counter32", "ipaddress", "objectid"];

/// syslog-ng 3.38's checks of `snmp()` while it parses, in its order: each option as it comes
/// (`version()`, `engine-id()`, the algorithms, the object types, a second lowercase
/// `objectid`), then what is required (an object, `host()`, an `Objectid` `trap-obj()`, a v3
/// `engine-id()`). rsng sends SNMPv2c only, so a `version("v3")` syslog-ng would accept is
/// refused last.
pub fn check(options: &[crate::ir::OptionValue]) -> Result<(), Refusal> {
    use crate::ir::Value;
    let refuse = |message: String, option: Option<(&'static str, usize)>| Err(Refusal { message, option });
    let text = |v: &Value| match v {
        Value::Str(s) | Value::Raw(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        _ => String::new(),
    };
    let mut version = "v2c".to_string();
    let mut host = false;
    let mut engine_id = false;
    let mut objects = 0;
    let mut trap_type: Option<String> = None;
    let mut objectid_seen = false;
    let mut seen: Vec<&'static str> = Vec::new();
    for option in options {
        let nth = seen.iter().filter(|&&n| n == option.name).count();
        seen.push(option.name);
        let at = Some((option.name, nth));
        let value = text(&option.value);
        match option.name {
            "version" => {
                if value != "v2c" && value != "v3" {
                    return refuse(format!("SNMP: invalid version: {value}"), at);
                }
                version = value;
            }
            "host" => host = true,
            "engine-id" if version == "v3" => {
                let digits = value.strip_prefix("0x").unwrap_or(&value);
                let valid = value.len() >= 5
                    && (5..=32).contains(&digits.len())
                    && digits.bytes().all(|b| b.is_ascii_hexdigit());
                if !valid {
                    return refuse(
                        format!(
                            "SNMP: engine id ({value}) shall be a hexadecimal number with a length between 5 and \
                             32 (plus the 0x prefix), see RFC5343 for further details"
                        ),
                        at,
                    );
                }
                engine_id = true;
            }
            "auth-algorithm" if !value.eq_ignore_ascii_case("SHA") => {
                return refuse(format!("SNMP: wrong auth algorithm: {value}"), at);
            }
            "enc-algorithm" if !value.eq_ignore_ascii_case("AES") => {
                return refuse(format!("SNMP: wrong enc algorithm: {value}"), at);
            }
            "snmp-obj" | "trap-obj" => {
                let parts: Vec<String> = match &option.value {
                    Value::List(items) => items.iter().map(text).collect(),
                    v => vec![text(v)],
                };
                let [_, kind, _] = parts.as_slice() else {
                    return refuse(format!("{}() takes an OID, a type and a value", option.name), at);
                };
                let known = OBJECT_TYPES.iter().any(|t| t.eq_ignore_ascii_case(kind));
                if option.name == "trap-obj" {
                    trap_type = Some(kind.clone());
                    if !known {
                        // syslog-ng keeps the trap object and refuses its type below.
                        continue;
                    }
                } else if !known {
                    return refuse(format!("SNMP: invalid oid type; type='{kind}'"), at);
                }
                if kind == "objectid" && objectid_seen {
                    return refuse("SNMP: multiple Objectid".to_string(), at);
                }
                objectid_seen |= parts.iter().any(|p| p == "objectid");
                objects += 1;
            }
            _ => {}
        }
    }
    let missing = if objects == 0 && trap_type.is_none() {
        Some("missing SNMP object".to_string())
    } else if !host {
        Some("missing host".to_string())
    } else {
        match &trap_type {
            None => Some("missing trap_obj".to_string()),
            Some(kind) if !kind.eq_ignore_ascii_case("objectid") => Some(format!("wrong trap object type: {kind}")),
            _ if version == "v3" && !engine_id => Some("missing engine id".to_string()),
            _ => None,
        }
    };
    if let Some(missing) = missing {
        return refuse(format!("SNMP: config error: {missing}"), None);
    }
    if version == "v3" {
        return refuse(
            "SNMP: version(\"v3\") is not supported by rsng, which sends SNMPv2c traps only; use version(\"v2c\")"
                .to_string(),
            options.iter().position(|o| o.name == "version").map(|_| ("version", 0)),
        );
    }
    Ok(())
}

//! Reading `snmp()`'s options into [`Settings`], with syslog-ng 3.38's defaults (port 162,
//! `version("v2c")`, `community("public")`) and its checks and messages.

use std::time::Duration;

use crate::internal;
use crate::options::Options;
use crate::DriverError;

pub const DEFAULT_PORT: u16 = 162;

/// The value types of `snmp-obj()`, compared case-insensitively as syslog-ng does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjType {
    Integer,
    Timeticks,
    OctetString,
    Counter32,
    IpAddress,
    ObjectId,
}

impl ObjType {
    fn from_name(name: &str) -> Option<ObjType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "integer" => ObjType::Integer,
            "timeticks" => ObjType::Timeticks,
            "octetstring" => ObjType::OctetString,
            "counter32" => ObjType::Counter32,
            "ipaddress" => ObjType::IpAddress,
            "objectid" => ObjType::ObjectId,
            _ => return None,
        })
    }

    /// Whether the value must be a number (anything else is sent as 0).
    pub fn is_number(self) -> bool {
        matches!(self, ObjType::Integer | ObjType::Timeticks | ObjType::Counter32)
    }
}

/// One variable binding of the trap: `snmp-obj()`s and `trap-obj()` in the order written.
#[derive(Debug, Clone)]
pub struct Object {
    pub oid: Vec<u32>,
    pub kind: ObjType,
    /// The value's template text, compiled by the builder.
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub community: String,
    pub objects: Vec<Object>,
    pub time_reopen: Duration,
}

/// Reads the settings.
///
/// # Errors
/// What [`rsng_config::schema::snmp::check`] refuses (the configuration loader reports it
/// first, with its place); a port out of range.
pub fn read(opts: &Options<'_>) -> Result<Settings, DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    rsng_config::schema::snmp::check(&opts.driver.options).map_err(|r| err(r.message))?;
    let v3 = opts.str("version") == Some("v3");
    if v3 && opts.get("community").is_some() {
        internal::warning("WARNING: SNMP: the 'community' is a v2c option");
    }
    for name in ["engine-id", "auth-username", "auth-algorithm", "auth-password", "enc-algorithm", "enc-password"] {
        if !v3 && opts.get(name).is_some() {
            internal::warning(format!("WARNING: SNMP: the '{}' is a v3 option", name.replace('-', "_")));
        }
    }
    opts.driver.note("snmp-obj");
    opts.driver.note("trap-obj");
    let mut objects = Vec::new();
    for option in opts.driver.options.iter().filter(|o| o.name == "snmp-obj" || o.name == "trap-obj") {
        let mut parts = Vec::new();
        crate::options::collect_strings(&option.value, &mut parts);
        // Checked above: three strings; a trap object of an unknown type was refused.
        if let [oid, kind, value] = parts.as_slice() {
            if let Some(kind) = ObjType::from_name(kind) {
                objects.push(Object { oid: parse_oid(oid), kind, value: value.clone() });
            }
        }
    }
    let port = opts.int("port").map_or(Ok(DEFAULT_PORT), |p| {
        u16::try_from(p).map_err(|_| err(format!("invalid port() for snmp(); port='{p}'")))
    })?;
    Ok(Settings {
        host: opts.str("host").unwrap_or_default().to_string(),
        port,
        community: opts.str("community").unwrap_or("public").to_string(),
        objects,
        time_reopen: Duration::from_secs(opts.int_or_global("time-reopen").filter(|&n| n > 0).unwrap_or(60) as u64),
    })
}

/// `1.3.6.1` or `.1.3.6.1` into its arcs; a token that is not a number is warned about and
/// sent as 0.
pub fn parse_oid(text: &str) -> Vec<u32> {
    let text = text.strip_prefix('.').unwrap_or(text);
    text.split('.')
        .map(|token| {
            leading_number(token).unwrap_or_else(|| {
                internal::warning(format!("SNMP: invalid OID token; value='{token}'"));
                0
            })
        })
        .collect()
}

/// The number a token starts with, as `sscanf("%d")` reads it.
fn leading_number(token: &str) -> Option<u32> {
    let t = token.trim_start();
    let end = t.bytes().take_while(u8::is_ascii_digit).count();
    t[..end].parse::<u64>().ok().map(|n| n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_with_or_without_a_leading_dot() {
        assert_eq!(parse_oid(".1.3.6.1"), [1, 3, 6, 1]);
        assert_eq!(parse_oid("1.3.6"), [1, 3, 6]);
    }
}

//! Reading `snmp()`'s options into [`Settings`], with syslog-ng 3.38's defaults (port 162,
//! `version("v2c")`, `community("public")`) and its checks and messages.

use std::time::Duration;

use rsng_config::ir::Value;

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
/// As syslog-ng 3.38 refuses them: a version other than `v2c`/`v3`, an unknown object type,
/// a second `objectid` object, no host, no object, no `trap-obj()`, a trap object that is not an
/// `Objectid`, v3 without `engine-id()`, a bad engine id or algorithm. rsng sends v2c only, so
/// `version("v3")` that syslog-ng would accept is refused with its own message.
pub fn read(opts: &Options<'_>) -> Result<Settings, DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    let version = opts.str("version").unwrap_or("v2c");
    if version != "v2c" && version != "v3" {
        return Err(err(format!("SNMP: invalid version: {version}")));
    }
    let v3 = version == "v3";
    for name in ["community"] {
        if v3 && opts.get(name).is_some() {
            internal::warning(format!("WARNING: SNMP: the '{}' is a v2c option", name.replace('-', "_")));
        }
    }
    for name in ["engine-id", "auth-username", "auth-algorithm", "auth-password", "enc-algorithm", "enc-password"] {
        if !v3 && opts.get(name).is_some() {
            internal::warning(format!("WARNING: SNMP: the '{}' is a v3 option", name.replace('-', "_")));
        }
    }
    if let Some(algorithm) = opts.str("auth-algorithm").filter(|a| !a.eq_ignore_ascii_case("SHA")) {
        return Err(err(format!("SNMP: wrong auth algorithm: {algorithm}")));
    }
    if let Some(algorithm) = opts.str("enc-algorithm").filter(|a| !a.eq_ignore_ascii_case("AES")) {
        return Err(err(format!("SNMP: wrong enc algorithm: {algorithm}")));
    }
    let engine_id = opts.str("engine-id").filter(|_| v3);
    if let Some(id) = engine_id.filter(|id| !valid_engine_id(id)) {
        return Err(err(format!(
            "SNMP: engine id ({id}) shall be a hexadecimal number with a length between 5 and 32 (plus the 0x \
             prefix), see RFC5343 for further details"
        )));
    }

    let mut objects = Vec::new();
    // The strings of every object so far: syslog-ng looks for a second `objectid` among them.
    let mut seen_objectid = false;
    let mut trap = None;
    opts.driver.note("snmp-obj");
    opts.driver.note("trap-obj");
    for option in opts.driver.options.iter().filter(|o| o.name == "snmp-obj" || o.name == "trap-obj") {
        let mut parts = Vec::new();
        collect(&option.value, &mut parts);
        let [oid, kind, value]: [String; 3] =
            parts.try_into().map_err(|_| err(format!("{}() takes an OID, a type and a value", option.name)))?;
        let obj_type = ObjType::from_name(&kind);
        if option.name == "trap-obj" {
            trap = Some(kind.clone());
        }
        let Some(obj_type) = obj_type else {
            if option.name == "trap-obj" {
                // syslog-ng keeps the trap object and refuses it below.
                continue;
            }
            internal::error(format!("SNMP: invalid oid type; type='{kind}'"));
            return Err(err("SNMP: error set snmp object".into()));
        };
        // syslog-ng's check is case-sensitive: only a lowercase `objectid` counts.
        if kind == "objectid" && seen_objectid {
            internal::error("SNMP: multiple Objectid".to_string());
            return Err(err("SNMP: error set snmp object".into()));
        }
        seen_objectid |= [&oid, &kind, &value].iter().any(|s| s.as_str() == "objectid");
        objects.push(Object { oid: parse_oid(&oid), kind: obj_type, value });
    }

    let host = opts.str("host");
    let check = if objects.is_empty() && trap.is_none() {
        Some("missing SNMP object".to_string())
    } else if host.is_none() {
        Some("missing host".to_string())
    } else {
        match &trap {
            None => Some("missing trap_obj".to_string()),
            Some(kind) if !kind.eq_ignore_ascii_case("objectid") => Some(format!("wrong trap object type: {kind}")),
            _ if v3 && engine_id.is_none() => Some("missing engine id".to_string()),
            _ => None,
        }
    };
    if let Some(message) = check {
        return Err(err(format!("SNMP: config error: {message}")));
    }
    if v3 {
        return Err(err("SNMP: version(\"v3\") is not supported by rsng; use version(\"v2c\")".into()));
    }
    let port = opts.int("port").map_or(Ok(DEFAULT_PORT), |p| {
        u16::try_from(p).map_err(|_| err(format!("invalid port() for snmp(); port='{p}'")))
    })?;
    Ok(Settings {
        host: host.unwrap_or_default().to_string(),
        port,
        community: opts.str("community").unwrap_or("public").to_string(),
        objects,
        time_reopen: Duration::from_secs(opts.int_or_global("time-reopen").filter(|&n| n > 0).unwrap_or(60) as u64),
    })
}

/// An engine id: 5 to 32 hex digits, optionally after `0x`.
fn valid_engine_id(id: &str) -> bool {
    if id.len() < 5 {
        return false;
    }
    let digits = id.strip_prefix("0x").unwrap_or(id);
    (5..=32).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_hexdigit())
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

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::List(items) => items.iter().for_each(|i| collect(i, out)),
        Value::Str(s) | Value::Raw(s) => out.push(s.clone()),
        Value::Int(n) => out.push(n.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_ids_are_5_to_32_hex_digits() {
        assert!(valid_engine_id("0x0102030405"));
        assert!(valid_engine_id("abcde"));
        assert!(!valid_engine_id("0x0102"));
        assert!(!valid_engine_id("0xabcdz"));
        assert!(!valid_engine_id(&"a".repeat(33)));
    }

    #[test]
    fn oids_with_or_without_a_leading_dot() {
        assert_eq!(parse_oid(".1.3.6.1"), [1, 3, 6, 1]);
        assert_eq!(parse_oid("1.3.6"), [1, 3, 6]);
    }
}

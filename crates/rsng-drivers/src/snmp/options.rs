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

/// `snmp-obj()` and `trap-obj()`, read together in the order written ([`read`]), as syslog-ng
/// appends both to one list of variable bindings.
pub const SNMP_OBJ: &str = "snmp-obj";
pub const TRAP_OBJ: &str = "trap-obj";

crate::typed_options! {
    /// What `snmp()` reads besides its objects, with syslog-ng 3.38's defaults.
    pub struct SnmpOptions {
        driver {
            pub host: String = "host";
            /// Checked when read: syslog-ng refuses a port out of range.
            pub port: i64 = "port";
            pub version: String = "version" or ("v2c".to_string());
            pub community: String = "community";
            /// The v3 options: rsng sends v2c traps, and warns about them as syslog-ng does
            /// when the version is not v3 (the schema check refuses `version("v3")`).
            pub engine_id: rsng_config::ir::Value = "engine-id";
            pub auth_username: rsng_config::ir::Value = "auth-username";
            pub auth_algorithm: rsng_config::ir::Value = "auth-algorithm";
            pub auth_password: rsng_config::ir::Value = "auth-password";
            pub enc_algorithm: rsng_config::ir::Value = "enc-algorithm";
            pub enc_password: rsng_config::ir::Value = "enc-password";
        }
        inherited {
            /// Seconds to wait before sending again after an error.
            pub time_reopen: u64 = "time-reopen" if (|&n| n > 0) or (60);
        }
        global {}
    }
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
    let o = SnmpOptions::read(opts);
    let v3 = o.version == "v3";
    if v3 && o.community.is_some() {
        internal::warning("WARNING: SNMP: the 'community' is a v2c option");
    }
    let v3_only = [
        ("engine_id", &o.engine_id),
        ("auth_username", &o.auth_username),
        ("auth_algorithm", &o.auth_algorithm),
        ("auth_password", &o.auth_password),
        ("enc_algorithm", &o.enc_algorithm),
        ("enc_password", &o.enc_password),
    ];
    for (name, value) in v3_only {
        if !v3 && value.is_some() {
            internal::warning(format!("WARNING: SNMP: the '{name}' is a v3 option"));
        }
    }
    opts.driver.note(SNMP_OBJ);
    opts.driver.note(TRAP_OBJ);
    let mut objects = Vec::new();
    for option in opts.driver.options.iter().filter(|o| o.name == SNMP_OBJ || o.name == TRAP_OBJ) {
        let mut parts = Vec::new();
        crate::options::collect_strings(&option.value, &mut parts);
        // Checked above: three strings; a trap object of an unknown type was refused.
        if let [oid, kind, value] = parts.as_slice() {
            if let Some(kind) = ObjType::from_name(kind) {
                objects.push(Object { oid: parse_oid(oid), kind, value: value.clone() });
            }
        }
    }
    let port = o.port.map_or(Ok(DEFAULT_PORT), |p| {
        u16::try_from(p).map_err(|_| err(format!("invalid port() for snmp(); port='{p}'")))
    })?;
    Ok(Settings {
        host: o.host.unwrap_or_default(),
        port,
        community: o.community.unwrap_or_else(|| "public".to_string()),
        objects,
        time_reopen: Duration::from_secs(o.time_reopen),
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

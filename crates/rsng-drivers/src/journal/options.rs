//! The options of `systemd-journal()` and their defaults (syslog-ng 3.38's `journal-reader.c`).

use rsng_core::names::{facility_code, severity_code};

use rsng_config::ir::Value;

use crate::options::{as_str, Options};

/// `prefix()` unless given (since configuration version 3.8).
pub const DEFAULT_PREFIX: &str = ".journald.";
/// `max-field-size()` unless given: 64 KiB.
pub const DEFAULT_FIELD_SIZE: usize = 64 * 1024;
/// `log-fetch-limit()` unless given: entries read per round.
pub const DEFAULT_FETCH_LIMIT: usize = 10;
/// local0.notice.
pub const DEFAULT_PRI: u16 = 16 * 8 + 5;
/// syslog-ng builds value names in a 256-byte buffer: longer names are cut.
pub const MAX_NAME_LEN: usize = 255;

crate::typed_options! {
    /// What `systemd-journal()` reads besides [`crate::receive::ReaderOptions`], with syslog-ng
    /// 3.38's defaults.
    pub struct JournalSourceOptions {
        driver {
            pub prefix: String = "prefix" or (DEFAULT_PREFIX.to_string());
            pub max_field_size: i64 = "max-field-size";
            pub log_fetch_limit: i64 = "log-fetch-limit";
            pub namespace: String = "namespace" or ("*".to_string());
            /// Unlike other sources, the journal is read from its start by default.
            pub read_old_records: bool = "read-old-records" or (true);
            /// `FIELD=value` pairs.
            pub matches: Value = "matches";
            pub match_boot: bool = "match-boot" or (false);
            /// A number or a name.
            pub default_priority: Value = "default-priority";
            pub default_facility: Value = "default-facility";
        }
        inherited {}
        global {}
    }
}

/// The journal reader's settings.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    pub prefix: String,
    pub max_field_size: usize,
    pub fetch_limit: usize,
    pub default_pri: u16,
    /// `namespace()`: `*` (all namespaces), `+NAME` (NAME and the default one), or `NAME`.
    pub namespace: String,
    pub read_old_records: bool,
    /// `matches()`: `FIELD=value` terms.
    pub matches: Vec<Vec<u8>>,
    pub match_boot: bool,
}

impl JournalOptions {
    pub fn new(opts: Options<'_>) -> JournalOptions {
        let o = JournalSourceOptions::read(&opts);
        let mut default_pri = DEFAULT_PRI;
        let code = |value: &Option<Value>, lookup: fn(&str) -> Option<u8>| match value {
            Some(Value::Int(n)) => u16::try_from(*n).ok(),
            Some(v) => as_str(v).and_then(lookup).map(u16::from),
            None => None,
        };
        if let Some(sev) = code(&o.default_priority, severity_code) {
            default_pri = (default_pri & !7) | (sev & 7);
        }
        if let Some(fac) = code(&o.default_facility, facility_code) {
            default_pri = (default_pri & 7) | (fac << 3);
        }
        let mut matches = Vec::new();
        if let Some(Value::List(pairs)) = &o.matches {
            for pair in pairs {
                let Value::List(kv) = pair else { continue };
                if let (Some(field), Some(value)) = (kv.first().and_then(as_str), kv.get(1).and_then(as_str)) {
                    matches.push(format!("{field}={value}").into_bytes());
                }
            }
        }
        JournalOptions {
            prefix: o.prefix,
            max_field_size: o.max_field_size.map_or(DEFAULT_FIELD_SIZE, |n| n.max(0) as usize),
            fetch_limit: o.log_fetch_limit.map_or(DEFAULT_FETCH_LIMIT, |n| n.max(1) as usize),
            default_pri,
            namespace: o.namespace,
            read_old_records: o.read_old_records,
            matches,
            match_boot: o.match_boot,
        }
    }

    /// The namespace to open and the flags to open it with, as syslog-ng reads `namespace()`.
    pub fn open_args(&self) -> (Option<&str>, std::ffi::c_int) {
        use super::ffi::{ALL_NAMESPACES, INCLUDE_DEFAULT_NAMESPACE, LOCAL_ONLY};
        let ns = self.namespace.as_str();
        if ns == "*" {
            (None, LOCAL_ONLY | ALL_NAMESPACES)
        } else if let Some(rest) = ns.strip_prefix('+') {
            (Some(rest).filter(|r| !r.is_empty()), LOCAL_ONLY | INCLUDE_DEFAULT_NAMESPACE)
        } else {
            (Some(ns).filter(|n| !n.is_empty()), LOCAL_ONLY)
        }
    }

    /// The persist-file key of the cursor, as syslog-ng names it.
    pub fn persist_key(&self) -> String {
        if self.namespace == "*" {
            "systemd-journal".to_string()
        } else {
            format!("systemd_journal({})", self.namespace)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ffi::{ALL_NAMESPACES, INCLUDE_DEFAULT_NAMESPACE, LOCAL_ONLY};
    use super::*;

    fn with_namespace(ns: &str) -> JournalOptions {
        JournalOptions {
            prefix: DEFAULT_PREFIX.into(),
            max_field_size: DEFAULT_FIELD_SIZE,
            fetch_limit: DEFAULT_FETCH_LIMIT,
            default_pri: DEFAULT_PRI,
            namespace: ns.into(),
            read_old_records: true,
            matches: Vec::new(),
            match_boot: false,
        }
    }

    #[test]
    fn namespaces_open_as_syslog_ng_opens_them() {
        assert_eq!(with_namespace("*").open_args(), (None, LOCAL_ONLY | ALL_NAMESPACES));
        assert_eq!(with_namespace("+blue").open_args(), (Some("blue"), LOCAL_ONLY | INCLUDE_DEFAULT_NAMESPACE));
        assert_eq!(with_namespace("+").open_args(), (None, LOCAL_ONLY | INCLUDE_DEFAULT_NAMESPACE));
        assert_eq!(with_namespace("blue").open_args(), (Some("blue"), LOCAL_ONLY));
        assert_eq!(with_namespace("").open_args(), (None, LOCAL_ONLY));
    }

    #[test]
    fn the_cursor_is_kept_under_syslog_ngs_key() {
        assert_eq!(with_namespace("*").persist_key(), "systemd-journal");
        assert_eq!(with_namespace("blue").persist_key(), "systemd_journal(blue)");
        assert_eq!(DEFAULT_PRI, 133, "local0.notice");
    }
}

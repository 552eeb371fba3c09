//! Syslog facility and severity names, as syslog-ng 3.38 spells them
//! (`lib/syslog-names.c`).
//!
//! Lookups by name are ASCII case-insensitive (`strcasecmp` in syslog-ng),
//! but otherwise exact: `solaris-cron` is known, `solaris_cron` is not.
//! Codes are the plain numbers (facility 0..=23, severity 0..=7), not the
//! shifted `PRI` bits.

/// Facility names and their codes, in syslog-ng's table order. Where two
/// names share a code (`authpriv`/`megasafe`) the first one is the
/// canonical name used when formatting.
pub const FACILITIES: &[(&str, u8)] = &[
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("megasafe", 10),
    ("ftp", 11),
    ("ntp", 12),
    ("security", 13),
    ("console", 14),
    ("solaris-cron", 15),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// Severity (level/priority) names and their codes, in syslog-ng's table
/// order. The first name of each code is the canonical one.
pub const SEVERITIES: &[(&str, u8)] = &[
    ("emerg", 0),
    ("emergency", 0),
    ("panic", 0),
    ("alert", 1),
    ("crit", 2),
    ("critical", 2),
    ("err", 3),
    ("error", 3),
    ("warning", 4),
    ("warn", 4),
    ("notice", 5),
    ("info", 6),
    ("informational", 6),
    ("debug", 7),
];

fn lookup_code(table: &[(&str, u8)], name: &str) -> Option<u8> {
    table.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(_, code)| code)
}

fn lookup_name(table: &'static [(&'static str, u8)], code: u8) -> Option<&'static str> {
    table.iter().find(|&&(_, c)| c == code).map(|&(n, _)| n)
}

/// Facility code (0..=23) of a facility name, case-insensitively:
/// `facility_code("LOCAL3") == Some(19)`.
pub fn facility_code(name: &str) -> Option<u8> {
    lookup_code(FACILITIES, name)
}

/// Severity code (0..=7) of a severity name, case-insensitively:
/// `severity_code("Warn") == Some(4)`.
pub fn severity_code(name: &str) -> Option<u8> {
    lookup_code(SEVERITIES, name)
}

/// Canonical facility name of a code (`10` → `authpriv`), as `$FACILITY`
/// prints it; `None` above 23.
pub fn facility_name(code: u8) -> Option<&'static str> {
    lookup_name(FACILITIES, code)
}

/// Canonical severity name of a code (`3` → `err`), as `$SEVERITY` prints
/// it; `None` above 7.
pub fn severity_name(code: u8) -> Option<&'static str> {
    lookup_name(SEVERITIES, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities() {
        let expected = [
            ("kern", 0),
            ("user", 1),
            ("mail", 2),
            ("daemon", 3),
            ("auth", 4),
            ("syslog", 5),
            ("lpr", 6),
            ("news", 7),
            ("uucp", 8),
            ("cron", 9),
            ("authpriv", 10),
            ("megasafe", 10),
            ("ftp", 11),
            ("ntp", 12),
            ("security", 13),
            ("console", 14),
            ("solaris-cron", 15),
        ];
        for (name, code) in expected {
            assert_eq!(facility_code(name), Some(code), "{name}");
        }
        for n in 0..8u8 {
            assert_eq!(facility_code(&format!("local{n}")), Some(16 + n));
        }
    }

    #[test]
    fn facility_case_insensitive_but_exact() {
        assert_eq!(facility_code("LOCAL7"), Some(23));
        assert_eq!(facility_code("Kern"), Some(0));
        assert_eq!(facility_code("Solaris-Cron"), Some(15));
        assert_eq!(facility_code("solaris_cron"), None);
        assert_eq!(facility_code("local8"), None);
        assert_eq!(facility_code(""), None);
        assert_eq!(facility_code("kern "), None);
        assert_eq!(facility_code("13"), None);
    }

    #[test]
    fn severities() {
        let expected = [
            ("emerg", 0),
            ("emergency", 0),
            ("panic", 0),
            ("alert", 1),
            ("crit", 2),
            ("critical", 2),
            ("err", 3),
            ("error", 3),
            ("warning", 4),
            ("warn", 4),
            ("notice", 5),
            ("info", 6),
            ("informational", 6),
            ("debug", 7),
        ];
        for (name, code) in expected {
            assert_eq!(severity_code(name), Some(code), "{name}");
            assert_eq!(severity_code(&name.to_uppercase()), Some(code), "{name}");
        }
        assert_eq!(severity_code("warnings"), None);
        assert_eq!(severity_code("3"), None);
        assert_eq!(severity_code("ınfo"), None);
    }

    #[test]
    fn canonical_names() {
        assert_eq!(facility_name(10), Some("authpriv"));
        assert_eq!(facility_name(15), Some("solaris-cron"));
        assert_eq!(facility_name(23), Some("local7"));
        assert_eq!(facility_name(24), None);
        assert_eq!(severity_name(0), Some("emerg"));
        assert_eq!(severity_name(2), Some("crit"));
        assert_eq!(severity_name(3), Some("err"));
        assert_eq!(severity_name(4), Some("warning"));
        assert_eq!(severity_name(6), Some("info"));
        assert_eq!(severity_name(8), None);
        for code in 0..=23 {
            let name = facility_name(code).unwrap();
            assert_eq!(facility_code(name), Some(code));
        }
        for code in 0..=7 {
            let name = severity_name(code).unwrap();
            assert_eq!(severity_code(name), Some(code));
        }
    }
}

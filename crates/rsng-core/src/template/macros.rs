//! Names of syslog-ng 3.38's built-in macros and header values
//! (`lib/template/macros.c`, `lib/logmsg/logmsg.c`).

/// Built-in names without a date prefix.
const PLAIN: &[&str] = &[
    // header values and their aliases
    "HOST",
    "FULLHOST",
    "HOST_FROM",
    "FULLHOST_FROM",
    "PROGRAM",
    "PID",
    "MSGID",
    "MESSAGE",
    "MSG",
    "MSGONLY",
    "SOURCE",
    "LEGACY_MSGHDR",
    // priority
    "FACILITY",
    "FACILITY_NUM",
    "SEVERITY",
    "SEVERITY_NUM",
    "PRIORITY",
    "LEVEL",
    "LEVEL_NUM",
    "PRI",
    "TAG",
    "TAGS",
    "BSDTAG",
    // derived
    "MSGHDR",
    "SDATA",
    "SOURCEIP",
    "DESTIP",
    "DESTPORT",
    "PROTO",
    "SEQNUM",
    "CONTEXT_ID",
    "_",
    "RCPTID",
    "RUNID",
    "HOSTID",
    "UNIQID",
    "LOGHOST",
    "SYSUPTIME",
];

/// Date macros; each also exists with an `S_` (message stamp, same as no
/// prefix), `R_` (received), `C_` (current) and `P_` (processed) prefix.
pub(crate) const DATE: &[&str] = &[
    "DATE",
    "FULLDATE",
    "ISODATE",
    "STAMP",
    "YEAR",
    "YEAR_DAY",
    "MONTH",
    "MONTH_WEEK",
    "MONTH_ABBREV",
    "MONTH_NAME",
    "DAY",
    "HOUR",
    "HOUR12",
    "MIN",
    "SEC",
    "MSEC",
    "USEC",
    "AMPM",
    "WEEKDAY",
    "WEEK_DAY",
    "WEEK_DAY_ABBREV",
    "WEEK_DAY_NAME",
    "WEEK",
    "ISOWEEK",
    "TZOFFSET",
    "TZ",
    "UNIXTIME",
];

/// Whether `name` is one of syslog-ng 3.38's built-in macros or header
/// values (`HOST`, `MSG`, `ISODATE`, `R_UNIXTIME`, `_`, ...).
/// Case-sensitive, like syslog-ng. Match groups (`0`..`255`) and `*` are
/// not included.
/// The prefixes a date macro takes (see [`DATE`]).
pub(crate) const DATE_PREFIXES: &[&str] = &["R_", "S_", "C_", "P_"];

pub fn is_builtin_macro(name: &str) -> bool {
    if PLAIN.contains(&name) || DATE.contains(&name) {
        return true;
    }
    DATE_PREFIXES.iter().any(|p| name.strip_prefix(p).is_some_and(|rest| DATE.contains(&rest)))
}

/// syslog-ng 3.38's macro table (`lib/template/macros.c`), in its order:
/// what value-pairs' `all-macros` scope and `--key` patterns select from, and what `groupset()`
/// matches its globs against.
pub fn macro_table() -> impl Iterator<Item = &'static str> {
    const HEAD: &[&str] = &[
        "FACILITY",
        "FACILITY_NUM",
        "SEVERITY",
        "SEVERITY_NUM",
        "PRIORITY",
        "LEVEL",
        "LEVEL_NUM",
        "TAG",
        "TAGS",
        "BSDTAG",
        "PRI",
    ];
    const TAIL: &[&str] = &[
        "SDATA",
        "MSGHDR",
        "SOURCEIP",
        "DESTIP",
        "DESTPORT",
        "PROTO",
        "SEQNUM",
        "CONTEXT_ID",
        "_",
        "RCPTID",
        "RUNID",
        "HOSTID",
        "UNIQID",
        "MSG",
        "MESSAGE",
        "HOST",
        "LOGHOST",
    ];
    // The date macros, then SYSUPTIME (which sits among them in the table), then every date
    // macro with each prefix: built once from the same list `is_builtin_macro` uses.
    static DATES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let dates = DATES.get_or_init(|| {
        let mut names: Vec<String> = DATE.iter().map(|d| d.to_string()).collect();
        names.push("SYSUPTIME".into());
        for prefix in DATE_PREFIXES {
            names.extend(DATE.iter().map(|d| format!("{prefix}{d}")));
        }
        names
    });
    HEAD.iter().copied().chain(dates.iter().map(String::as_str)).chain(TAIL.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::is_builtin_macro;

    #[test]
    fn builtin_macros() {
        for name in [
            "HOST",
            "FULLHOST",
            "HOST_FROM",
            "FULLHOST_FROM",
            "PROGRAM",
            "PID",
            "MSGID",
            "MESSAGE",
            "MSG",
            "MSGONLY",
            "SOURCE",
            "LEGACY_MSGHDR",
            "FACILITY",
            "FACILITY_NUM",
            "SEVERITY",
            "LEVEL",
            "PRIORITY",
            "SEVERITY_NUM",
            "LEVEL_NUM",
            "PRI",
            "TAG",
            "BSDTAG",
            "TAGS",
            "MSGHDR",
            "SDATA",
            "SOURCEIP",
            "DESTIP",
            "DESTPORT",
            "PROTO",
            "SEQNUM",
            "CONTEXT_ID",
            "RCPTID",
            "RUNID",
            "HOSTID",
            "UNIQID",
            "LOGHOST",
            "SYSUPTIME",
            "DATE",
            "ISODATE",
            "WEEKDAY",
            "UNIXTIME",
            "S_ISODATE",
            "R_ISODATE",
            "C_UNIXTIME",
            "P_DATE",
            "R_TZOFFSET",
            "C_WEEK_DAY_NAME",
            "_",
        ] {
            assert!(is_builtin_macro(name), "{name}");
        }
        for name in [
            "",
            "host",
            "Host",
            "R_HOST",
            "X_DATE",
            "R_",
            "S_SYSUPTIME",
            "0",
            "*",
            "R__DATE",
            "ISODATE ",
            ".SDATA.a.b",
            "RDATE",
        ] {
            assert!(!is_builtin_macro(name), "{name}");
        }
    }
}

//! Global `options { ... };`, log-path `flags()` and the `template NAME { ... };` statement.
//!
//! Mirrors `options_item` of syslog-ng 3.38's `lib/cfg-grammar.y` (with the `template_option`,
//! `host_resolve_option`, `stat_option`, `dns_cache_option` and `file_perm_option` groups it
//! pulls in), the obsolete entries of the main keyword table in `lib/cfg-parser.c`, and the log
//! flags of `lib/cfg-tree.c`.

use super::{Kind, OptionSpec as O, NONNEGATIVE_INTEGER, POSITIVE_INTEGER};

/// `ts-format()` values. An invalid value only prints "Invalid ts_format() value" in 3.38 and
/// falls back to `rfc3164`; the configuration is still accepted.
pub static TS_FORMATS: &[&str] = &["rfc3164", "bsd", "rfc3339", "iso", "full", "unix", "utc"];

/// `on-error()` values; anything else is "Invalid on-error() setting" (fatal).
pub static ON_ERROR_VALUES: &[&str] = &[
    "drop-message",
    "drop-property",
    "fallback-to-string",
    "silently-drop-message",
    "silently-drop-property",
    "silently-fallback-to-string",
];

/// `mark-mode()` of a destination; `global` means "use the global setting".
pub static MARK_MODES: &[&str] = &["internal", "dst-idle", "host-idle", "periodical", "none", "global"];

/// `mark-mode()` in `options {}`: `global` is "illegal global mark-mode" there.
pub static GLOBAL_MARK_MODES: &[&str] = &["internal", "dst-idle", "host-idle", "periodical", "none"];

/// `use-dns()`: `yesno` (any integer works; `0`/`1` listed) or `persist-only`.
pub static USE_DNS_VALUES: &[&str] = &["yes", "no", "on", "off", "0", "1", "persist-only"];

/// `disk-buffer(...)` inside `options {}` (the diskq module's global option).
pub static DISK_BUFFER_GLOBAL_OPTIONS: &[O] = &[
    // A float between 0 and 1.
    O::new("truncate-size-ratio", Kind::Float),
];

/// Every option of `options { ... };`.
pub static GLOBAL_OPTIONS: &[O] = &[
    // Marks and flushing.
    O::new("mark-freq", NONNEGATIVE_INTEGER),
    O::new("mark", NONNEGATIVE_INTEGER).obsolete("use mark-freq() instead"),
    O::new("mark-mode", Kind::Enum(GLOBAL_MARK_MODES)),
    O::new("flush-lines", NONNEGATIVE_INTEGER),
    O::new("sync", NONNEGATIVE_INTEGER).obsolete("use flush-lines() instead"),
    O::new("sync-freq", NONNEGATIVE_INTEGER).obsolete("use flush-lines() instead"),
    O::new("flush-timeout", POSITIVE_INTEGER)
        .obsolete("flush-timeout() does nothing; some drivers support batch-timeout() at the destination level"),
    // Host names.
    O::new("chain-hostnames", Kind::YesNo),
    O::new("long-hostnames", Kind::YesNo).obsolete("use chain-hostnames() instead"),
    O::new("keep-hostname", Kind::YesNo),
    O::new("check-hostname", Kind::YesNo),
    // A regular expression.
    O::new("bad-hostname", Kind::String),
    O::new("custom-domain", Kind::String),
    O::new("use-fqdn", Kind::YesNo),
    O::new("use-dns", Kind::Enum(USE_DNS_VALUES)),
    O::new("dns-cache", Kind::YesNo),
    O::new("normalize-hostnames", Kind::YesNo),
    O::new("dns-cache-size", POSITIVE_INTEGER),
    O::new("dns-cache-expire", POSITIVE_INTEGER),
    O::new("dns-cache-expire-failed", POSITIVE_INTEGER),
    O::new("dns-cache-hosts", Kind::Path),
    // Timers.
    O::new("time-reopen", POSITIVE_INTEGER),
    O::new("time-reap", NONNEGATIVE_INTEGER),
    O::new("time-sleep", NONNEGATIVE_INTEGER).obsolete("time-sleep() has been deprecated and does nothing"),
    O::new("suppress", NONNEGATIVE_INTEGER),
    O::new("threaded", Kind::YesNo),
    // Message ids.
    O::new("use-uniqid", Kind::YesNo),
    O::new("use-rcptid", Kind::YesNo).obsolete("use use-uniqid() instead"),
    // Queues, windows and message size.
    O::new("log-fifo-size", POSITIVE_INTEGER),
    O::new("log-iw-size", POSITIVE_INTEGER)
        .obsolete("support for the global log-iw-size() option was removed, please use a per-source log-iw-size()"),
    O::new("log-fetch-limit", POSITIVE_INTEGER).obsolete(
        "support for the global log-fetch-limit() option was removed, please use a per-source log-fetch-limit()",
    ),
    O::new("log-msg-size", POSITIVE_INTEGER),
    O::new("trim-large-messages", Kind::YesNo),
    O::new("min-iw-size-per-reader", POSITIVE_INTEGER),
    // Time stamps and templates.
    O::new("keep-timestamp", Kind::YesNo),
    // Template *names*, resolved at start-up.
    O::new("file-template", Kind::String),
    O::new("proto-template", Kind::String),
    O::new("recv-time-zone", Kind::String),
    O::new("ts-format", Kind::Enum(TS_FORMATS)),
    O::new("frac-digits", NONNEGATIVE_INTEGER),
    O::new("time-zone", Kind::String),
    O::new("send-time-zone", Kind::String),
    O::new("local-time-zone", Kind::String),
    O::new("on-error", Kind::Enum(ON_ERROR_VALUES)),
    O::new("use-time-recvd", Kind::YesNo)
        .rejected("use-time-recvd() was removed; use R_ or S_ prefixed macros in templates, or keep-timestamp(no)"),
    // Statistics. 3.38's `stats()` is the obsolete spelling of `stats-freq()` and takes a number;
    // the 4.x `stats(freq(...) level(...))` block is a syntax error.
    O::new("stats-freq", NONNEGATIVE_INTEGER),
    O::new("stats", NONNEGATIVE_INTEGER).obsolete("use stats-freq() instead"),
    O::new("stats-level", NONNEGATIVE_INTEGER),
    O::new("stats-lifetime", POSITIVE_INTEGER),
    O::new("stats-max-dynamics", NONNEGATIVE_INTEGER),
    O::new("stats-max-dynamic", NONNEGATIVE_INTEGER).rejected("syslog-ng 3.38 spells this option stats-max-dynamics()"),
    // Files and directories created by destinations.
    O::new("create-dirs", Kind::YesNo),
    O::new("owner", Kind::User),
    O::new("group", Kind::UnixGroup),
    O::new("perm", Kind::Perm),
    O::new("dir-owner", Kind::User),
    O::new("dir-group", Kind::UnixGroup),
    O::new("dir-perm", Kind::Perm),
    O::new("pass-unix-credentials", Kind::YesNo).obsolete(
        "pass-unix-credentials() has been deprecated in syslog-ng 3.35 in favour of the so-passcred() \
         source option or the ignore-aux-data source flag",
    ),
    // Plugin option of the diskq module.
    O::new("disk-buffer", Kind::Nested(DISK_BUFFER_GLOBAL_OPTIONS)),
    // Options of other syslog-ng versions or modules.
    O::new("jvm-options", Kind::String)
        .rejected("jvm-options() belongs to syslog-ng's java module, which rsng does not implement"),
    O::new("check-program", Kind::YesNo).rejected("only in syslog-ng 4.x; syslog-ng 3.38 does not accept it"),
    O::new("log-level", Kind::String).rejected("only in syslog-ng 4.x; syslog-ng 3.38 does not accept it"),
];

/// `flags()` of a `log {}` path. Unknown flags only print "Unknown log statement flag" in 3.38;
/// the configuration is still accepted. `catchall` and `catch-all` are both spelled out because
/// they differ by more than `-`/`_`.
pub static LOG_FLAGS: &[&str] = &["final", "fallback", "catchall", "catch-all", "flow-control", "drop-unmatched"];

/// Items of `template NAME { ... };`; anything else (e.g. `ts-format()`) is a syntax error.
pub static TEMPLATE_STATEMENT_OPTIONS: &[O] = &[
    // Always literal template text here, never a template name.
    O::new("template", Kind::Template),
    O::new("template-escape", Kind::YesNo),
];

//! Options of the parser drivers rsng runs: `csv-parser() kv-parser() json-parser()
//! regexp-parser() syslog-parser() date-parser()`.
//!
//! Mirrors the grammars of syslog-ng 3.38's `csvparser`, `kvformat`, `json`, `regexp-parser`,
//! `syslogformat` and `timestamp` modules; every parser also takes `parser_opt`, which is
//! `template()`.

use super::filters::{MATCHER_FLAGS, MATCHER_TYPES};
use super::socket::MSG_FORMAT_FLAGS;
use super::{Kind, OptionSpec as O};

const ONLY_4X: &str = "only in syslog-ng 4.x; syslog-ng 3.38 does not accept it";

/// `parser_opt`: the template the parser reads (default `$MSG`). As in destinations, a template
/// defined earlier is used by name, anything else is inline template text.
pub static PARSER_OPTIONS: &[O] = &[O::new("template", Kind::TemplateRef)];

/// `csv-parser(flags())`. Only one of the `escape-*` flags may be given. Unknown flags are fatal.
pub static CSV_PARSER_FLAGS: &[&str] =
    &["escape-none", "escape-backslash", "escape-double-char", "strip-whitespace", "greedy", "drop-invalid"];

/// `csv-parser(dialect())`.
pub static CSV_PARSER_DIALECTS: &[&str] = &["escape-none", "escape-backslash", "escape-double-char"];

/// `csv-parser(...)`.
pub static CSV_PARSER_OPTIONS: &[O] = &[
    O::new("columns", Kind::StringList).multi(),
    // `delimiters(",;")` or `delimiters(chars(",;") strings("::" "->"))`.
    O::new("delimiters", Kind::Any),
    O::new("quotes", Kind::String),
    O::new("quote-pairs", Kind::String),
    O::new("null", Kind::String),
    O::new("dialect", Kind::Enum(CSV_PARSER_DIALECTS)),
    O::new("flags", Kind::Flags { values: CSV_PARSER_FLAGS, fatal: true }),
    O::new("prefix", Kind::String),
    O::new("drop-invalid", Kind::YesNo),
    O::new("on-type-error", Kind::String).rejected(ONLY_4X),
];

/// `kv-parser(...)` (also the option set of syslog-ng's `linux-audit-parser()`).
pub static KV_PARSER_OPTIONS: &[O] = &[
    O::new("prefix", Kind::String),
    // A single character.
    O::new("value-separator", Kind::String),
    O::new("pair-separator", Kind::String),
    O::new("extract-stray-words-into", Kind::String),
    O::new("allow-pair-separator-in-value", Kind::YesNo).obsolete(
        "allow-pair-separator-in-value(yes) has become the default behaviour of kv-parser() and the \
         option does nothing; it can be removed",
    ),
];

/// `json-parser(...)`.
pub static JSON_PARSER_OPTIONS: &[O] = &[
    O::new("prefix", Kind::String),
    O::new("marker", Kind::String),
    O::new("extract-prefix", Kind::String),
    // A single character.
    O::new("key-delimiter", Kind::String),
];

/// `regexp-parser(...)`: patterns plus the matcher options `type()` and `flags()`.
pub static REGEXP_PARSER_OPTIONS: &[O] = &[
    O::new("patterns", Kind::StringList).multi(),
    O::new("prefix", Kind::String),
    O::new("type", Kind::Enum(MATCHER_TYPES)),
    O::new("flags", Kind::Flags { values: MATCHER_FLAGS, fatal: true }),
];

/// `syslog-parser(...)`: message-format flags (not the LogReader-only ones such as `kernel`) and
/// the `msg_format_option` group, which is listed with the driver.
pub static SYSLOG_PARSER_OPTIONS: &[O] =
    &[O::new("flags", Kind::Flags { values: MSG_FORMAT_FLAGS, fatal: true }), O::new("drop-invalid", Kind::YesNo)];

/// `date-parser(flags())`.
pub static DATE_PARSER_FLAGS: &[&str] = &["guess-timezone"];

/// `time-stamp()` of `date-parser()` (and the time zone rewrites): which stamp to set.
pub static TIME_STAMP_NAMES: &[&str] = &["stamp", "recvd"];

/// `date-parser(...)`.
pub static DATE_PARSER_OPTIONS: &[O] = &[
    // strptime-like formats, tried in order.
    O::new("format", Kind::StringList).multi(),
    O::new("time-zone", Kind::String),
    O::new("time-stamp", Kind::Enum(TIME_STAMP_NAMES)),
    O::new("flags", Kind::Flags { values: DATE_PARSER_FLAGS, fatal: true }),
    O::new("value", Kind::String).rejected(ONLY_4X),
];

/// `db-parser(...)` (syslog-ng's `dbparser` module); `template()` comes with `PARSER_OPTIONS`.
pub static DB_PARSER_OPTIONS: &[O] = &[
    O::new("file", Kind::String),
    O::new("drop-unmatched", Kind::YesNo),
    O::new("program-template", Kind::Template),
    O::new("message-template", Kind::Template),
    // `internal`, `pass-through` or `aggregate-only`.
    O::new("inject-mode", Kind::String),
    O::new("persist-name", Kind::String),
];

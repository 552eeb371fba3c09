//! Names and options of filter expressions.
//!
//! Mirrors syslog-ng 3.38's `lib/filter/filter-expr-grammar.ym` (the simple filter functions),
//! the `matcher_option` rule of `lib/cfg-grammar.y` and the matcher types and flags of
//! `lib/logmatcher.c`. The `rate-limit()` filter comes from the `rate-limit-filter` module.

use super::{Kind, OptionSpec as O, POSITIVE_INTEGER};

/// The simple filter functions (`name(args)` inside a filter expression). `level`, `priority`
/// and `severity` are the same function; `throttle` is the obsolete name of `rate-limit`.
pub static FILTER_FUNCTIONS: &[&str] = &[
    "facility",
    "level",
    "priority",
    "severity",
    "program",
    "host",
    "message",
    "source",
    "match",
    "netmask",
    "netmask6",
    "tags",
    "in-list",
    "filter",
    "rate-limit",
    "throttle",
];

/// `type()` of a matcher. `posix` is accepted with a warning and treated as `pcre`; anything
/// else is "unknown matcher type".
pub static MATCHER_TYPES: &[&str] = &["pcre", "string", "glob", "posix"];

/// `flags()` of a matcher; an unknown flag is "unknown matcher flag" (fatal). 3.38 has no
/// `nobackref` (it is rejected).
pub static MATCHER_FLAGS: &[&str] = &[
    "global",
    "icase",
    "ignore-case",
    "newline",
    "unicode",
    "utf8",
    "store-matches",
    "substring",
    "prefix",
    "disable-jit",
    "dupnames",
];

/// Options after the pattern of `match()`. `program() host() message() source()` take only
/// `type()` and `flags()` ([`REGEX_FILTER_OPTIONS`]); `value()` and `template()` belong to
/// `match()` alone.
pub static MATCHER_OPTIONS: &[O] = &[
    // A name-value pair name; a leading `$` is stripped with a warning, and a value containing
    // `(` or `$` is an error.
    O::new("value", Kind::String),
    O::new("template", Kind::Template),
    O::new("type", Kind::Enum(MATCHER_TYPES)),
    O::new("flags", Kind::Flags { values: MATCHER_FLAGS, fatal: true }),
];

/// Options after the pattern of `program() host() message() source()`.
pub static REGEX_FILTER_OPTIONS: &[O] =
    &[O::new("type", Kind::Enum(MATCHER_TYPES)), O::new("flags", Kind::Flags { values: MATCHER_FLAGS, fatal: true })];

/// `in-list("FILE" value("NAME"))`; the second argument may also be a bare name.
pub static IN_LIST_OPTIONS: &[O] = &[O::new("value", Kind::String)];

/// `rate-limit(template("$HOST") rate(N))` (also `throttle(...)`, obsolete since 3.36).
pub static RATE_LIMIT_OPTIONS: &[O] = &[O::new("template", Kind::Template), O::new("rate", POSITIVE_INTEGER)];

//! Options of the rewrite rules: `set() subst() unset() groupset() groupunset() set-tag()
//! clear-tag() set-matches() unset-matches() set-pri() set-severity() set-facility() rename()`.
//!
//! Mirrors syslog-ng 3.38's `lib/rewrite/rewrite-expr-grammar.ym` with the `rewrite_expr_opt`
//! (`value()`, `condition()`), `matcher_option` and `template_option` rules of
//! `lib/cfg-grammar.y`. The positional arguments (the template, pattern or tag) are described by
//! the rule's [`DriverSpec`](super::DriverSpec) in `drivers.rs`.

use super::filters::{MATCHER_FLAGS, MATCHER_TYPES};
use super::global::{ON_ERROR_VALUES, TS_FORMATS};
use super::{Kind, OptionSpec as O, NONNEGATIVE_INTEGER};

/// `condition(FILTER-EXPR)`: every rule has it.
pub static CONDITION_OPTIONS: &[O] = &[O::new("condition", Kind::FilterExpr)];

/// `set("template" ...)`: `value()`, `condition()` and the template options that format the
/// value. `value("NAME")` (default `MESSAGE`) names the name-value pair to change; a leading `$`
/// is stripped with a warning, read-only macros and invalid names are errors.
pub static SET_OPTIONS: &[O] = &[
    O::new("value", Kind::String),
    O::new("condition", Kind::FilterExpr),
    O::new("ts-format", Kind::Enum(TS_FORMATS)),
    O::new("frac-digits", NONNEGATIVE_INTEGER),
    O::new("time-zone", Kind::String),
    O::new("send-time-zone", Kind::String),
    O::new("local-time-zone", Kind::String),
    O::new("on-error", Kind::Enum(ON_ERROR_VALUES)),
];

/// `unset(value("NAME") condition(...))`. The 3.38 grammar also lets the template options
/// through here, but `unset()` has no template and syslog-ng 3.38 crashes on them
/// (`unset(ts-format(iso))` segfaults), so they are not offered.
pub static UNSET_OPTIONS: &[O] = &[O::new("value", Kind::String), O::new("condition", Kind::FilterExpr)];

/// `subst("regexp" "replacement" ...)`: `value()`, `condition()` and the matcher options.
pub static SUBST_OPTIONS: &[O] = &[
    O::new("value", Kind::String),
    O::new("condition", Kind::FilterExpr),
    O::new("type", Kind::Enum(MATCHER_TYPES)),
    O::new("flags", Kind::Flags { values: MATCHER_FLAGS, fatal: true }),
];

/// `groupset("template" values(...))` and `groupunset(values(...))`: the glob patterns of the
/// name-value pairs to change.
pub static GROUPSET_OPTIONS: &[O] =
    &[O::new("values", Kind::StringList).multi(), O::new("condition", Kind::FilterExpr)];

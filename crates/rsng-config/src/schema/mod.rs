//! Option tables: what each syslog-ng object accepts, as syslog-ng 3.38 accepts it.
//!
//! Lowering walks the generic syntax tree (`name(args ...)`) and checks every driver and option
//! against these tables: unknown names get a "did you mean", values are checked by [`Kind`],
//! obsolete names warn with their replacement. The tables are data only; the checking lives in
//! `lower/`. Names are written with `-`; lookups treat `-` and `_` as equal, as syslog-ng does.

pub(crate) mod amqp;
mod drivers;
mod filters;
mod global;
pub(crate) mod http;
pub(crate) mod kafka;
pub(crate) mod mqtt;
mod parsers;
pub(crate) mod redis;
mod rewrites;
pub mod snmp;
mod socket;
pub(crate) mod sql;
pub(crate) mod tls;

pub use drivers::{builtin_driver, find_driver, unimplemented_driver, DRIVERS};
pub use filters::{
    FILTER_FUNCTIONS, IN_LIST_OPTIONS, MATCHER_FLAGS, MATCHER_OPTIONS, MATCHER_TYPES, RATE_LIMIT_OPTIONS,
    REGEX_FILTER_OPTIONS,
};
pub use global::{GLOBAL_OPTIONS, LOG_FLAGS, TEMPLATE_STATEMENT_OPTIONS};
pub use tls::{TLS_OPTIONS, TLS_SOURCE_OPTIONS};

/// `positive_integer` in syslog-ng's grammar: 1 or more (and below 2^31).
pub const POSITIVE_INTEGER: Kind = Kind::Integer { min: 1 };
/// `nonnegative_integer` in syslog-ng's grammar: 0 or more (and below 2^31).
pub const NONNEGATIVE_INTEGER: Kind = Kind::Integer { min: 0 };

/// The statement context an object lives in; block definitions use the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Source,
    Destination,
    Parser,
    Rewrite,
    Filter,
    Log,
    Options,
    Root,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Source => "source",
            Context::Destination => "destination",
            Context::Parser => "parser",
            Context::Rewrite => "rewrite",
            Context::Filter => "filter",
            Context::Log => "log",
            Context::Options => "options",
            Context::Root => "root",
        }
    }
}

/// What a value slot accepts. Each variant documents the syslog-ng grammar slot it mirrors.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `yesno`: `yes`/`on`/`no`/`off` or any integer.
    YesNo,
    /// An integer; `min` is inclusive (`positive_integer` = 1, `nonnegative_integer` = 0).
    Integer { min: i64 },
    /// A float or an integer.
    Float,
    /// `nonnegative_float`: a float or an integer, 0 or more.
    NonNegativeFloat,
    /// `"name" => "template"` pairs (`values()` of `example-msg-generator()`); the templates are
    /// compiled at load time.
    NameValuePairs,
    /// An identifier or a quoted string.
    String,
    /// A string or a number; numbers keep their source text (`port(10K)`).
    StringOrNumber,
    /// A string compiled as a template at load time.
    Template,
    /// `template(NAME)` or `template("text")`: a defined template's name, else template text.
    TemplateRef,
    /// A path that syslog-ng opens while parsing: must exist (TLS keys, `in-list` files).
    ExistingFile,
    /// A path checked only at run time.
    Path,
    /// A character set the system's iconv converts from (`encoding()`); unknown ones are an
    /// error while parsing, as in syslog-ng.
    Encoding,
    /// A user name or uid; empty means "leave as is". Unknown users are an error.
    User,
    /// A group name or gid; empty means "leave as is". Unknown groups are an error.
    UnixGroup,
    /// A file mode as a number (`0640`); `-1` means "leave as is".
    Perm,
    /// One word from the list (compared with `-`/`_` equal, case-insensitively).
    Enum(&'static [&'static str]),
    /// Any number of words from the list. `fatal` says whether an unknown flag is an error
    /// (source flags) or only a warning (destination writer flags, log flags).
    Flags { values: &'static [&'static str], fatal: bool },
    /// One or more strings.
    StringList,
    /// A nested option group such as `tls(...)` or `disk-buffer(...)`.
    Nested(&'static [OptionSpec]),
    /// A filter expression (`condition(...)` of rewrite rules).
    FilterExpr,
    /// Facility names or a single number.
    Facility,
    /// A severity name.
    Level,
    /// Accepted without a closer look (rarely used options with free-form arguments).
    Any,
}

/// Whether an option is current, or what to say about it.
#[derive(Debug, Clone, Copy)]
pub enum Status {
    Current,
    /// Accepted with a warning naming the replacement.
    Obsolete(&'static str),
    /// Rejected: the text says why (e.g. only in syslog-ng 4.x).
    Rejected(&'static str),
    /// Added in syslog-ng 4.x: rejected as 3.38 does, unless the configuration declares
    /// `@version: 4.0` or later, where rsng honours it.
    Since4(&'static str),
    /// Accepted as syslog-ng accepts it, but rsng does not act on it: a warning says so.
    Ignored(&'static str),
}

/// One option: `name(value ...)`.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub status: Status,
    /// Whether the option may hold several values (`tags("a" "b")`, `trusted-dn(...)`).
    pub multi: bool,
}

impl OptionSpec {
    pub const fn new(name: &'static str, kind: Kind) -> Self {
        OptionSpec { name, aliases: &[], kind, status: Status::Current, multi: false }
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    pub const fn obsolete(mut self, why: &'static str) -> Self {
        self.status = Status::Obsolete(why);
        self
    }
    /// An option of syslog-ng 4.x (see [`Status::Since4`]).
    pub const fn since4(mut self, why: &'static str) -> Self {
        self.status = Status::Since4(why);
        self
    }

    /// An option rsng accepts without acting on it (see [`Status::Ignored`]).
    pub const fn ignored(mut self, why: &'static str) -> Self {
        self.status = Status::Ignored(why);
        self
    }

    pub const fn rejected(mut self, why: &'static str) -> Self {
        self.status = Status::Rejected(why);
        self
    }
    pub const fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
}

/// The positional argument a driver takes before its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positional {
    None,
    /// Required: `file("/var/log/x")`, `network("host")` as a destination.
    Required(&'static str),
    /// Optional: `unix-dgram("/dev/log")` may name its path with `path()` instead.
    Optional(&'static str),
}

/// Whether rsng runs a driver or only recognises it as syslog-ng's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Implemented,
    /// A syslog-ng driver rsng does not run: an error that says so.
    NotImplemented,
}

/// A driver (source, destination, parser or rewrite plugin).
#[derive(Debug, Clone, Copy)]
pub struct DriverSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub context: Context,
    pub positional: Positional,
    /// Option sets, merged: shared groups (common source options, socket options, ...) first.
    pub options: &'static [&'static [OptionSpec]],
    pub support: Support,
}

/// Compares two names with `-` and `_` treated as equal, as syslog-ng's keyword lookup does.
pub fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| x == y || (matches!(x, b'-' | b'_') && matches!(y, b'-' | b'_')))
}

/// Looks an option up in a list of option sets.
pub fn find_option(sets: &[&'static [OptionSpec]], name: &str) -> Option<&'static OptionSpec> {
    sets.iter()
        .flat_map(|set| set.iter())
        .find(|o| same_name(o.name, name) || o.aliases.iter().any(|a| same_name(a, name)))
}

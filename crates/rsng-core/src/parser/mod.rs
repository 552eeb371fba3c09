//! syslog-ng 3.38's message parsers, applied to a [`LogMessage`] in place.
//!
//! | Parser | syslog-ng | Module |
//! |---|---|---|
//! | [`KvParser`] | `kv-parser()` | [`kv`] |
//! | [`JsonParser`] | `json-parser()` | [`json`] |
//! | [`CsvParser`] | `csv-parser()` | [`csv`] |
//! | [`RegexpParser`] | `regexp-parser()` | [`regexp`] |
//! | [`SyslogParser`] | `syslog-parser()` | [`syslog`] |
//! | [`DateParser`] | `date-parser()` | [`date`] |
//!
//! Every parser reads `$MSG`, or its `template()` formatted with the global template options,
//! and returns whether it parsed the input; syslog-ng drops a message whose parser failed from
//! the log path. Values a failing parser set before it failed stay set, as in syslog-ng.
//!
//! The helper modules are shared with the rewrite rules: [`nv`] (match groups, prefixed
//! names), [`pcre`] (PCRE matching that stores groups), [`scratch`] (reused buffers),
//! [`strptime`]; list quoting is [`crate::strrepr`], shared with the template functions.

pub mod csv;
pub mod date;
pub mod json;
pub mod kv;
pub mod nv;
pub mod patterndb;
pub mod pcre;
pub mod regexp;
pub mod scratch;
pub mod strptime;
pub mod syslog;
pub mod tags;

use std::sync::Arc;

/// The zone type the parsers take (`time-zone()`), so that callers need not depend on `jiff`.
pub use jiff::tz::TimeZone;
/// The parse settings of [`SyslogParser`].
pub use rsng_proto::syslog::{ParseFlags, ParseOptions};

pub use csv::CsvParser;
pub use date::DateParser;
pub use json::JsonParser;
pub use kv::KvParser;
pub use regexp::RegexpParser;
pub use syslog::SyslogParser;
pub use tags::TagsParser;

use crate::message::LogMessage;
use crate::template::{FormatOptions, Template};
use scratch::Scratch;

/// What a [`Parser`] does with its input.
#[derive(Debug)]
pub enum ParserKind {
    Kv(KvParser),
    Json(JsonParser),
    Csv(CsvParser),
    Regexp(RegexpParser),
    Syslog(SyslogParser),
    Date(DateParser),
    Tags(TagsParser),
}

/// A parser with its input: `$MSG` or a template.
#[derive(Debug)]
pub struct Parser {
    template: Option<(Arc<Template>, FormatOptions)>,
    kind: ParserKind,
}

impl Parser {
    /// A parser reading `template` (formatted with `opts`, the global template options), or
    /// `$MSG` when `None`.
    pub fn new(kind: ParserKind, template: Option<Arc<Template>>, opts: FormatOptions) -> Parser {
        Parser { template: template.map(|t| (t, opts)), kind }
    }

    /// Parses `msg`; `false` when the input could not be parsed.
    pub fn process(&self, msg: &mut LogMessage) -> bool {
        // The input is copied: parsers change the message they read it from.
        let mut input = Scratch::take();
        match &self.template {
            Some((t, opts)) => {
                let _ = t.format(msg, opts, &mut input);
            }
            None => input.extend_from_slice(msg.get("MESSAGE").unwrap_or(b"")),
        }
        match &self.kind {
            ParserKind::Kv(p) => p.parse(msg, &input),
            ParserKind::Json(p) => p.parse(msg, &input),
            ParserKind::Csv(p) => p.parse(msg, &input),
            ParserKind::Regexp(p) => p.parse(msg, &input),
            ParserKind::Syslog(p) => p.parse(msg, &input),
            ParserKind::Date(p) => p.parse(msg, &input),
            ParserKind::Tags(p) => p.parse(msg, &input),
        }
    }
}

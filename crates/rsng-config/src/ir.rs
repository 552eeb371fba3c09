//! The validated configuration: every object resolved, every option checked against its table.
//!
//! Option values keep the option's syslog-ng name (`log-iw-size`, `keep-hostname`) so that code,
//! docs and configs can be searched for the same word. Spans point at the user's files so that
//! run-time errors (a bind failure, a TLS error) can name the configuration line too.

use crate::preprocess::Version;
use crate::schema::Context;
use crate::source_map::{line_col, FileSpan, SourceFile};

#[derive(Debug, Default)]
pub struct Config {
    /// The declared `@version` (3.38 when none was given).
    pub version: Option<Version>,
    pub options: Vec<OptionValue>,
    pub sources: Vec<Object>,
    pub destinations: Vec<Object>,
    pub parsers: Vec<Object>,
    pub rewrites: Vec<Object>,
    pub filters: Vec<FilterObject>,
    pub templates: Vec<Template>,
    pub template_functions: Vec<Template>,
    pub log_paths: Vec<LogPath>,
    /// The files read, by [`FileSpan::file`], for naming locations at run time.
    pub files: Vec<SourceFile>,
}

impl Config {
    /// `file:line:column` of `span`, as syslog-ng's `location=` shows it.
    pub fn location(&self, span: &FileSpan) -> String {
        match self.files.get(span.file as usize) {
            Some(f) => {
                let (line, col) = line_col(&f.text, span.start);
                format!("{}:{line}:{col}", f.name)
            }
            None => String::from("<unknown>"),
        }
    }
}

/// A source, destination, parser or rewrite object: a list of drivers (and embedded forks).
#[derive(Debug)]
pub struct Object {
    pub context: Context,
    pub name: String,
    /// Anonymous objects (defined inline in a log path) get syslog-ng style names `#anon-source0`.
    pub anonymous: bool,
    pub drivers: Vec<Driver>,
    /// Embedded `log {}` / `channel {}` paths, each with the number of drivers written before
    /// it: in a parser or rewrite object they run in sequence with the drivers, in that order.
    pub forks: Vec<(usize, LogPath)>,
    pub span: FileSpan,
}

#[derive(Debug, Clone)]
pub struct Driver {
    /// The driver's canonical name from the option tables (`unix-stream`, `kv-parser`, `set`).
    pub name: &'static str,
    pub positional: Vec<Value>,
    pub options: Vec<OptionValue>,
    pub span: FileSpan,
}

impl Driver {
    /// The value of option `name` (canonical form), if it was given.
    pub fn option(&self, name: &str) -> Option<&Value> {
        self.note(name);
        self.options.iter().rev().find(|o| o.name == name).map(|o| &o.value)
    }

    /// Records that the code building this driver asked for option `name` (see [`record_reads`]).
    pub fn note(&self, name: &str) {
        note_read(Some(&self.span), name);
    }
}

/// One option asked for while [`record_reads`] ran: the driver's span (`None`: a global option)
/// and the option's name (`disk-buffer.dir` for a nested one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OptionRead {
    pub driver: Option<(u32, usize)>,
    pub name: String,
}

thread_local! {
    static READS: std::cell::RefCell<Option<Vec<OptionRead>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` and returns, with its result, every option its code asked the IR for on this thread.
/// The check that every accepted option is either used or warned about relies on it; outside
/// of it, noting a read costs one thread-local test.
pub fn record_reads<R>(f: impl FnOnce() -> R) -> (R, Vec<OptionRead>) {
    let outer = READS.with(|r| r.borrow_mut().replace(Vec::new()));
    let result = f();
    let reads = READS.with(|r| std::mem::replace(&mut *r.borrow_mut(), outer)).unwrap_or_default();
    (result, reads)
}

/// Records a read of option `name` of the driver at `driver` (`None`: a global option).
pub fn note_read(driver: Option<&FileSpan>, name: &str) {
    READS.with(|r| {
        if let Some(reads) = r.borrow_mut().as_mut() {
            reads.push(OptionRead { driver: driver.map(|s| (s.file, s.start)), name: name.to_string() });
        }
    });
}

#[derive(Debug, Clone)]
pub struct OptionValue {
    pub name: &'static str,
    pub value: Value,
    pub span: FileSpan,
}

#[derive(Debug, Clone)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// A nested option group (`tls(...)`, `disk-buffer(...)`).
    Group(Vec<OptionValue>),
    Filter(Box<Filter>),
    /// Arguments kept as written, for options checked only at run time.
    Raw(String),
}

/// `filter NAME { ... };` or an inline filter.
#[derive(Debug, Clone)]
pub struct FilterObject {
    pub name: String,
    pub anonymous: bool,
    pub expr: Filter,
    pub span: FileSpan,
}

#[derive(Debug, Clone)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `level(...)`, `program("re")`, `match("re" value("X"))`, ...
    Function {
        name: &'static str,
        args: Vec<Value>,
        options: Vec<OptionValue>,
        span: FileSpan,
    },
    /// `filter(NAME)`.
    Reference {
        name: String,
        span: FileSpan,
    },
    Compare(Box<Comparison>),
}

/// `lhs OP rhs`, each side a template with an optional type hint (`int("$PID")`).
#[derive(Debug, Clone)]
pub struct Comparison {
    pub lhs: String,
    pub lhs_type: Option<String>,
    pub op: String,
    pub rhs: String,
    pub rhs_type: Option<String>,
    pub span: FileSpan,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub text: String,
    pub escape: bool,
    pub span: FileSpan,
}

/// A log path: its elements in order, its forks and flags.
#[derive(Debug, Default)]
pub struct LogPath {
    pub elements: Vec<LogElement>,
    pub flags: LogFlags,
    pub span: Option<FileSpan>,
}

#[derive(Debug)]
pub enum LogElement {
    /// A reference to a named object (inline objects are named `#anon-...`).
    Object {
        context: Context,
        name: String,
        span: FileSpan,
    },
    Conditional {
        branches: Vec<(Option<Filter>, LogPath)>,
        otherwise: Option<LogPath>,
    },
    Junction(Vec<LogPath>),
    Fork(LogPath),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LogFlags {
    pub final_: bool,
    pub fallback: bool,
    pub catchall: bool,
    pub flow_control: bool,
    pub drop_unmatched: bool,
}

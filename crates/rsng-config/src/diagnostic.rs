//! Configuration diagnostics, rendered with miette.
//!
//! Every problem found while reading a configuration becomes one [`Diagnostic`]: a stable code
//! (`rsng::config::<what>`, see [`codes`]), a lowercase message that stands alone, a primary label
//! on the smallest span that shows the problem, optional secondary labels, and a `help` line that
//! proposes a fix. Spans are already resolved to the file the user wrote, so the rendered report
//! shows `file:line:col` and the snippet, and names the include or block sites that led there.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, Severity, SourceCode};

use crate::source_map::{ExpansionKind, FileSpan, SourceMap};

/// Diagnostic codes. Each is used for one kind of problem and never renamed.
pub mod codes {
    pub const SYNTAX: &str = "rsng::config::syntax";
    pub const LEXICAL: &str = "rsng::config::lexical";
    pub const PRAGMA: &str = "rsng::config::pragma";
    pub const VERSION: &str = "rsng::config::version";
    pub const VERSION_MISSING: &str = "rsng::config::version_missing";
    pub const INCLUDE: &str = "rsng::config::include";
    pub const INCLUDE_DEPTH: &str = "rsng::config::include_depth";
    pub const BACKTICK: &str = "rsng::config::backtick";
    pub const DEFINE: &str = "rsng::config::define";
    pub const MODULE: &str = "rsng::config::module";
    pub const REQUIRES: &str = "rsng::config::requires";
    pub const BLOCK_DEFINITION: &str = "rsng::config::block_definition";
    pub const BLOCK_ARGUMENT: &str = "rsng::config::block_argument";
    pub const GENERATOR: &str = "rsng::config::generator";
    pub const NESTING: &str = "rsng::config::nesting";
    pub const UNKNOWN_DRIVER: &str = "rsng::config::unknown_driver";
    pub const UNSUPPORTED_DRIVER: &str = "rsng::config::unsupported_driver";
    pub const UNKNOWN_OPTION: &str = "rsng::config::unknown_option";
    pub const OBSOLETE_OPTION: &str = "rsng::config::obsolete_option";
    pub const IGNORED_OPTION: &str = "rsng::config::ignored_option";
    pub const INVALID_VALUE: &str = "rsng::config::invalid_value";
    pub const MISSING_VALUE: &str = "rsng::config::missing_value";
    pub const FILE_NOT_FOUND: &str = "rsng::config::file_not_found";
    pub const UNKNOWN_USER: &str = "rsng::config::unknown_user";
    pub const DUPLICATE_OBJECT: &str = "rsng::config::duplicate_object";
    pub const UNDEFINED_REFERENCE: &str = "rsng::config::undefined_reference";
    pub const WRONG_KIND: &str = "rsng::config::wrong_kind";
    pub const TEMPLATE: &str = "rsng::config::template";
    pub const FILTER: &str = "rsng::config::filter";
    pub const REGEX: &str = "rsng::config::regex";
    pub const UNKNOWN_FLAG: &str = "rsng::config::unknown_flag";
    pub const CONFIG_FILE: &str = "rsng::config::config_file";
}

/// A secondary label: another span that contributed to the problem.
#[derive(Debug, Clone)]
pub struct Note {
    pub span: FileSpan,
    pub label: String,
}

/// One problem in a configuration.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// `None` for problems that belong to no place (a missing configuration file).
    pub span: Option<FileSpan>,
    pub label: String,
    pub notes: Vec<Note>,
    pub help: Option<String>,
    /// Innermost first: include and block sites that led to `span`.
    pub chain: Vec<(ExpansionKind, FileSpan)>,
    /// Where the problem stands in reading order: (class, offset in the expanded text).
    /// Reports are sorted by it, so the first one printed is the first a reader meets, as in
    /// syslog-ng; class 1 holds checks syslog-ng makes only at start-up (references).
    pub order: (u8, usize),
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: String::new(),
            notes: Vec::new(),
            help: None,
            chain: Vec::new(),
            order: (0, usize::MAX),
        }
    }

    /// Sets the reading-order position (see [`Diagnostic::order`]).
    pub fn ordered(mut self, class: u8, offset: usize) -> Self {
        self.order = (class, offset);
        self
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, span: FileSpan, label: impl Into<String>) -> Self {
        self.span = Some(span);
        self.label = label.into();
        self
    }

    pub fn with_chain(mut self, chain: Vec<(ExpansionKind, FileSpan)>) -> Self {
        self.chain = chain;
        self
    }

    pub fn note(mut self, span: FileSpan, label: impl Into<String>) -> Self {
        self.notes.push(Note { span, label: label.into() });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Error)
    }
}

/// A diagnostic bound to the text it points into, ready for miette's renderers.
#[derive(Debug)]
pub struct Report {
    diag: Diagnostic,
    source: Option<NamedSource<Arc<str>>>,
    /// `file:line:col` of the primary span, as printed in the header.
    pub location: Option<Location>,
    related: Vec<Report>,
}

/// A position as shown to users: file name, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl Report {
    pub fn new(mut diag: Diagnostic, map: &SourceMap) -> Self {
        let (source, location) = match diag.span.as_mut() {
            Some(span) => {
                let file = map.file(span.file);
                let (line, column) = map.line_col(span.file, span.start);
                let mut text = file.text.clone();
                if span.start >= text.len() {
                    // A span at the very end of a file gets no visible label: render the end
                    // of file as one blank character after the text.
                    span.start = text.len();
                    span.end = text.len() + 1;
                    text = Arc::from(format!("{text} "));
                }
                (
                    Some(NamedSource::new(file.name.clone(), text)),
                    Some(Location { file: file.name.clone(), line, column }),
                )
            }
            None => (None, None),
        };
        // The snippet renderer cannot draw columns beyond 65,535: show such errors without one.
        let source = if location.as_ref().is_some_and(|l| l.column > 60_000) { None } else { source };
        // Secondary labels in other files (block definition, include site) become related
        // reports of their own so each shows its own snippet; a deep chain (a block or include
        // that recurses) shows its innermost sites only.
        const MAX_CHAIN: usize = 4;
        let mut related = Vec::new();
        let mut chain = diag.chain.clone();
        chain.dedup();
        for (kind, site) in chain.iter().take(MAX_CHAIN) {
            let what = match kind {
                ExpansionKind::Include => "included from here".to_string(),
                ExpansionKind::Block { context, name } => {
                    format!("in the expansion of block {context} `{name}()` referenced here")
                }
                ExpansionKind::Generator { context, name } => {
                    format!("in the output of {context} generator `{name}()` referenced here")
                }
            };
            let note =
                Diagnostic { severity: Severity::Advice, ..Diagnostic::error(diag.code, what.clone()).at(*site, what) };
            related.push(Report::new(note, map));
        }
        if chain.len() > MAX_CHAIN {
            let outer = chain.len() - MAX_CHAIN;
            let mut note = Diagnostic::error(diag.code, format!("... and {outer} more include or block sites"));
            note.severity = Severity::Advice;
            related.push(Report::new(note, map));
        }
        for note in &diag.notes {
            if Some(note.span.file) != diag.span.map(|s| s.file) {
                let n = Diagnostic {
                    severity: Severity::Advice,
                    ..Diagnostic::error(diag.code, note.label.clone()).at(note.span, note.label.clone())
                };
                related.push(Report::new(n, map));
            }
        }
        Report { diag, source, location, related }
    }

    pub fn diagnostic(&self) -> &Diagnostic {
        &self.diag
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diag.code))
    }
    fn severity(&self) -> Option<Severity> {
        Some(self.diag.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let span = self.diag.span?;
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            (!self.diag.label.is_empty()).then(|| self.diag.label.clone()),
            (span.start, span.end - span.start),
        )];
        for note in &self.diag.notes {
            if note.span.file == span.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(note.label.clone()),
                    (note.span.start, note.span.end - note.span.start),
                ));
            }
        }
        Some(Box::new(labels.into_iter()))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)))
    }
}

/// Everything found wrong with a configuration: at least one error, plus warnings.
#[derive(Debug)]
pub struct ConfigError {
    pub reports: Vec<Report>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.reports.iter().filter(|r| r.diag.is_error()).count();
        write!(f, "configuration has {errors} error{}", if errors == 1 { "" } else { "s" })
    }
}

impl std::error::Error for ConfigError {}

/// Collects diagnostics while a configuration is read; spans are resolved as they arrive.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, diag: Diagnostic) {
        self.items.push(diag);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Drops the diagnostics pushed after the first `len`.
    pub fn truncate(&mut self, len: usize) {
        self.items.truncate(len);
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn into_reports(mut self, map: &SourceMap) -> Vec<Report> {
        self.items.sort_by_key(|d| d.order);
        self.items.into_iter().map(|d| Report::new(d, map)).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }
}

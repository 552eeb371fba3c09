//! The preprocessor: pragmas, includes, backticks and `block` expansion.
//!
//! syslog-ng does this work inside its lexer, one physical line at a time; rsng does the same so
//! that the odd corners behave alike (a `@define` affects only later lines, block bodies are
//! substituted only when instantiated, a block reference is recognised only where an object of
//! its context may stand). The result is one flat text for the grammar plus a [`SourceMap`] that
//! maps every byte back to the file the user wrote.

mod appmodel;
mod backtick;
mod block;
pub mod buf;
mod include;
pub mod pragma;
mod scan;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{codes, Diagnostic, Diagnostics};
use crate::schema::Context;
use crate::source_map::{Expansion, ExpansionId, ExpansionKind, FileId, FileSpan, SourceMap};

use block::BlockDef;
use buf::Buf;

/// The syslog-ng version a configuration declares with `@version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
}

impl Version {
    /// The version whose semantics rsng follows.
    pub const CURRENT: Version = Version { major: 3, minor: 38 };
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Where to look for files and what the environment looks like.
#[derive(Debug, Clone)]
pub struct PreprocessOptions {
    /// Directories searched for relative `@include` paths, in order (syslog-ng's `include-path`).
    pub include_path: Vec<PathBuf>,
    /// Whether `` `NAME` `` may fall back to the process environment.
    pub use_environment: bool,
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        PreprocessOptions {
            // syslog-ng's include path, then rsng's own (its `scl.conf` is also built in, for
            // machines without either).
            include_path: vec![
                PathBuf::from("/etc/syslog-ng"),
                PathBuf::from("/usr/share/syslog-ng/include"),
                PathBuf::from("/usr/share/rsng/include"),
            ],
            use_environment: true,
        }
    }
}

/// The expanded configuration.
#[derive(Debug)]
pub struct Preprocessed {
    /// The flat text the grammar parses (also what `--preprocess-into` writes).
    pub text: String,
    pub map: SourceMap,
    /// The first `@version`, if any, and where it stands.
    pub version: Option<(Version, FileSpan)>,
    /// Whether any `@version` line was read, even an invalid one.
    pub version_seen: bool,
    /// Modules named by `@module`.
    pub modules: Vec<String>,
    /// Offsets in `text` of pragma lines, whose `@` the grammar sees as `#` (a comment).
    pub pragma_offsets: Vec<usize>,
    /// Where in `text` expansion stopped on an error; the text before it is still checked.
    pub failed_at: Option<usize>,
    /// `@define allow-config-dups 1`: later objects replace earlier ones of the same name.
    pub allow_config_dups: bool,
    /// Offsets in `text` just after each top-level `;`: places where the text may be cut into
    /// pieces that parse on their own (used to parse large configurations in parallel).
    pub statement_ends: Vec<usize>,
    /// Text shown by `--preprocess-into` but not parsed (block definitions), by offset in `text`.
    pub display_insertions: Vec<(usize, String)>,
}

impl Preprocessed {
    /// The expanded text as `--preprocess-into` shows it: pragma lines restored.
    pub fn display_text(&self) -> String {
        let mut bytes = self.text.clone().into_bytes();
        for &at in &self.pragma_offsets {
            bytes[at] = b'@';
        }
        let text = String::from_utf8(bytes).expect("only ASCII bytes were swapped");
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (at, insertion) in &self.display_insertions {
            out.push_str(&text[copied..*at]);
            out.push_str(insertion);
            copied = *at;
        }
        out.push_str(&text[copied..]);
        out
    }
}

/// A statement context as the preprocessor tracks it; `None` is any other brace.
type Ctx = Option<Context>;

#[derive(Debug, Clone)]
struct CtxEntry {
    ctx: Ctx,
    parens: usize,
}

/// The last significant token, enough to tell where a statement or item starts.
#[derive(Debug, Clone, PartialEq)]
enum Prev {
    Start,
    Semi,
    Open,
    Close,
    ParenOpen,
    ParenClose,
    Word,
    Other,
}

/// One input on the stack: a file read line by line, or a prepared text (block body,
/// generator output) cut into lines.
struct Frame {
    raw: Option<(FileId, Arc<str>)>,
    raw_pos: usize,
    prepared: Option<Buf>,
    prepared_pos: usize,
    expansion: Option<ExpansionId>,
    /// The current line and the read and emit positions in it.
    line: Buf,
    pos: usize,
    emit_mark: usize,
    end_marker: Option<String>,
    marker_site: Option<FileSpan>,
}

/// A confgen generator registered with `@module confgen`.
#[derive(Debug, Clone)]
struct Generator {
    command: String,
}

/// The maximum depth of nested includes and block expansions (syslog-ng's limit).
const MAX_FRAMES: usize = 256;
/// The maximum nesting of braces and parentheses; deeper input is refused before parsing so the
/// recursive-descent grammar cannot exhaust the stack.
const MAX_NESTING: usize = 200;
/// The largest expanded configuration accepted (guards against exponential block expansion).
const MAX_OUTPUT: usize = 256 << 20;
/// The most block and generator expansions in one configuration; real configurations use
/// hundreds, blocks that reference each other twice over reach millions.
const MAX_EXPANSIONS: usize = 100_000;

pub struct Preprocessor<'a> {
    opts: &'a PreprocessOptions,
    diags: &'a mut Diagnostics,
    map: SourceMap,
    out: String,
    frames: Vec<Frame>,
    ctx: Vec<CtxEntry>,
    prev: Prev,
    /// First word of the current statement or item, normalised.
    item_word: Option<String>,
    in_string: Option<u8>,
    /// Where the string being read opened, for "unterminated string".
    string_opener: Option<FileSpan>,
    /// Block expansions so far: a budget against exponential expansion.
    expansions: usize,
    /// A `@version` pragma was read (valid or not).
    version_seen: bool,
    /// "multiple @version" was said once already.
    warned_versions: bool,
    /// Whether the last word was `and`, `or` or `not` (a filter block may follow).
    last_was_operator: bool,
    /// Lines fetched while reading a block definition or block arguments are not substituted.
    raw_mode: bool,
    emitting: bool,
    globals: HashMap<String, String>,
    blocks: HashMap<(Context, String), Arc<BlockDef>>,
    /// `application` definitions so far, in the order `app-parser()` applies them.
    applications: Vec<Arc<appmodel::Application>>,
    generators: HashMap<(Context, String), Generator>,
    version: Option<(Version, FileSpan)>,
    modules: Vec<String>,
    pragma_offsets: Vec<usize>,
    failed: bool,
    failed_at: Option<usize>,
    statement_ends: Vec<usize>,
    display_insertions: Vec<(usize, String)>,
}

/// Expands the configuration in `path`. Problems are pushed to `diags`; the result is `None`
/// when the text cannot be expanded at all.
pub fn preprocess(path: &Path, opts: &PreprocessOptions, diags: &mut Diagnostics) -> Option<Preprocessed> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            diags.push(
                Diagnostic::error(codes::CONFIG_FILE, format!("cannot read configuration file `{}`", path.display()))
                    .help(e.to_string()),
            );
            return None;
        }
    };
    preprocess_text(&path.display().to_string(), Some(path.to_path_buf()), text, opts, diags)
}

/// Expands configuration text that is already in memory.
pub fn preprocess_text(
    name: &str,
    path: Option<PathBuf>,
    text: String,
    opts: &PreprocessOptions,
    diags: &mut Diagnostics,
) -> Option<Preprocessed> {
    let mut pp = Preprocessor::new(opts, diags);
    let file = pp.map.add_file(name.to_string(), path, Arc::from(text));
    pp.push_file(file, None);
    pp.run();
    // On an error, what was read so far is still returned (for --preprocess-into, as syslog-ng).
    Some(pp.finish())
}

impl<'a> Preprocessor<'a> {
    fn new(opts: &'a PreprocessOptions, diags: &'a mut Diagnostics) -> Self {
        let mut globals = HashMap::new();
        for (k, v) in [
            ("syslog-ng-root", "/usr"),
            ("syslog-ng-data", "/usr/share"),
            ("syslog-ng-include", "/usr/share/syslog-ng/include"),
            ("syslog-ng-sysconfdir", "/etc/syslog-ng"),
            ("scl-root", "/usr/share/syslog-ng/include/scl"),
            ("module-path", "/usr/lib/syslog-ng/3.38"),
            ("module-install-dir", "/usr/lib/syslog-ng/3.38"),
        ] {
            globals.insert(normalize(k), v.to_string());
        }
        let include_path = opts.include_path.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":");
        globals.insert(normalize("include-path"), include_path);
        Preprocessor {
            opts,
            diags,
            map: SourceMap::default(),
            out: String::new(),
            frames: Vec::new(),
            ctx: vec![CtxEntry { ctx: Some(Context::Root), parens: 0 }],
            prev: Prev::Start,
            item_word: None,
            in_string: None,
            string_opener: None,
            expansions: 0,
            version_seen: false,
            warned_versions: false,
            last_was_operator: false,
            raw_mode: false,
            emitting: true,
            globals,
            blocks: HashMap::new(),
            applications: Vec::new(),
            generators: HashMap::new(),
            version: None,
            modules: Vec::new(),
            pragma_offsets: Vec::new(),
            failed: false,
            failed_at: None,
            statement_ends: Vec::new(),
            display_insertions: Vec::new(),
        }
    }

    fn finish(self) -> Preprocessed {
        Preprocessed {
            text: self.out,
            map: self.map,
            version: self.version,
            version_seen: self.version_seen,
            modules: self.modules,
            pragma_offsets: self.pragma_offsets,
            failed_at: self.failed_at,
            statement_ends: self.statement_ends,
            display_insertions: self.display_insertions,
            allow_config_dups: self
                .globals
                .get("allow_config_dups")
                .is_some_and(|v| v.trim().parse::<i64>().is_ok_and(|n| n != 0)),
        }
    }

    fn error(&mut self, diag: Diagnostic) {
        let diag = if diag.chain.is_empty() { diag.with_chain(self.chain()) } else { diag };
        let diag = diag.ordered(0, self.out.len());
        self.failed_at.get_or_insert(self.out.len());
        self.diags.push(diag);
        self.failed = true;
    }

    fn warn(&mut self, diag: Diagnostic) {
        let diag = diag.with_chain(self.chain()).ordered(0, self.out.len());
        self.diags.push(diag);
    }

    /// The include and block sites that led to the current frame, innermost first.
    fn chain(&self) -> Vec<(ExpansionKind, FileSpan)> {
        let mut chain = Vec::new();
        let mut next = self.frames.last().and_then(|f| f.expansion);
        while let Some(id) = next {
            let e = &self.map.expansions[id as usize];
            chain.push((e.kind.clone(), e.site));
            next = e.parent;
        }
        chain
    }

    fn current_expansion(&self) -> Option<ExpansionId> {
        self.frames.last().and_then(|f| f.expansion)
    }

    fn push_file(&mut self, file: FileId, expansion: Option<ExpansionId>) {
        let text = self.map.file(file).text.clone();
        self.frames.push(Frame {
            raw: Some((file, text)),
            raw_pos: 0,
            prepared: None,
            prepared_pos: 0,
            expansion,
            line: Buf::default(),
            pos: 0,
            emit_mark: 0,
            end_marker: None,
            marker_site: None,
        });
    }

    fn push_prepared(&mut self, text: Buf, expansion: ExpansionId, start: String, end: String, site: FileSpan) {
        self.emit_synthetic(&start, site);
        self.frames.push(Frame {
            raw: None,
            raw_pos: 0,
            prepared: Some(text),
            prepared_pos: 0,
            expansion: Some(expansion),
            line: Buf::default(),
            pos: 0,
            emit_mark: 0,
            end_marker: Some(end),
            marker_site: Some(site),
        });
    }

    fn frame(&self) -> &Frame {
        self.frames.last().expect("a frame is active")
    }

    fn frame_mut(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a frame is active")
    }

    /// Copies `line[from..to]` of the current frame to the output with its provenance.
    fn emit(&mut self, from: usize, to: usize) {
        if !self.emitting || from >= to {
            return;
        }
        let expansion = self.current_expansion();
        let frame = self.frames.last().expect("a frame is active");
        for p in &frame.line.pieces {
            let s = p.start.max(from);
            let e = p.end.min(to);
            if s >= e {
                continue;
            }
            let out_start = self.out.len();
            self.out.push_str(&frame.line.text[s..e]);
            if p.verbatim {
                let off = s - p.start;
                let src = FileSpan { file: p.src.file, start: p.src.start + off, end: p.src.start + off + (e - s) };
                self.map.push_verbatim(out_start, src, expansion);
            } else {
                self.map.push_substituted(out_start, p.src, expansion);
            }
        }
    }

    fn emit_synthetic(&mut self, text: &str, site: FileSpan) {
        if !self.emitting {
            return;
        }
        let out_start = self.out.len();
        self.out.push_str(text);
        let expansion = self.current_expansion();
        self.map.push_substituted(out_start, site, expansion);
    }

    /// Emits what is left of the current line.
    fn flush_line(&mut self) {
        let (mark, len) = {
            let f = self.frame();
            (f.emit_mark, f.line.text.len())
        };
        self.emit(mark, len);
        let f = self.frame_mut();
        f.emit_mark = len;
    }

    /// Reads the next physical line of the current frame into its line buffer, substituting
    /// backticks unless in raw mode. Returns false at the end of the frame.
    fn next_line(&mut self) -> bool {
        let raw_mode = self.raw_mode;
        let frame = self.frames.last_mut().expect("a frame is active");
        let mut line = Buf::default();
        if let Some((file, text)) = &frame.raw {
            if frame.raw_pos >= text.len() {
                return false;
            }
            let start = frame.raw_pos;
            let end = text[start..].find('\n').map_or(text.len(), |p| start + p + 1);
            line.push_verbatim(&text[start..end], FileSpan { file: *file, start, end });
            frame.raw_pos = end;
            if !raw_mode {
                let mut substituted = Buf::default();
                let globals = &self.globals;
                let env = self.opts.use_environment;
                let mut lookup = |name: &str| lookup_global(globals, env, name);
                if let Err(e) = backtick::substitute(&line, &mut lookup, &mut substituted) {
                    let span = line.span(e.at, e.at + 1);
                    frame.line = line;
                    frame.pos = frame.line.text.len();
                    frame.emit_mark = frame.pos;
                    let mut d =
                        Diagnostic::error(codes::BACKTICK, format!("error in backtick substitution: {}", e.message));
                    if let Some(span) = span {
                        d = d.at(span, "here");
                    }
                    self.error(d);
                    return true;
                }
                line = substituted;
            }
        } else if let Some(text) = &frame.prepared {
            if frame.prepared_pos >= text.text.len() {
                return false;
            }
            let start = frame.prepared_pos;
            let end = text.text[start..].find('\n').map_or(text.text.len(), |p| start + p + 1);
            line.push_slice(text, start, end);
            frame.prepared_pos = end;
        } else {
            return false;
        }
        frame.line = line;
        frame.pos = 0;
        frame.emit_mark = 0;
        true
    }

    /// Pops the finished frame and emits its end marker.
    fn pop_frame(&mut self) {
        if let (Some(_), Some(opener)) = (self.in_string, self.string_opener) {
            // A string cannot run past the end of the file (or block body) it started in.
            self.in_string = None;
            self.error(
                Diagnostic::error(codes::LEXICAL, "unterminated string")
                    .at(opener, "this string is never closed")
                    .help("add the closing quote; a string may span lines, but not files"),
            );
        }
        let frame = self.frames.pop().expect("a frame is active");
        if let (Some(end), Some(site)) = (frame.end_marker, frame.marker_site) {
            self.emit_synthetic(&end, site);
        }
    }

    fn run(&mut self) {
        while !self.frames.is_empty() && !self.failed {
            if self.out.len() > MAX_OUTPUT {
                let site = self.frame().line.span(0, 0);
                let mut d = Diagnostic::error(codes::NESTING, "configuration expands to more than 256 MiB");
                if let Some(site) = site {
                    d = d.at(site, "while expanding this");
                }
                self.error(d);
                break;
            }
            let at_end = {
                let f = self.frame();
                f.pos >= f.line.text.len()
            };
            if at_end {
                self.flush_line();
                if !self.next_line() {
                    self.pop_frame();
                    continue;
                }
                if self.in_string.is_none() && self.frame().line.text.starts_with('@') {
                    self.pragma();
                }
                continue;
            }
            self.step();
        }
    }

    /// A define (or environment variable) by name, as a backtick outside a block sees it.
    fn lookup_global(&self, name: &str) -> Option<String> {
        lookup_global(&self.globals, self.opts.use_environment, name)
    }

    /// The span of `line[start..end]` of the current frame.
    fn span(&self, start: usize, end: usize) -> FileSpan {
        let f = self.frame();
        f.line.span(start, end).unwrap_or(FileSpan { file: 0, start: 0, end: 0 })
    }

    fn define(&mut self, name: &str, value: String) {
        self.globals.insert(normalize(name), value);
    }
}

/// Stores names the way syslog-ng does: `-` becomes `_`.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

fn lookup_global(globals: &HashMap<String, String>, env: bool, name: &str) -> Option<String> {
    globals.get(name).or_else(|| globals.get(&normalize(name))).cloned().or_else(|| {
        if env {
            std::env::var(name).ok()
        } else {
            None
        }
    })
}

fn expansion_kind(context: Context, name: &str, generator: bool) -> ExpansionKind {
    if generator {
        ExpansionKind::Generator { context: context.name().to_string(), name: name.to_string() }
    } else {
        ExpansionKind::Block { context: context.name().to_string(), name: name.to_string() }
    }
}

impl Preprocessor<'_> {
    fn add_expansion(&mut self, kind: ExpansionKind, site: FileSpan) -> ExpansionId {
        let parent = self.current_expansion();
        self.map.add_expansion(Expansion { kind, site, parent })
    }
}

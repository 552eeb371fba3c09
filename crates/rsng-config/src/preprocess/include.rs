//! Pragma lines: `@version`, `@include`, `@define`, `@module`, `@requires`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::pragma::{tokenize, PTok, Spanned};
use super::{block::context_by_name, normalize, Generator, Preprocessor, Version, MAX_FRAMES};
use crate::diagnostic::{codes, Diagnostic};
use crate::source_map::{Expansion, ExpansionKind, FileSpan};

/// Modules that a syslog-ng 3.38 installation with Debian's syslog-ng-core provides and whose
/// features rsng covers or recognises; `@requires` of anything else fails as it does there.
const AVAILABLE_MODULES: &[&str] = &[
    "affile",
    "afprog",
    "afsocket",
    "afuser",
    "appmodel",
    "basicfuncs",
    "cef",
    "confgen",
    "cryptofuncs",
    "csvparser",
    "dbparser",
    "disk-buffer",
    "hook-commands",
    // Debian's syslog-ng-mod-http.
    "http",
    "json-plugin",
    // Debian's syslog-ng-mod-rdkafka (kafka-c()).
    "kafka",
    "kvformat",
    "linux-kmsg-format",
    "map-value-pairs",
    "pacctformat",
    "pseudofile",
    "rate-limit-filter",
    // Debian's syslog-ng-mod-redis.
    "redis",
    "regexp-parser",
    "sdjournal",
    "syslogformat",
    "system-source",
    "tags-parser",
    "tfgetent",
    "timestamp",
    "syslog-ng",
];

/// rsng's own SCL, used when `scl.conf` is not found along the include path.
const OWN_SCL: &str = include_str!("../../scl/scl.conf");

fn module_available(name: &str) -> bool {
    AVAILABLE_MODULES.iter().any(|m| crate::schema::same_name(m, name))
}

impl Preprocessor<'_> {
    /// Handles the pragma on the current line (which starts with `@`).
    pub(super) fn pragma(&mut self) {
        // Join continuation lines first.
        let mut line = self.frame().line.clone();
        let first_len = line.text.len();
        // A pragma continues on the next line after a backslash, or while a string is open.
        while line.text.ends_with("\\\n") || line.text.ends_with("\\\r\n") || open_quote(&line.text) {
            if !self.next_line() {
                break;
            }
            let next = self.frame().line.clone();
            line.push_slice(&next, 0, next.text.len());
        }
        {
            let f = self.frame_mut();
            f.line = line.clone();
            f.pos = 0;
            f.emit_mark = 0;
        }
        // The grammar sees the pragma line as a comment; `--preprocess-into` restores the `@`.
        if self.emitting {
            self.pragma_offsets.push(self.out.len());
            let at = self.span(0, 1);
            self.emit_synthetic("#", at);
            self.emit(1, first_len);
        }
        {
            let f = self.frame_mut();
            f.pos = f.line.text.len();
            f.emit_mark = f.pos;
        }
        let toks = match tokenize(&line.text[1..], 1) {
            Ok(t) => t,
            Err((at, msg)) => {
                let span = self.span(at, at + 1);
                self.error(Diagnostic::error(codes::PRAGMA, msg).at(span, "in this pragma"));
                return;
            }
        };
        let at_span = self.span(0, 1);
        let Some(first) = toks.first() else {
            self.error(
                Diagnostic::error(codes::PRAGMA, "expected a pragma name after `@`").at(at_span, "empty pragma"),
            );
            return;
        };
        let PTok::Word(name) = &first.tok else {
            self.error(
                Diagnostic::error(codes::PRAGMA, "expected a pragma name after `@`").at(at_span, "not a pragma"),
            );
            return;
        };
        let name_span = self.span(first.start, first.end);
        match name.as_str() {
            "version" => self.pragma_version(&toks[1..], at_span),
            "include" => self.pragma_include(&toks[1..], name_span),
            "define" => self.pragma_define(&toks[1..], name_span),
            "module" => self.pragma_module(&toks[1..], name_span),
            "requires" => self.pragma_requires(&toks[1..], name_span),
            other => self.error(
                Diagnostic::error(codes::PRAGMA, format!("unknown pragma `@{other}`"))
                    .at(name_span, "not a pragma")
                    .help("pragmas are @version, @include, @define, @module and @requires"),
            ),
        }
    }

    fn tok_span(&self, t: &Spanned) -> FileSpan {
        self.span(t.start, t.end)
    }

    fn extra_tokens(&mut self, rest: &[Spanned], what: &str) -> bool {
        if let Some(t) = rest.first() {
            let span = self.tok_span(t);
            self.error(
                Diagnostic::error(codes::PRAGMA, format!("unexpected text after {what}"))
                    .at(span, "expected the end of the line"),
            );
            return true;
        }
        false
    }

    fn pragma_version(&mut self, toks: &[Spanned], at_span: FileSpan) {
        self.version_seen = true;
        let Some(colon) = toks.first() else {
            self.error(
                Diagnostic::error(codes::VERSION, "expected `:` after `@version`").at(at_span, "incomplete @version"),
            );
            return;
        };
        if colon.tok != PTok::Colon {
            let span = self.tok_span(colon);
            self.error(
                Diagnostic::error(codes::VERSION, "expected `:` after `@version`")
                    .at(span, "expected `:` before this")
                    .help("write `@version: 3.38`"),
            );
            return;
        }
        let Some(value) = toks.get(1) else {
            self.error(
                Diagnostic::error(codes::VERSION, "expected a version number after `@version:`")
                    .at(at_span, "no version given"),
            );
            return;
        };
        let text = match &value.tok {
            PTok::Word(w) | PTok::Str(w) => w.clone(),
            _ => String::new(),
        };
        let vspan = self.tok_span(value);
        if self.extra_tokens(&toks[2..], "the version") {
            return;
        }
        let parsed = if text == "current" { Some(Version::CURRENT) } else { parse_version(&text) };
        let Some(version) = parsed else {
            self.error(
                Diagnostic::error(codes::VERSION, format!("invalid version `{text}`"))
                    .at(vspan, "expected MAJOR.MINOR")
                    .help("write the version as `@version: 3.38` or `@version: current`"),
            );
            return;
        };
        if self.version.is_some() {
            if std::mem::replace(&mut self.warned_versions, true) {
                return;
            }
            self.warn(
                Diagnostic::warning(codes::VERSION, "multiple @version directives; only the first one is considered")
                    .at(vspan, "ignored"),
            );
            return;
        }
        if version.major < 3 {
            self.error(
                Diagnostic::error(codes::VERSION, format!("configuration version {version} is not supported"))
                    .at(vspan, "compatibility with configurations below 3.0 was dropped")
                    .help("update the configuration to the 3.x syntax and declare `@version: 3.38`"),
            );
            return;
        }
        if version < (Version { major: 3, minor: 35 }) {
            self.warn(
                Diagnostic::warning(codes::VERSION, format!("configuration file format {version} is too old"))
                    .at(vspan, "running in compatibility mode")
                    .help("update the configuration and set `@version: 3.38`"),
            );
        } else if version.major >= 4 {
            self.warn(
                Diagnostic::warning(codes::VERSION, format!("configuration declares syslog-ng {version}"))
                    .at(vspan, "4.x behaviour (type-aware comparisons) is enabled"),
            );
        } else if version > Version::CURRENT {
            self.warn(
                Diagnostic::warning(codes::VERSION, format!("configuration file format {version} is newer than 3.38"))
                    .at(vspan, "read as 3.38"),
            );
        }
        self.version = Some((version, vspan));
    }

    fn pragma_define(&mut self, toks: &[Spanned], name_span: FileSpan) {
        let (Some(name), Some(value)) = (toks.first(), toks.get(1)) else {
            self.error(
                Diagnostic::error(codes::DEFINE, "`@define` needs a name and a value")
                    .at(name_span, "incomplete @define"),
            );
            return;
        };
        let PTok::Word(name) = &name.tok else {
            let span = self.tok_span(name);
            self.error(Diagnostic::error(codes::DEFINE, "expected a name after `@define`").at(span, "not a name"));
            return;
        };
        let value = match &value.tok {
            PTok::Word(w) | PTok::Str(w) => w.clone(),
            _ => {
                let span = self.tok_span(value);
                self.error(
                    Diagnostic::error(codes::DEFINE, "expected one value after the name").at(span, "not a value"),
                );
                return;
            }
        };
        if self.extra_tokens(&toks[2..], "the value of @define") {
            return;
        }
        self.define(name, value);
    }

    fn pragma_module(&mut self, toks: &[Spanned], name_span: FileSpan) {
        let Some(Spanned { tok: PTok::Word(module), start, end }) = toks.first() else {
            self.error(
                Diagnostic::error(codes::MODULE, "expected a module name after `@module`")
                    .at(name_span, "incomplete @module"),
            );
            return;
        };
        let span = self.span(*start, *end);
        if !module_available(module) {
            self.error(
                Diagnostic::error(codes::MODULE, format!("module `{module}` is not available"))
                    .at(span, "no such module")
                    .help("rsng provides the modules of syslog-ng's core package; see docs/compatibility.md"),
            );
            return;
        }
        self.modules.push(module.clone());
        // `key(value)` arguments.
        let mut args: Vec<(String, String)> = Vec::new();
        let mut i = 1;
        while i < toks.len() {
            match (
                &toks[i].tok,
                toks.get(i + 1).map(|t| &t.tok),
                toks.get(i + 2).map(|t| &t.tok),
                toks.get(i + 3).map(|t| &t.tok),
            ) {
                (PTok::Word(k), Some(PTok::Open), Some(PTok::Word(v) | PTok::Str(v)), Some(PTok::Close)) => {
                    args.push((normalize(k), v.clone()));
                    i += 4;
                }
                _ => {
                    let s = self.tok_span(&toks[i]);
                    self.error(
                        Diagnostic::error(codes::MODULE, "module arguments must be written as `name(value)`")
                            .at(s, "here"),
                    );
                    return;
                }
            }
        }
        if module == "confgen" {
            let get = |k: &str| args.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let (Some(ctx), Some(name), Some(exec)) = (get("context"), get("name"), get("exec")) else {
                self.error(
                    Diagnostic::error(codes::MODULE, "`@module confgen` needs context(), name() and exec()")
                        .at(span, "incomplete"),
                );
                return;
            };
            let Some(context) = context_by_name(&ctx) else {
                self.error(
                    Diagnostic::error(codes::MODULE, format!("unknown generator context `{ctx}`")).at(span, "here"),
                );
                return;
            };
            self.generators.insert((context, normalize(&name)), Generator { command: exec });
        }
    }

    fn pragma_requires(&mut self, toks: &[Spanned], name_span: FileSpan) {
        let Some(Spanned { tok: PTok::Word(module), start, end }) = toks.first() else {
            self.error(
                Diagnostic::error(codes::REQUIRES, "expected a module name after `@requires`")
                    .at(name_span, "incomplete"),
            );
            return;
        };
        if module_available(module) {
            return;
        }
        let span = self.span(*start, *end);
        let message = toks.get(1).and_then(|t| match &t.tok {
            PTok::Str(s) => Some(s.clone()),
            _ => None,
        });
        let nested = self.frames.len() > 1;
        if nested && message.is_none() {
            // syslog-ng skips the rest of an included file whose requirement is missing.
            let f = self.frame_mut();
            f.raw_pos = f.raw.as_ref().map_or(0, |(_, t)| t.len());
            f.prepared_pos = f.prepared.as_ref().map_or(0, |t| t.text.len());
            return;
        }
        let mut d = Diagnostic::error(codes::REQUIRES, format!("required module `{module}` is not available"))
            .at(span, "required here");
        if let Some(m) = message {
            d = d.help(m);
        }
        self.error(d);
    }

    fn pragma_include(&mut self, toks: &[Spanned], name_span: FileSpan) {
        let Some(arg) = toks.first() else {
            self.error(
                Diagnostic::error(codes::INCLUDE, "expected a file name after `@include`")
                    .at(name_span, "incomplete @include"),
            );
            return;
        };
        let target = match &arg.tok {
            PTok::Str(s) | PTok::Word(s) => s.clone(),
            _ => {
                let span = self.tok_span(arg);
                self.error(
                    Diagnostic::error(codes::INCLUDE, "expected a file name after `@include`")
                        .at(span, "not a file name"),
                );
                return;
            }
        };
        let site = self.tok_span(arg);
        if self.extra_tokens(&toks[1..], "the included file name") {
            return;
        }
        if self.frames.len() >= MAX_FRAMES {
            self.error(
                Diagnostic::error(codes::INCLUDE_DEPTH, "include file depth is too deep")
                    .at(site, "while including this"),
            );
            return;
        }
        let include_path: Vec<PathBuf> = self
            .lookup_global("include-path")
            .unwrap_or_default()
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        let files = match resolve(&target, &include_path) {
            Ok(files) => files,
            Err(()) if Path::new(&target).file_name().is_some_and(|f| f == "scl.conf") => {
                vec![Included::Own]
            }
            Err(()) => {
                let searched = include_path.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":");
                self.error(
                    Diagnostic::error(codes::INCLUDE, format!("include file or directory `{target}` not found"))
                        .at(site, "not found")
                        .help(format!("relative paths are searched along the include path: {searched}")),
                );
                return;
            }
        };
        let parent = self.current_expansion();
        // Push in reverse so the first file is read first.
        for inc in files.into_iter().rev() {
            let (name, path, text) = match inc {
                Included::Own => ("<rsng>/scl.conf".to_string(), None, OWN_SCL.to_string()),
                Included::File(path) => match std::fs::read(&path) {
                    Ok(bytes) => (path.display().to_string(), Some(path), String::from_utf8_lossy(&bytes).into_owned()),
                    Err(e) => {
                        self.error(
                            Diagnostic::error(
                                codes::INCLUDE,
                                format!("cannot read included file `{}`", path.display()),
                            )
                            .at(site, "included here")
                            .help(e.to_string()),
                        );
                        return;
                    }
                },
            };
            let file = self.map.add_file(name, path, Arc::from(text));
            let expansion = self.map.add_expansion(Expansion { kind: ExpansionKind::Include, site, parent });
            self.push_file(file, Some(expansion));
        }
    }
}

/// Whether a pragma line ends inside a quoted string.
fn open_quote(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (None, b'#') => return false,
            (None, q @ (b'"' | b'\'')) => quote = Some(q),
            (Some(b'"'), b'\\') => i += 1,
            (Some(q), b) if b == q => quote = None,
            _ => {}
        }
        i += 1;
    }
    quote.is_some()
}

enum Included {
    File(PathBuf),
    Own,
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Resolves an `@include` argument the way syslog-ng does; `Err` when a plain file or directory
/// is missing (a glob matching nothing is not an error).
fn resolve(target: &str, include_path: &[PathBuf]) -> Result<Vec<Included>, ()> {
    let candidates: Vec<PathBuf> = if Path::new(target).is_absolute() {
        vec![PathBuf::from(target)]
    } else {
        include_path.iter().map(|dir| dir.join(target)).collect()
    };
    if has_glob(target) {
        let mut found = Vec::new();
        for pattern in &candidates {
            // POSIX glob(): `*` does not match a leading dot.
            let options = glob::MatchOptions { require_literal_leading_dot: true, ..Default::default() };
            if let Ok(paths) = glob::glob_with(&pattern.to_string_lossy(), options) {
                found.extend(paths.flatten().filter(|p| p.is_file()));
            }
        }
        found.sort();
        return Ok(found.into_iter().map(Included::File).collect());
    }
    for candidate in candidates {
        if candidate.is_dir() {
            let mut names: Vec<PathBuf> = std::fs::read_dir(&candidate)
                .map_err(|_| ())?
                .flatten()
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    !name.starts_with('.')
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                        && e.path().is_file()
                })
                .map(|e| e.path())
                .collect();
            names.sort();
            return Ok(names.into_iter().map(Included::File).collect());
        }
        if candidate.is_file() {
            return Ok(vec![Included::File(candidate)]);
        }
    }
    Err(())
}

/// Parses `MAJOR.MINOR` as syslog-ng does (at most 7 characters, no sign).
fn parse_version(text: &str) -> Option<Version> {
    if text.len() > 7 {
        return None;
    }
    let (major, minor) = text.split_once('.')?;
    if major.is_empty()
        || minor.is_empty()
        || !major.bytes().all(|b| b.is_ascii_digit())
        || !minor.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(Version { major: major.parse().ok()?, minor: minor.parse().ok()? })
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.major, self.minor).cmp(&(other.major, other.minor))
    }
}

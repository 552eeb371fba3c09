//! The syslog-ng configuration language front end of rsng.
//!
//! Reading a configuration runs in three stages, each in its own module:
//!
//! 1. [`preprocess`]: pragmas (`@version`, `@include`, `@define`, `@module`, `@requires`),
//!    backtick substitution and `block` expansion, producing one flat text and a
//!    [`source_map::SourceMap`] back to the files the user wrote;
//! 2. [`syntax`]: the pest grammar (`grammar/syslog-ng.pest`) parses that text into an AST;
//! 3. [`lower`]: every object, option and value is checked against the [`schema`] tables and the
//!    configuration becomes the validated [`ir`].
//!
//! Problems at any stage become [`diagnostic::Diagnostic`]s with file, line, column and a
//! snippet. Nothing here starts threads of its own beyond the parser's, opens sockets or loads
//! TLS material: `rsng --syntax-only` is this crate alone.
//!
//! ```
//! let text = "@version: 3.38\nsource s { internal(); };\nlog { source(s); };\n";
//! let loaded = rsng_config::load_text("example.conf", text, &rsng_config::LoadOptions::default())
//!     .expect("valid configuration");
//! assert_eq!(loaded.config.sources.len(), 1);
//! ```

pub mod diagnostic;
pub mod filter_compile;
pub mod ir;
pub mod lower;
pub mod preprocess;
pub mod schema;
pub mod source_map;
mod suggest;
pub mod syntax;
pub mod transport;

use std::path::Path;

use diagnostic::{codes, ConfigError, Diagnostic, Diagnostics, Report};
use preprocess::{PreprocessOptions, Preprocessed};

/// How to read a configuration.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub preprocess: PreprocessOptions,
}

/// A configuration that passed every check, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub config: ir::Config,
    pub warnings: Vec<Report>,
}

/// Reads, checks and lowers the configuration file at `path`.
///
/// # Errors
/// Every problem found, with at least one error among them.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    let mut diags = Diagnostics::default();
    let pre = preprocess::preprocess(path, &opts.preprocess, &mut diags);
    finish(pre, diags)
}

/// Like [`load_file`], for text already in memory; `name` is used in messages.
///
/// # Errors
/// Every problem found, with at least one error among them.
pub fn load_text(name: &str, text: &str, opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    let mut diags = Diagnostics::default();
    let pre = preprocess::preprocess_text(name, None, text.to_string(), &opts.preprocess, &mut diags);
    finish(pre, diags)
}

/// Runs only the preprocessor, for `--preprocess-into`: the expanded text (as far as it got) and
/// the problems found.
pub fn preprocess_file(path: &Path, opts: &LoadOptions) -> (String, Result<Vec<Report>, ConfigError>) {
    let mut diags = Diagnostics::default();
    let Some(pre) = preprocess::preprocess(path, &opts.preprocess, &mut diags) else {
        let reports = diags.into_reports(&Default::default());
        return (String::new(), Err(ConfigError { reports }));
    };
    let failed = diags.has_errors();
    let text = pre.display_text();
    let reports = diags.into_reports(&pre.map);
    if failed {
        (text, Err(ConfigError { reports }))
    } else {
        (text, Ok(reports))
    }
}

fn finish(pre: Option<Preprocessed>, mut diags: Diagnostics) -> Result<Loaded, ConfigError> {
    let Some(pre) = pre else {
        return Err(ConfigError { reports: diags.into_reports(&Default::default()) });
    };
    // Statements before a preprocessor error are still parsed and checked, so that the first
    // error reported is the first one in reading order.
    let limit = pre.failed_at.unwrap_or(pre.text.len());
    let (mut config, syntax_error) = parse_and_lower(&pre, &pre.text[..limit], &mut diags);
    config.files = pre.map.files.clone();
    if let Some(err) = syntax_error {
        // A statement cut short by a preprocessor error is not a syntax error of its own.
        let cut_short = pre.failed_at.is_some() && err.found == "end of file";
        if !cut_short {
            let resolved = pre.map.resolve(err.span.clone());
            let mut d = Diagnostic::error(codes::SYNTAX, err.message()).ordered(0, err.span.start);
            if let Some(r) = resolved {
                d = d.at(r.span, err.expected_text().unwrap_or_else(|| "unexpected here".into())).with_chain(r.chain);
            }
            diags.push(d);
        }
    }
    if !pre.version_seen && !pre.map.files.is_empty() {
        let start = source_map::FileSpan { file: 0, start: 0, end: 0 };
        diags.push(
            Diagnostic::warning(codes::VERSION_MISSING, "configuration has no @version; reading it as 3.38")
                .at(start, "no @version before this")
                .help("add `@version: 3.38` as the first line"),
        );
    }
    let failed = diags.has_errors();
    let reports = diags.into_reports(&pre.map);
    if failed {
        Err(ConfigError { reports })
    } else {
        Ok(Loaded { config, warnings: reports })
    }
}

/// Parses while this thread checks the statements already read, so the two overlap, and each
/// statement's syntax tree is dropped once it is lowered. A large text is cut at top-level
/// statement ends and its pieces are parsed in parallel; they are lowered in order.
///
/// Parser threads get a large stack: the grammar recurses once per nesting level (which the
/// preprocessor bounds), never per statement.
fn parse_and_lower(
    pre: &Preprocessed,
    text: &str,
    diags: &mut Diagnostics,
) -> (ir::Config, Option<syntax::SyntaxError>) {
    let pieces = split_points(&pre.statement_ends, text.len());
    let mark = diags.len();
    if pieces.len() > 2 {
        let (config, error) = parse_pieces(pre, text, &pieces, diags);
        if error.is_none() {
            return (config, None);
        }
        // A piece boundary can only be wrong in a broken configuration; read it again in one
        // piece so that the error and everything before it are reported exactly.
        diags.truncate(mark);
    }
    parse_pieces(pre, text, &[0, text.len()], diags)
}

/// Where to cut `len` bytes of text into pieces for parallel parsing: `[0, ..., len]`.
fn split_points(statement_ends: &[usize], len: usize) -> Vec<usize> {
    const MIN_PIECE: usize = 64 << 10;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let pieces = (len / MIN_PIECE).clamp(1, workers);
    let mut points = vec![0];
    for k in 1..pieces {
        let target = len * k / pieces;
        let i = statement_ends.partition_point(|&e| e < target);
        if let Some(&cut) = statement_ends.get(i) {
            if cut > *points.last().expect("points start with 0") && cut < len {
                points.push(cut);
            }
        }
    }
    points.push(len);
    points
}

fn parse_pieces(
    pre: &Preprocessed,
    text: &str,
    points: &[usize],
    diags: &mut Diagnostics,
) -> (ir::Config, Option<syntax::SyntaxError>) {
    // Statements travel in batches: one channel operation per statement costs more than
    // checking it.
    const BATCH: usize = 64;
    std::thread::scope(|s| {
        let mut receivers = Vec::new();
        let mut parsers = Vec::new();
        for piece in points.windows(2) {
            let (start, end) = (piece[0], piece[1]);
            // Unbounded: a later piece must be able to finish parsing while the lowering is
            // still busy with earlier ones (its trees wait, a few MB at most).
            let (tx, rx) = std::sync::mpsc::channel::<Vec<syntax::ast::Statement>>();
            let parser = std::thread::Builder::new()
                .name("rsng-config-parser".into())
                .stack_size(256 << 20)
                .spawn_scoped(s, move || {
                    let mut batch = Vec::with_capacity(BATCH);
                    let error = syntax::parse_each_at(text, start, end, |stmt| {
                        batch.push(stmt);
                        if batch.len() == BATCH {
                            let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                        }
                    });
                    let _ = tx.send(batch);
                    error
                })
                .expect("spawn parser thread");
            receivers.push(rx);
            parsers.push(parser);
        }
        let mut lowerer = lower::Lowerer::new(pre, diags);
        let mut error = None;
        for (rx, parser) in receivers.into_iter().zip(parsers) {
            for batch in rx {
                for statement in &batch {
                    lowerer.statement(statement);
                }
            }
            error = parser.join().expect("parser thread does not panic");
            if error.is_some() {
                // Later pieces are not lowered: the first syntax error ends reading, as in
                // syslog-ng.
                break;
            }
        }
        (lowerer.finish(), error)
    })
}

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
pub mod ir;
pub mod lower;
pub mod preprocess;
pub mod schema;
pub mod source_map;
mod suggest;
pub mod syntax;

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
    let (ast, syntax_error) = parse_on_big_stack(&pre.text[..limit]);
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
    let config = lower::lower(&ast, &pre, &mut diags);
    if pre.version.is_none() {
        diags.push(
            Diagnostic::warning(codes::VERSION_MISSING, "configuration has no @version; reading it as 3.38")
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

/// Parses on a thread with a large stack: the grammar recurses once per nesting level (bounded
/// by the preprocessor), never per statement.
fn parse_on_big_stack(text: &str) -> (syntax::ast::Config, Option<syntax::SyntaxError>) {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("rsng-config-parser".into())
            .stack_size(256 << 20)
            .spawn_scoped(s, || syntax::parse_partial(text))
            .expect("spawn parser thread")
            .join()
            .expect("parser thread does not panic")
    })
}

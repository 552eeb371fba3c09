//! Parsers and rewrite rules as steps of a log path, built from their IR drivers.
//!
//! [`build`] turns one driver of a `parser {}` or `rewrite {}` object into a [`Transform`]:
//! the option values are read here ([`rewrite`], [`parser`]) and the message-level work is done
//! by `rsng_core::rewrite` and `rsng_core::parser`. Patterns and templates are compiled once,
//! here. Every option of the option tables either takes effect or makes [`build`] fail with
//! an error naming the option and the driver.

pub mod counted;
mod db_parser;
mod options;
mod parser;
mod rewrite;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::sync::Arc;

use rsng_config::ir::Driver;
use rsng_config::schema::Context;
use rsng_core::filter::{Filter, FilterScratch};
use rsng_core::parser::TimeZone;
use rsng_core::template::{compile, FormatOptions, OnError, Template, TsFormat};
use rsng_core::LogMessage;
use rsng_drivers::options::typed::{later, Located};
use rsng_drivers::options::{as_str, Globals, Options};
use rsng_drivers::writer::parse_time_zone;

use options::FormatSettings;

use crate::BuildError;

/// A parser or rewrite rule.
pub trait Transform: Send + Sync {
    /// Changes `msg` in place (copying it first if shared). Returns `false` when a parser could
    /// not parse the message: syslog-ng then drops it from this log path.
    fn process(&self, msg: &mut LogMessage) -> bool;

    /// As [`Transform::process`], for steps that also make new messages (`db-parser()`'s
    /// actions): those are appended to `emitted` and go on along the path before `msg`.
    fn process_emitting(&self, msg: &mut LogMessage, emitted: &mut Vec<LogMessage>) -> bool {
        let _ = emitted;
        self.process(msg)
    }

    /// Whether the step also works on time: [`Transform::tick`] is then called about once a
    /// second.
    fn ticks(&self) -> bool {
        false
    }

    /// Lets time pass: messages this makes (`db-parser()` contexts that timed out) are appended
    /// to `emitted` and go on along the path after this step.
    fn tick(&self, emitted: &mut Vec<LogMessage>) {
        let _ = emitted;
    }

    /// State the step of the next configuration with the same name takes over at a reload
    /// (syslog-ng's persistent configuration state).
    fn persistent_state(&self) -> Option<(String, PersistedState)> {
        None
    }
}

/// A step's state kept across a reload.
pub type PersistedState = Arc<dyn std::any::Any + Send + Sync>;

/// What building a transform may need from the rest of the configuration.
pub struct TransformContext<'a> {
    pub config: &'a rsng_config::ir::Config,
    /// The global options, which every option struct reads through.
    pub globals: &'a Globals,
    pub filters: &'a rsng_config::filter_compile::FilterMap,
    pub compile: &'a rsng_core::template::CompileContext,
    /// The states of the previous configuration's steps, by name; a step takes its own out.
    pub persisted: &'a RefCell<std::collections::HashMap<String, PersistedState>>,
}

/// Builds the transform of parser or rewrite driver `driver`.
///
/// # Errors
/// When the driver's options cannot be compiled or the driver cannot run in rsng.
pub fn build(context: Context, driver: &Driver, ctx: &TransformContext<'_>) -> Result<Box<dyn Transform>, BuildError> {
    match context {
        Context::Rewrite => rewrite::build(driver, ctx),
        Context::Parser => parser::build(driver, ctx),
        _ => Err(BuildError::at(
            format!("the {} `{}()` is not a parser or rewrite rule", context.name(), driver.name),
            &driver.span,
        )),
    }
}

/// A rewrite rule with its `condition()`.
struct RewriteStep {
    rewrite: rsng_core::rewrite::Rewrite,
    condition: Option<Filter>,
}

thread_local! {
    static FILTER_SCRATCH: RefCell<FilterScratch> = RefCell::new(FilterScratch::new());
}

impl Transform for RewriteStep {
    fn process(&self, msg: &mut LogMessage) -> bool {
        if let Some(cond) = &self.condition {
            let pass = FILTER_SCRATCH.with(|s| match s.try_borrow_mut() {
                Ok(mut s) => cond.eval(msg, &mut s),
                Err(_) => cond.eval(msg, &mut FilterScratch::new()),
            });
            if !pass {
                return true;
            }
        }
        self.rewrite.apply(msg);
        true
    }
}

struct ParserStep(rsng_core::parser::Parser);

impl Transform for ParserStep {
    fn process(&self, msg: &mut LogMessage) -> bool {
        self.0.process(msg)
    }
}

impl TransformContext<'_> {
    /// The options of `driver`, with the globals behind them.
    fn options<'d>(&'d self, driver: &'d Driver) -> Options<'d> {
        Options::new(driver, self.globals)
    }
}

/// The error for an option rsng does not implement for a driver.
fn unsupported<T>(driver: &Driver, option: &Located<T>, why: &str) -> BuildError {
    BuildError::at(
        format!("option `{}()` of `{}()` is not supported by rsng: {why}", option.name, driver.name),
        &option.span,
    )
}

/// The error for a value syslog-ng refuses.
fn invalid(
    driver: &Driver,
    option: &str,
    span: &rsng_config::source_map::FileSpan,
    why: impl std::fmt::Display,
) -> BuildError {
    BuildError::at(format!("invalid `{option}()` for `{}()`: {why}", driver.name), span)
}

/// The positional argument `i` as text.
fn positional(driver: &Driver, i: usize) -> Option<&str> {
    driver.positional.get(i).and_then(as_str)
}

/// Compiles template text, naming the driver on error.
fn template(driver: &Driver, text: &str, ctx: &TransformContext<'_>) -> Result<Arc<Template>, BuildError> {
    compile(text, ctx.compile).map(Arc::new).map_err(|e| {
        BuildError::at(format!("error compiling template `{text}` of `{}()`: {e}", driver.name), &driver.span)
    })
}

/// A time zone option's value.
fn zone(driver: &Driver, o: &Located<String>) -> Result<TimeZone, BuildError> {
    parse_time_zone(&o.value)
        .ok_or_else(|| invalid(driver, o.name, &o.span, format!("unknown time zone `{}`", o.value)))
}

/// The process's local zone, which syslog-ng uses where no zone is configured.
fn local_zone() -> TimeZone {
    TimeZone::system()
}

/// Which of a template's zones applies (syslog-ng's `LTZ_LOCAL` / `LTZ_SEND`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ZoneUse {
    Local,
    Send,
}

/// Template options from their settings: a rule's own (`set()`, `set-matches()`, read with
/// [`FormatSettings::read`]) or the global ones alone ([`FormatSettings::read_globals`]).
fn format_options(settings: &FormatSettings, zone_use: ZoneUse) -> Result<FormatOptions, BuildError> {
    let mut opts = FormatOptions::default();
    if let Some(f) = settings.ts_format.as_deref().and_then(TsFormat::from_name) {
        opts.ts_format = f;
    }
    if let Some(n) = settings.frac_digits {
        opts.frac_digits = n.clamp(0, 6) as u8;
    }
    if let Some(e) = settings.on_error.as_deref().and_then(OnError::from_name) {
        opts.on_error = e;
    }
    let zone = match zone_use {
        ZoneUse::Send => later(settings.time_zone.as_ref(), settings.send_time_zone.as_ref())
            .or_else(|| later(settings.global_time_zone.as_ref(), settings.global_send_time_zone.as_ref())),
        ZoneUse::Local => settings.local_time_zone.as_ref(),
    };
    if let Some(o) = zone {
        let tz = parse_time_zone(&o.value)
            .ok_or_else(|| BuildError::at(format!("unknown time zone `{}` in `{}()`", o.value, o.name), &o.span))?;
        opts.time_zone = Some(tz);
    }
    Ok(opts)
}

/// The global template options, for parsers and the rules without options of their own.
fn global_format_options(ctx: &TransformContext<'_>) -> Result<FormatOptions, BuildError> {
    format_options(&FormatSettings::read_globals(ctx.globals), ZoneUse::Local)
}

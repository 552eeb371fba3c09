//! Parsers and rewrite rules as steps of a log path, built from their IR drivers.
//!
//! [`build`] turns one driver of a `parser {}` or `rewrite {}` object into a [`Transform`]:
//! the option values are read here ([`rewrite`], [`parser`]) and the message-level work is done
//! by `rsng_core::rewrite` and `rsng_core::parser`. Patterns and templates are compiled once,
//! here. Every option of the option tables either takes effect or makes [`build`] fail with
//! an error naming the option and the driver.

pub mod counted;
mod db_parser;
mod parser;
mod rewrite;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::sync::Arc;

use rsng_config::ir::{Config, Driver, OptionValue, Value};
use rsng_config::schema::Context;
use rsng_core::filter::{Filter, FilterScratch};
use rsng_core::parser::TimeZone;
use rsng_core::template::{compile, FormatOptions, OnError, Template, TsFormat};
use rsng_core::LogMessage;
use rsng_drivers::options::{as_int, as_str};
use rsng_drivers::writer::parse_time_zone;

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

/// The error for an option rsng does not implement for a driver.
fn unsupported(driver: &Driver, option: &OptionValue, why: &str) -> BuildError {
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

/// The options of `driver` named `name`, in order.
fn all<'d>(driver: &'d Driver, name: &'d str) -> impl Iterator<Item = &'d OptionValue> + 'd {
    driver.note(name);
    driver.options.iter().filter(move |o| o.name == name)
}

fn str_of(v: &Value) -> Option<&str> {
    as_str(v)
}

/// The strings of a list value (`columns("a" "b")`, `flags(x, y)`).
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::List(items) => items.iter().flat_map(strings).collect(),
        Value::Str(s) | Value::Raw(s) => vec![s.clone()],
        Value::Int(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
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
fn zone(driver: &Driver, o: &OptionValue) -> Result<TimeZone, BuildError> {
    let name = str_of(&o.value).unwrap_or("");
    parse_time_zone(name).ok_or_else(|| invalid(driver, o.name, &o.span, format!("unknown time zone `{name}`")))
}

/// The last of the global options `names` (syslog-ng lets several options set one setting).
fn global<'c>(config: &'c Config, names: &[&str]) -> Option<&'c OptionValue> {
    config.options.iter().rev().find(|o| names.contains(&o.name))
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

/// Template options: those of `driver` (for `set()` and `set-matches()`), falling back to the
/// global ones.
fn format_options(config: &Config, driver: Option<&Driver>, zone_use: ZoneUse) -> Result<FormatOptions, BuildError> {
    let own = |names: &[&str]| {
        driver.and_then(|d| {
            names.iter().for_each(|n| d.note(n));
            d.options.iter().rev().find(|o| names.contains(&o.name))
        })
    };
    let pick = |names: &[&str]| own(names).or_else(|| global(config, names));
    let mut opts = FormatOptions::default();
    if let Some(f) = pick(&["ts-format"]).and_then(|o| str_of(&o.value)).and_then(TsFormat::from_name) {
        opts.ts_format = f;
    }
    if let Some(n) = pick(&["frac-digits"]).and_then(|o| as_int(&o.value)) {
        opts.frac_digits = n.clamp(0, 6) as u8;
    }
    if let Some(e) = pick(&["on-error"]).and_then(|o| str_of(&o.value)).and_then(OnError::from_name) {
        opts.on_error = e;
    }
    let zone_names: &[&str] = match zone_use {
        ZoneUse::Send => &["time-zone", "send-time-zone"],
        ZoneUse::Local => &["local-time-zone"],
    };
    if let Some(o) = pick(zone_names) {
        let name = str_of(&o.value).unwrap_or("");
        let tz = parse_time_zone(name)
            .ok_or_else(|| BuildError::at(format!("unknown time zone `{name}` in `{}()`", o.name), &o.span))?;
        opts.time_zone = Some(tz);
    }
    Ok(opts)
}

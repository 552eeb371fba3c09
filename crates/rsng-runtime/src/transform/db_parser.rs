//! `db-parser()`: the patterndb engine of `rsng_core::parser::patterndb` as a log path step,
//! with syslog-ng 3.38's options (`modules/dbparser/dbparser.c`): `file()`, `drop-unmatched()`,
//! `program-template()`, `message-template()` / `template()`, `inject-mode()`,
//! `persist-name()`.
//!
//! Like syslog-ng, a file that cannot be loaded is logged and the parser runs with no rules, and
//! the file is checked again (inode and modification time) when a message arrives at least 5
//! seconds (by its receive time) after the last check; a changed file is reloaded.
//!
//! The correlation clock also moves on by itself about once a second (the runtime calls
//! [`Transform::tick`]), so a context times out when no message comes. The correlation state
//! (open contexts, rate limits) is kept across a configuration reload under the name
//! `db-parser(FILE)`, as syslog-ng keeps it; at shutdown the open contexts are dropped without
//! running their timeout actions, as syslog-ng drops them.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use rsng_config::ir::{Driver, LogElement, LogPath};
use rsng_config::schema::Context;
use rsng_core::message::TagId;
use rsng_core::parser::patterndb::{load, Correlation, PatternDb, SharedCorrelation};
use rsng_core::template::{CompileContext, FormatOptions, Template};
use rsng_core::LogMessage;
use rsng_drivers::internal;

use rsng_drivers::options::typed::later;

use super::options::DbParserOptions;
use super::{global_format_options, invalid, template, Transform, TransformContext};
use crate::BuildError;

/// Where syslog-ng 3.38 looks when `file()` is not given.
const DEFAULT_FILE: &str = "/var/lib/syslog-ng/patterndb.xml";

/// What becomes of the messages the rules' actions generate, and of the parsed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InjectMode {
    /// Generated messages continue along the log path after the parser.
    PassThrough,
    /// As pass-through, but the parsed messages themselves stop here.
    AggregateOnly,
    /// Generated messages go to the `internal()` source instead (dropped when there is none).
    Internal,
}

pub(super) fn build(driver: &Driver, ctx: &TransformContext<'_>) -> Result<Box<dyn Transform>, BuildError> {
    let o = DbParserOptions::read(&ctx.options(driver));
    let file = o.file.unwrap_or_else(|| DEFAULT_FILE.to_string());
    let drop_unmatched = o.drop_unmatched;
    let mut inject = InjectMode::PassThrough;
    if let Some(mode) = &o.inject_mode {
        inject = match mode.value.to_ascii_lowercase().as_str() {
            "pass-through" | "pass_through" => InjectMode::PassThrough,
            "aggregate-only" | "aggregate_only" => InjectMode::AggregateOnly,
            "internal" => InjectMode::Internal,
            _ => return Err(invalid(driver, mode.name, &mode.span, format!("Unknown inject-mode {}", mode.value))),
        };
    }
    let program = match &o.program_template {
        Some(text) => Some(template(driver, text, ctx)?),
        None => None,
    };
    let input = match later(o.message_template.as_ref(), o.template.as_ref()) {
        Some(text) => {
            let text = text.value.as_str();
            let source = ctx.config.templates.iter().rev().find(|t| t.name == text).map_or(text, |t| t.text.as_str());
            Some(template(driver, source, ctx)?)
        }
        None => None,
    };
    let opts = global_format_options(ctx)?;
    // Tags are listed in the order their names were first seen. syslog-ng knows the
    // `.classifier.*` tags from start-up, and starts the objects of the log paths in order: the
    // tags of the sources before this parser come before those of its rules.
    for name in [".classifier.system", ".classifier.unknown"] {
        TagId::intern(name);
    }
    let own = ctx.config.parsers.iter().find(|o| o.drivers.iter().any(|d| d.span == driver.span)).map(|o| &o.name);
    let mut reached = false;
    for path in &ctx.config.log_paths {
        if own.is_some_and(|own| sources_before(path, own)) {
            reached = true;
            break;
        }
    }
    if !reached {
        for source in &ctx.config.sources {
            TagId::intern(&format!(".source.{}", source.name));
        }
    }
    let location = ctx.config.location(&driver.span);
    let persist_name = format!("db-parser({file})");
    // The state of the previous configuration's parser of the same file, taken once: a second
    // parser of that file starts afresh, as in syslog-ng.
    let state: SharedCorrelation = ctx
        .persisted
        .borrow_mut()
        .remove(&persist_name)
        .and_then(|s| s.downcast::<std::sync::Mutex<Correlation>>().ok())
        .unwrap_or_default();
    let db = DbParser {
        persist_name,
        file,
        location,
        compile: ctx.compile.clone(),
        opts: opts.clone(),
        db: RwLock::new(PatternDb::with_state(empty_rule_set(ctx.compile), opts, state)),
        file_id: RwLock::new(None),
        last_check: AtomicI64::new(0),
        reloading: AtomicBool::new(false),
        drop_unmatched,
        inject,
        program,
        input,
    };
    db.reload();
    Ok(Box::new(db))
}

fn empty_rule_set(ctx: &CompileContext) -> rsng_core::parser::patterndb::RuleSet {
    // An empty `<patterndb/>`: no rulesets, so nothing is classified.
    load::load_str("<patterndb version='4'/>", "", ctx).unwrap_or_else(|_| unreachable!("a fixed document loads"))
}

struct DbParser {
    file: String,
    /// What the correlation state is kept under across reloads.
    persist_name: String,
    location: String,
    compile: CompileContext,
    opts: FormatOptions,
    db: RwLock<PatternDb>,
    /// Inode and modification time of the file last loaded.
    file_id: RwLock<Option<(u64, i64)>>,
    /// Receive time (seconds) of the message that last checked the file.
    last_check: AtomicI64,
    reloading: AtomicBool,
    drop_unmatched: bool,
    inject: InjectMode,
    program: Option<Arc<Template>>,
    input: Option<Arc<Template>>,
}

impl DbParser {
    /// Loads the file when it changed since the last load.
    fn reload(&self) {
        use std::os::unix::fs::MetadataExt;
        let meta = match std::fs::metadata(&self.file) {
            Ok(m) => m,
            Err(e) => {
                internal::error(format!(
                    "Error stating pattern database file, no automatic reload will be performed; file='{}', \
                     error='{}', location='{}'",
                    self.file,
                    strerror(&e),
                    self.location
                ));
                return;
            }
        };
        let id = (meta.ino(), meta.mtime());
        let mut known = self.file_id.write().unwrap_or_else(|e| e.into_inner());
        if *known == Some(id) {
            return;
        }
        *known = Some(id);
        match load::load_file(&self.file, &self.compile) {
            Ok(set) => {
                for w in &set.warnings {
                    internal::warning(format!("{w}; location='{}'", self.location));
                }
                let (version, pub_date) = (set.version.clone(), set.pub_date.clone().unwrap_or_default());
                self.db.write().unwrap_or_else(|e| e.into_inner()).replace(set);
                internal::notice(format!(
                    "Log pattern database reloaded; file='{}', version='{version}', pub_date='{pub_date}', \
                     location='{}'",
                    self.file, self.location
                ));
            }
            Err(e) => {
                internal::error(e);
                internal::error(format!(
                    "Error reloading pattern database, no automatic reload will be performed; file='{}', \
                     location='{}'",
                    self.file, self.location
                ));
            }
        }
    }

    fn maybe_reload(&self, received: i64) {
        let last = self.last_check.load(Ordering::Relaxed);
        if last != 0 && last >= received - 5 {
            return;
        }
        // One message reloads; the others go on with the rules they have.
        if self.reloading.swap(true, Ordering::Acquire) {
            return;
        }
        self.last_check.store(received, Ordering::Relaxed);
        self.reload();
        self.reloading.store(false, Ordering::Release);
    }
}

impl Transform for DbParser {
    fn process(&self, msg: &mut LogMessage) -> bool {
        let mut emitted = Vec::new();
        self.process_emitting(msg, &mut emitted)
    }

    fn process_emitting(&self, msg: &mut LogMessage, emitted: &mut Vec<LogMessage>) -> bool {
        self.maybe_reload(msg.received().sec);
        let mut program = Vec::new();
        match &self.program {
            Some(t) => {
                let _ = t.format(msg, &self.opts, &mut program);
            }
            None => program.extend_from_slice(msg.get("PROGRAM").unwrap_or(b"")),
        }
        let mut input = Vec::new();
        match &self.input {
            Some(t) => {
                let _ = t.format(msg, &self.opts, &mut input);
            }
            None => input.extend_from_slice(msg.get("MESSAGE").unwrap_or(b"")),
        }
        let start = emitted.len();
        let matched = {
            let db = self.db.read().unwrap_or_else(|e| e.into_inner());
            db.process(msg, &program, &input, emitted)
        };
        self.inject_internal(emitted, start);
        if self.inject == InjectMode::AggregateOnly {
            return false;
        }
        matched || !self.drop_unmatched
    }

    fn ticks(&self) -> bool {
        true
    }

    fn tick(&self, emitted: &mut Vec<LogMessage>) {
        let start = emitted.len();
        self.db.read().unwrap_or_else(|e| e.into_inner()).tick(emitted);
        self.inject_internal(emitted, start);
    }

    fn persistent_state(&self) -> Option<(String, super::PersistedState)> {
        let state = self.db.read().unwrap_or_else(|e| e.into_inner()).state().clone();
        Some((self.persist_name.clone(), state))
    }
}

impl DbParser {
    /// `inject-mode(internal)`: the messages generated from `start` on go to `internal()`.
    fn inject_internal(&self, emitted: &mut Vec<LogMessage>, start: usize) {
        if self.inject == InjectMode::Internal {
            for generated in emitted.drain(start..) {
                internal::post_message(generated);
            }
        }
    }
}

/// The system's text for an I/O error, without Rust's `(os error N)`.
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Interns the tags of the sources of `path` up to parser object `own`; whether it was found.
fn sources_before(path: &LogPath, own: &str) -> bool {
    for element in &path.elements {
        match element {
            LogElement::Object { context: Context::Source, name, .. } => {
                TagId::intern(&format!(".source.{name}"));
            }
            LogElement::Object { context: Context::Parser, name, .. } if name == own => return true,
            LogElement::Object { .. } => {}
            LogElement::Conditional { branches, otherwise } => {
                for p in branches.iter().map(|(_, p)| p).chain(otherwise.iter()) {
                    if sources_before(p, own) {
                        return true;
                    }
                }
            }
            LogElement::Junction(paths) => {
                if paths.iter().any(|p| sources_before(p, own)) {
                    return true;
                }
            }
            LogElement::Fork(p) => {
                if sources_before(p, own) {
                    return true;
                }
            }
        }
    }
    false
}

//! Lowering: the AST checked against the option tables and turned into the [`crate::ir`].
//!
//! Statements are lowered in order, because order matters in places (a named template is used
//! by `template(NAME)` only if defined earlier; a `template-function` must precede its use).
//! References between objects are resolved at the end, so forward references work as in
//! syslog-ng; unlike syslog-ng 3.38, an undefined reference is reported here already.

mod driver;
mod filter;
mod persist;
pub(crate) mod reserved;
mod transport;
mod value;

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::diagnostic::{codes, Diagnostic, Diagnostics};
use crate::ir;
use crate::preprocess::Preprocessed;
use crate::schema::{self, Context};
use crate::source_map::FileSpan;
use crate::syntax::ast;

/// Lowers a parsed configuration; problems go to `diags`.
pub fn lower(config: &ast::Config, pre: &Preprocessed, diags: &mut Diagnostics) -> ir::Config {
    let mut lowerer = Lowerer::new(pre, diags);
    for statement in &config.statements {
        lowerer.statement(statement);
    }
    lowerer.finish()
}

/// A reference to resolve once every object is known.
struct Reference {
    context: Context,
    name: String,
    span: FileSpan,
    offset: usize,
}

pub struct Lowerer<'a> {
    pre: &'a Preprocessed,
    diags: &'a mut Diagnostics,
    out: ir::Config,
    /// Named objects by context (indexed by [`context_index`]), with where they were defined.
    defined: [HashMap<String, FileSpan>; 5],
    references: Vec<Reference>,
    /// Named templates defined so far.
    templates: HashSet<String>,
    /// User template functions defined so far, for checking templates.
    template_ctx: rsng_core::template::CompileContext,
    anon: HashMap<Context, usize>,
    /// Option tables of the driver being lowered: their names are keywords there.
    keywords: &'static [&'static [schema::OptionSpec]],
}

impl<'a> Lowerer<'a> {
    /// A lowerer for the statements of `pre`, fed one at a time with [`Lowerer::statement`].
    pub fn new(pre: &'a Preprocessed, diags: &'a mut Diagnostics) -> Self {
        Lowerer {
            pre,
            diags,
            out: ir::Config { version: pre.version.map(|v| v.0), ..Default::default() },
            defined: Default::default(),
            references: Vec::new(),
            templates: HashSet::new(),
            template_ctx: rsng_core::template::CompileContext::new(),
            anon: HashMap::new(),
            keywords: &[],
        }
    }

    /// Resolves the references between objects and returns the configuration.
    pub fn finish(mut self) -> ir::Config {
        self.resolve_references();
        self.check_persist_names();
        self.out
    }
}

impl Lowerer<'_> {
    /// The file span of a span of the flat text.
    pub(crate) fn span(&self, range: Range<usize>) -> FileSpan {
        self.pre.map.resolve(range).map(|r| r.span).unwrap_or(FileSpan { file: 0, start: 0, end: 0 })
    }

    /// An error located at `range`, with the include and block chain that led there.
    pub(crate) fn error_at(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        range: Range<usize>,
        label: impl Into<String>,
    ) -> Diagnostic {
        let offset = range.start;
        let resolved = self.pre.map.resolve(range);
        let mut d = Diagnostic::error(code, message).ordered(0, offset);
        if let Some(r) = resolved {
            d = d.at(r.span, label).with_chain(r.chain);
        }
        d
    }

    pub(crate) fn warning_at(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        range: Range<usize>,
        label: impl Into<String>,
    ) -> Diagnostic {
        let mut d = self.error_at(code, message, range, label);
        d.severity = miette::Severity::Warning;
        d
    }

    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Checks one statement and adds it to the configuration.
    /// Whether the configuration declares `@version: 4.0` or later.
    pub(crate) fn version_at_least_4(&self) -> bool {
        self.pre.version.is_some_and(|(v, _)| v >= crate::preprocess::Version { major: 4, minor: 0 })
    }

    pub fn statement(&mut self, statement: &ast::Statement) {
        match statement {
            ast::Statement::Object(def) => {
                let context = context_of(def.kind);
                let span = self.span(def.span.clone());
                self.define(context, &def.name);
                let object = self.object(context, def.name.value.to_string(), false, &def.items, span);
                self.store(object);
            }
            ast::Statement::Filter(def) => {
                self.define(Context::Filter, &def.name);
                let expr = self.filter(&def.expr);
                let span = self.span(def.span.clone());
                self.out.filters.push(ir::FilterObject {
                    name: def.name.value.to_string(),
                    anonymous: false,
                    expr,
                    span,
                });
            }
            ast::Statement::Log(path) => {
                let path = self.log_path(path);
                self.out.log_paths.push(path);
            }
            ast::Statement::Options(calls, _) => {
                let options = self.options(calls, &[schema::GLOBAL_OPTIONS], "options");
                self.check_patterns(None, calls, &options);
                self.out.options.extend(options);
            }
            ast::Statement::Template(def) => self.template(def),
            ast::Statement::TemplateFunction { name, body, span } => {
                self.check_template(body);
                self.template_ctx.add_user_function(&name.value);
                let span = self.span(span.clone());
                self.out.template_functions.push(ir::Template {
                    name: name.value.to_string(),
                    text: body.value.to_string(),
                    escape: false,
                    span,
                });
            }
        }
    }

    /// Records a named definition; a second one of the same kind and name is an error.
    fn define(&mut self, context: Context, name: &ast::Text) {
        self.reject_reserved(name);
        self.reject_number_as_name(name);
        let span = self.span(name.span.clone());
        if let Some(first) = self.defined[context_index(context)].get(&*name.value).copied() {
            let old_format =
                self.pre.version.is_some_and(|(v, _)| v < crate::preprocess::Version { major: 3, minor: 3 });
            if self.pre.allow_config_dups || old_format {
                let d = self
                    .warning_at(
                        codes::DUPLICATE_OBJECT,
                        format!("{} `{}` is defined again; the later definition wins", context.name(), name.value),
                        name.span.clone(),
                        "redefined here",
                    )
                    .note(first, "first defined here");
                self.push(d);
                self.defined[context_index(context)].insert(name.value.to_string(), span);
                return;
            }
            let d = self
                .error_at(
                    codes::DUPLICATE_OBJECT,
                    format!("duplicate {} definition `{}`", context.name(), name.value),
                    name.span.clone(),
                    "defined again here",
                )
                .note(first, "first defined here")
                .help("rename one of them; object names must be unique per kind");
            self.push(d);
            return;
        }
        self.defined[context_index(context)].insert(name.value.to_string(), span);
    }

    fn store(&mut self, object: ir::Object) {
        match object.context {
            Context::Source => self.out.sources.push(object),
            Context::Destination => self.out.destinations.push(object),
            Context::Parser => self.out.parsers.push(object),
            _ => self.out.rewrites.push(object),
        }
    }

    /// Lowers the drivers and forks of a source, destination, parser or rewrite object.
    fn object(
        &mut self,
        context: Context,
        name: String,
        anonymous: bool,
        items: &[ast::ObjectItem],
        span: FileSpan,
    ) -> ir::Object {
        let mut drivers = Vec::new();
        let mut forks = Vec::new();
        for item in items {
            match item {
                ast::ObjectItem::Driver(call) => {
                    if context == Context::Rewrite && !forks.is_empty() {
                        // syslog-ng's rewrite grammar takes channels only after the rules (they
                        // form a junction there).
                        let d = self
                            .error_at(
                                codes::SYNTAX,
                                format!("syntax error, unexpected `{}` after a channel", call.name.value),
                                call.name.span.clone(),
                                "a rewrite rule cannot follow a channel",
                            )
                            .help("put the rewrite rules first, or inside a channel");
                        self.push(d);
                    }
                    if let Some(d) = self.driver(context, call) {
                        drivers.push(d);
                    }
                }
                ast::ObjectItem::Unfinished(name) => self.check_driver_name(context, name),
                ast::ObjectItem::Path(path) => {
                    forks.push((drivers.len(), self.log_path(path)));
                }
            }
        }
        ir::Object { context, name, anonymous, drivers, forks, span }
    }

    fn anonymous_name(&mut self, context: Context) -> String {
        let n = self.anon.entry(context).or_insert(0);
        let name = format!("#anon-{}{}", context.name(), n);
        *n += 1;
        name
    }

    /// Lowers an inline object and returns its generated name.
    fn inline_object(&mut self, object: &ast::InlineObject) -> (Context, String, FileSpan) {
        match object {
            ast::InlineObject::Filter(expr, span) => {
                let name = self.anonymous_name(Context::Filter);
                let expr = self.filter(expr);
                let span = self.span(span.clone());
                self.out.filters.push(ir::FilterObject { name: name.clone(), anonymous: true, expr, span });
                (Context::Filter, name, span)
            }
            ast::InlineObject::Object { kind, items, span } => {
                let context = context_of(*kind);
                let name = self.anonymous_name(context);
                let span = self.span(span.clone());
                let object = self.object(context, name.clone(), true, items, span);
                self.store(object);
                (context, name, span)
            }
        }
    }

    fn log_path(&mut self, path: &ast::LogPath) -> ir::LogPath {
        let mut out = ir::LogPath { span: Some(self.span(path.span.clone())), ..Default::default() };
        for item in &path.items {
            match item {
                ast::LogItem::Reference { kind, name, span } => {
                    self.reject_reserved(name);
                    self.reject_number_as_name(name);
                    let context = context_of(*kind);
                    let span = self.span(span.clone());
                    let name_span = self.span(name.span.clone());
                    self.references.push(Reference {
                        context,
                        name: name.value.to_string(),
                        span: name_span,
                        offset: name.span.start,
                    });
                    out.elements.push(ir::LogElement::Object { context, name: name.value.to_string(), span });
                }
                ast::LogItem::Inline(object) => {
                    let (context, name, span) = self.inline_object(object);
                    out.elements.push(ir::LogElement::Object { context, name, span });
                }
                ast::LogItem::Conditional(c) => {
                    let branches = c
                        .branches
                        .iter()
                        .map(|(cond, body)| (cond.as_ref().map(|e| self.filter(e)), self.log_path(body)))
                        .collect();
                    let otherwise = c.otherwise.as_ref().map(|p| self.log_path(p));
                    out.elements.push(ir::LogElement::Conditional { branches, otherwise });
                }
                ast::LogItem::Junction(forks, _) => {
                    let forks = forks.iter().map(|f| self.log_path(f)).collect();
                    out.elements.push(ir::LogElement::Junction(forks));
                }
                ast::LogItem::Fork(fork) => {
                    let fork = self.log_path(fork);
                    out.elements.push(ir::LogElement::Fork(fork));
                }
            }
        }
        for flag in &path.flags {
            let normalized = flag.value.replace('_', "-");
            match normalized.as_str() {
                "final" => out.flags.final_ = true,
                "fallback" => out.flags.fallback = true,
                "catchall" | "catch-all" => out.flags.catchall = true,
                "flow-control" => out.flags.flow_control = true,
                "drop-unmatched" => out.flags.drop_unmatched = true,
                _ => {
                    // syslog-ng prints an error for an unknown log flag but accepts the
                    // configuration; rsng warns likewise.
                    let suggestion = crate::suggest::did_you_mean(&flag.value, schema::LOG_FLAGS.iter().copied());
                    let mut d = self.warning_at(
                        codes::UNKNOWN_FLAG,
                        format!("unknown log path flag `{}`", flag.value),
                        flag.span.clone(),
                        "ignored",
                    );
                    d = d.help(match suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("valid flags: {}", schema::LOG_FLAGS.join(", ")),
                    });
                    self.push(d);
                }
            }
        }
        out
    }

    fn template(&mut self, def: &ast::TemplateDef) {
        let span = self.span(def.span.clone());
        let mut text = String::new();
        let mut escape = false;
        match &def.body {
            ast::TemplateBody::Block(calls) => {
                for call in calls {
                    let Some(opt) = schema::find_option(&[schema::TEMPLATE_STATEMENT_OPTIONS], call.name.value) else {
                        let d = self
                            .error_at(
                                codes::UNKNOWN_OPTION,
                                format!("unknown option `{}` in a template statement", call.name.value),
                                call.name.span.clone(),
                                "not allowed here",
                            )
                            .help("a template statement holds only `template(...)` and `template-escape(...)`");
                        self.push(d);
                        continue;
                    };
                    if opt.name == "template" {
                        if let Some(ast::Arg::Text(t)) = call.args.first() {
                            self.check_template(t);
                            text = t.value.to_string();
                        }
                        if call.args.len() != 1 || !matches!(call.args.first(), Some(ast::Arg::Text(_))) {
                            let d = self.error_at(
                                codes::INVALID_VALUE,
                                "`template()` expects one template string",
                                call.span.clone(),
                                "here",
                            );
                            self.push(d);
                        }
                    } else if let Some(ir::Value::Bool(b)) = self.value(opt, call) {
                        escape = b;
                    }
                }
            }
            ast::TemplateBody::Simple(arg) => match arg {
                ast::Arg::Text(t) => {
                    if t.quoted {
                        self.check_template(t);
                    }
                    text = t.value.to_string();
                }
                ast::Arg::Call(call) => {
                    const TYPES: &[&str] = &[
                        "string", "int", "int32", "int64", "double", "float", "boolean", "datetime", "list", "json",
                        "literal", "null", "none",
                    ];
                    if !TYPES.contains(&call.name.value) {
                        let d = self
                            .error_at(
                                codes::TEMPLATE,
                                format!("unknown type `{}` in type hint", call.name.value),
                                call.name.span.clone(),
                                "not a type",
                            )
                            .help(format!("valid types: {}", TYPES.join(", ")));
                        self.push(d);
                    }
                    if let Some(ast::Arg::Text(t)) = call.args.first() {
                        self.check_template(t);
                        text = t.value.to_string();
                    }
                }
                other => {
                    let d = self.error_at(codes::TEMPLATE, "expected a template string", other.span(), "here");
                    self.push(d);
                }
            },
        }
        if !self.templates.insert(def.name.value.to_string()) {
            let old_format =
                self.pre.version.is_some_and(|(v, _)| v < crate::preprocess::Version { major: 3, minor: 3 });
            let d = if self.pre.allow_config_dups || old_format {
                self.warning_at(
                    codes::DUPLICATE_OBJECT,
                    format!("template `{}` is defined again; the later definition wins", def.name.value),
                    def.name.span.clone(),
                    "redefined here",
                )
            } else {
                self.error_at(
                    codes::DUPLICATE_OBJECT,
                    format!("duplicate template definition `{}`", def.name.value),
                    def.name.span.clone(),
                    "defined again here",
                )
                .help("rename one of them; template names must be unique")
            };
            self.push(d);
        }
        // Later templates may call this one with `$(template NAME)`.
        self.template_ctx.add_template(&def.name.value);
        self.out.templates.push(ir::Template { name: def.name.value.to_string(), text, escape, span });
    }

    /// Checks a template string at load time (unknown functions, unbalanced `$(`).
    pub(crate) fn check_template(&mut self, text: &ast::Text) {
        if let Err(e) = rsng_core::template::compile(&text.value, &self.template_ctx) {
            // The offset is in the decoded text; map it back through the string's escapes.
            let raw = &self.pre.text[text.span.clone()];
            let start = text.span.start + raw_offset(raw, text.quoted, e.offset);
            let range = if start < text.span.end { start..start + 1 } else { text.span.clone() };
            let d = self.error_at(codes::TEMPLATE, format!("invalid template: {}", e.message), range, "here");
            self.push(d);
        }
    }

    fn resolve_references(&mut self) {
        let references = std::mem::take(&mut self.references);
        for r in references {
            if self.defined[context_index(r.context)].contains_key(&r.name) {
                continue;
            }
            let other = [Context::Source, Context::Destination, Context::Filter, Context::Parser, Context::Rewrite]
                .into_iter()
                .find(|c| self.defined[context_index(*c)].contains_key(&r.name));
            let d = match other {
                Some(kind) => {
                    let at = self.defined[context_index(kind)][&r.name];
                    Diagnostic::error(
                        codes::WRONG_KIND,
                        format!("`{}` is a {}, not a {}", r.name, kind.name(), r.context.name()),
                    )
                    .at(r.span, format!("expected a {}", r.context.name()))
                    .note(at, format!("`{}` is defined here as a {}", r.name, kind.name()))
                }
                None => {
                    let names: Vec<&str> = self.defined[context_index(r.context)].keys().map(String::as_str).collect();
                    let mut d = Diagnostic::error(
                        codes::UNDEFINED_REFERENCE,
                        format!("undefined {} `{}`", r.context.name(), r.name),
                    )
                    .at(r.span, format!("no {} with this name", r.context.name()));
                    if let Some(s) = crate::suggest::did_you_mean(&r.name, names) {
                        d = d.help(format!("did you mean `{s}`?"));
                    }
                    d
                }
            };
            self.push(d.ordered(1, r.offset));
        }
    }

    /// An unquoted number is a number to syslog-ng's lexer, never a name.
    fn reject_number_as_name(&mut self, name: &ast::Text) {
        if !name.quoted && value::is_number_token(&name.value) {
            let d = self
                .error_at(
                    codes::SYNTAX,
                    format!("syntax error, unexpected number `{}`", name.value),
                    name.span.clone(),
                    "expected a name",
                )
                .help(format!("quote it to use it as a name: \"{}\"", name.value));
            self.push(d);
        }
    }

    pub(crate) fn note_reference(&mut self, context: Context, name: String, span: FileSpan, offset: usize) {
        self.references.push(Reference { context, name, span, offset });
    }

    pub(crate) fn template_defined(&self, name: &str) -> bool {
        self.templates.contains(name)
    }
}

/// The byte offset in a string's source text (`raw`, quotes included when `quoted`) of byte
/// `decoded` of its value.
fn raw_offset(raw: &str, quoted: bool, decoded: usize) -> usize {
    if !quoted {
        return decoded;
    }
    if !raw.starts_with('"') {
        return 1 + decoded;
    }
    let bytes = raw.as_bytes();
    let (mut i, mut produced) = (1, 0);
    while i < bytes.len() && produced < decoded {
        if bytes[i] == b'\\' {
            let (value, used) = crate::preprocess::pragma::decode_escape(&bytes[i + 1..]);
            produced += value.len();
            i += 1 + used;
        } else {
            produced += 1;
            i += 1;
        }
    }
    i
}

/// The slot of an object context in [`Lowerer::defined`].
fn context_index(context: Context) -> usize {
    match context {
        Context::Source => 0,
        Context::Destination => 1,
        Context::Filter => 2,
        Context::Parser => 3,
        _ => 4,
    }
}

fn context_of(kind: ast::ObjectKind) -> Context {
    match kind {
        ast::ObjectKind::Source => Context::Source,
        ast::ObjectKind::Destination => Context::Destination,
        ast::ObjectKind::Parser => Context::Parser,
        ast::ObjectKind::Rewrite => Context::Rewrite,
        ast::ObjectKind::Filter => Context::Filter,
    }
}

//! The syslog-ng 3.38 template language.
//!
//! [`compile`] turns template text (as it stands after the config lexer has
//! processed string escapes) into a [`Template`]: a flat list of [`Elem`]s
//! (literal text, macro / name-value references, template function calls
//! whose arguments are compiled templates in turn) that can be evaluated
//! later without re-parsing.
//!
//! The syntax follows syslog-ng 3.38's `lib/template/compiler.c`:
//!
//! | Form | Meaning |
//! |---|---|
//! | `$NAME` | name chars `[A-Za-z0-9_]`; stops at any other char |
//! | `${NAME}` | anything up to the first `}` (`${.SDATA.ex@32473.k}`) |
//! | `${NAME:-default}` | default (literal text, not a template) when empty |
//! | `$(func arg ...)` | function call, see below |
//! | `$$` | literal `$`; a `$` before a non-name char or at the end is literal |
//! | `$*`, `$0`..`$255`, `${10}` | regex match groups |
//! | `${NAME}@N`, `$(f ...)@N` | correlation-context reference (`@@` = literal `@`) |
//! | `\` | literal outside function calls |
//!
//! Function arguments are split on whitespace at the top nesting level;
//! `"…"` and `'…'` group (quotes are dropped at the top level and kept
//! inside nested parentheses, no escapes inside quotes); `\` outside quotes
//! makes the next character literal and is dropped; every `(` nests. The
//! resulting argument strings are then compiled as templates where
//! syslog-ng 3.38 does so for that function (see [`FuncArg`]).
//!
//! Errors carry the byte offset in the text given to [`compile`], also for
//! problems found inside nested function arguments.

pub(crate) mod eval;
mod functions;
mod macros;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, RwLock};

use crate::filter::Filter;

pub use eval::{in_context, set_loghost, FormatError, FormatOptions, OnError, TsFormat};
pub use functions::BuiltinFunction;
pub use macros::{is_builtin_macro, macro_table};

/// Most arguments a template function call may have (syslog-ng's
/// `TEMPLATE_INVOKE_MAX_ARGS`), not counting the function name.
pub const MAX_FUNCTION_ARGS: usize = 64;

/// Deepest nesting of template function calls that [`compile`] accepts.
/// syslog-ng has no limit; rsng has one so that hostile input cannot
/// exhaust the stack (compilation recurses once per nested call).
pub const MAX_NESTING_DEPTH: usize = 128;

/// A template that could not be compiled.
///
/// `Display` prints only the message (lower-case first, after syslog-ng's
/// wording); `offset` is the byte offset in the text passed to [`compile`]
/// where the problem is. For a missing `}` it is the end of the (argument)
/// template, as syslog-ng's `error_pos` reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// Byte offset in the compiled text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl TemplateError {
    /// An error at `offset` with `message`.
    pub fn new(offset: usize, message: impl Into<String>) -> Self {
        TemplateError { offset, message: message.into() }
    }
}

/// Compiles the filter expression of `$(if)`, `$(grep)`, `$(context-lookup)`
/// or `$(filter)`; see [`CompileContext::set_filter_compiler`].
pub type FilterCompiler = dyn Fn(&str) -> Result<Filter, String> + Send + Sync;

/// What the configuration has defined so far that templates may refer to.
///
/// syslog-ng resolves these while it parses, so a `template-function` or a
/// named `template` is visible only to templates that come after it.
#[derive(Clone, Default)]
pub struct CompileContext {
    /// Normalised name (`-` → `_`) → name as defined.
    user_functions: HashMap<String, String>,
    templates: HashSet<String>,
    compile_filter: Option<Arc<FilterCompiler>>,
    /// Compiled bodies of named templates and user functions, shared by
    /// every clone of the context and by the templates compiled with it.
    bodies: Arc<Bodies>,
    dns_defaults: Option<DnsDefaults>,
    external: Option<Arc<dyn ExternalFunctions>>,
}

/// A prepared call of a template function whose state lives outside the core (key files of
/// `$(slog)`), supplied by [`ExternalFunctions`].
pub trait ExternalFunction: Send + Sync {
    /// Appends the result for the first expanded argument.
    fn call(&self, arg: &[u8], out: &mut Vec<u8>);
}

/// Prepares the template functions that need I/O the core does not do. Without it (a
/// configuration check), such a call compiles and passes its argument through, as syslog-ng
/// does when it cannot load their state.
pub trait ExternalFunctions: Send + Sync {
    /// `options`: the call's options as (long name, value). An error fails the compilation.
    fn prepare(&self, function: BuiltinFunction, options: &[(&str, &str)])
        -> Result<Arc<dyn ExternalFunction>, String>;
}

/// A prepared [`ExternalFunction`] in a compiled call.
#[derive(Clone)]
pub struct ExternalRef(pub Arc<dyn ExternalFunction>);

impl fmt::Debug for ExternalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExternalRef")
    }
}

/// Its state is not part of what a call is.
impl PartialEq for ExternalRef {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ExternalRef {}

/// The global host-resolve options `$(dns-resolve-ip)` starts from (3.38
/// copies them from the configuration when the call is compiled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsDefaults {
    /// `use-dns(yes)`; `persist_only` counts as no (it never queries).
    pub use_dns: bool,
    /// `use-fqdn()`.
    pub use_fqdn: bool,
    /// `normalize-hostnames()`.
    pub normalize_hostnames: bool,
}

impl fmt::Debug for CompileContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompileContext")
            .field("user_functions", &self.user_functions)
            .field("templates", &self.templates)
            .field("compile_filter", &self.compile_filter.is_some())
            .field("dns_defaults", &self.dns_defaults)
            .finish()
    }
}

impl CompileContext {
    /// An empty context: only the built-in template functions are known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a `template-function NAME "...";` definition. Like all
    /// syslog-ng plugin names it is matched case-sensitively with `-` and
    /// `_` interchangeable; it shadows a built-in function of the same name.
    pub fn add_user_function(&mut self, name: &str) {
        self.user_functions.insert(normalize_plugin_name(name), name.to_owned());
    }

    /// The name under which a user template function matching `name` was
    /// defined, if any.
    pub fn user_function(&self, name: &str) -> Option<&str> {
        self.user_functions.get(&normalize_plugin_name(name)).map(String::as_str)
    }

    /// Registers a named `template NAME { ... };` (for `$(template NAME)`,
    /// which looks names up exactly).
    pub fn add_template(&mut self, name: &str) {
        self.templates.insert(name.to_owned());
    }

    /// Whether a named template `name` has been registered.
    pub fn has_template(&self, name: &str) -> bool {
        self.templates.contains(name)
    }

    /// Sets how filter expressions inside templates are compiled.
    ///
    /// rsng-core cannot parse filter syntax (the grammar lives in
    /// `rsng-config`), so whoever compiles templates that are going to be
    /// evaluated (the configuration loader, the runtime) supplies this hook.
    /// It receives the argument exactly as written in the template, after
    /// the template's own quote handling, e.g. `(program("sshd") and
    /// level(err))`: the body of a `filter { ... };` statement. It returns
    /// the compiled filter, resolving `filter(NAME)` against the filters
    /// defined before the template (syslog-ng initialises the expression
    /// right away), or a message saying why the expression is invalid,
    /// which becomes a [`TemplateError`] at the argument.
    ///
    /// Without a hook the expression is kept unchecked and evaluating the
    /// function fails with [`FormatError::Unsupported`], which is enough
    /// for `--syntax-only`.
    /// Registers the compiled body of `template` statement `name` (and its
    /// `template-escape()`), which `$(template name)` evaluates. Templates
    /// compiled earlier with this context (or a clone) see it too, since
    /// bodies are looked up at evaluation time.
    pub fn add_compiled_template(&mut self, name: &str, body: Arc<Template>, escape: bool) {
        self.templates.insert(name.to_owned());
        let mut map = self.bodies.templates.write().unwrap_or_else(|e| e.into_inner());
        map.insert(name.to_owned(), (body, escape));
    }

    /// Registers user `template-function` `name` with its compiled body
    /// (evaluated without `template-escape`, as 3.38 compiles it).
    pub fn add_user_function_body(&mut self, name: &str, body: Arc<Template>) {
        self.add_user_function(name);
        let mut map = self.bodies.functions.write().unwrap_or_else(|e| e.into_inner());
        map.insert(normalize_plugin_name(name), body);
    }

    /// Sets the global host-resolve options for `$(dns-resolve-ip)` calls
    /// compiled afterwards; without them syslog-ng's built-in defaults
    /// apply (`use-dns(yes)`, `use-fqdn(no)`, `normalize-hostnames(no)`).
    pub fn set_dns_defaults(&mut self, defaults: DnsDefaults) {
        self.dns_defaults = Some(defaults);
    }

    pub fn dns_defaults(&self) -> Option<DnsDefaults> {
        self.dns_defaults
    }

    /// Supplies the functions with outside state (`$(slog)`).
    pub fn set_external_functions(&mut self, external: Arc<dyn ExternalFunctions>) {
        self.external = Some(external);
    }

    pub(crate) fn external_functions(&self) -> Option<&Arc<dyn ExternalFunctions>> {
        self.external.as_ref()
    }

    pub fn set_filter_compiler(&mut self, compile: Arc<FilterCompiler>) {
        self.compile_filter = Some(compile);
    }

    /// The hook set by [`CompileContext::set_filter_compiler`].
    pub fn filter_compiler(&self) -> Option<&FilterCompiler> {
        self.compile_filter.as_deref()
    }
}

fn normalize_plugin_name(name: &str) -> String {
    name.replace('-', "_")
}

/// A compiled template: a sequence of elements whose outputs are
/// concatenated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    elems: Vec<Elem>,
}

impl Template {
    /// The elements, in output order. Adjacent literal text is merged, so
    /// two `Literal`s never follow each other.
    pub fn elems(&self) -> &[Elem] {
        &self.elems
    }

    /// Takes the elements out.
    pub fn into_elems(self) -> Vec<Elem> {
        self.elems
    }

    /// True for the empty template (`""`, or only `$()` calls).
    pub fn is_empty(&self) -> bool {
        self.elems.is_empty()
    }

    /// The text of a template without macros or functions (`Some("")` for
    /// the empty template), `None` otherwise.
    pub fn as_literal(&self) -> Option<&str> {
        match self.elems.as_slice() {
            [] => Some(""),
            [Elem::Literal(text)] => Some(text),
            _ => None,
        }
    }
}

/// One element of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    /// Literal text, `$$` already turned into `$`.
    Literal(String),
    /// `$NAME`, `${NAME}`, `${NAME:-default}`, `$*`.
    Value(ValueRef),
    /// `$(name args...)`.
    Func(Box<FuncCall>),
}

/// A reference to a macro or a name-value pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueRef {
    /// The name as written (`HOST`, `.SDATA.ex@32473.k`, `1`, `*` for `$*`).
    /// Case-sensitive; may be empty (`${}`).
    pub name: String,
    /// What kind of value `name` denotes, decided at compile time.
    pub kind: ValueKind,
    /// `${NAME:-default}`: text used when the value is empty or unset.
    /// syslog-ng copies it verbatim: it is **not** a template.
    pub default: Option<String>,
    /// `${NAME}@N`: `N` as written (saturating). Selects a message of the
    /// correlation context counting back from the newest (`@0`). Only
    /// braced references and function calls take one. (syslog-ng 3.38
    /// miscomputes multi-digit `N`, accumulating `11·n + digit`, so its
    /// `@12` acts as `@13`; single digits are right.)
    pub context_ref: Option<u32>,
}

/// Classification of a [`ValueRef`] name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A built-in macro or header value ([`is_builtin_macro`]).
    Builtin,
    /// `$*`: all regex matches.
    MatchAll,
    /// `$0`..`$255` / `${0}`..`${255}` (canonical decimal only).
    MatchGroup(u8),
    /// Any other name-value pair (unknown names are just empty).
    Pair,
}

/// A template function call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncCall {
    /// The function called.
    pub function: Function,
    /// The function name as written (after quote removal).
    pub name: String,
    /// The arguments after the name, in their written order.
    pub args: Vec<FuncArg>,
    /// `$(...)@N`, see [`ValueRef::context_ref`].
    pub context_ref: Option<u32>,
}

/// The function a [`FuncCall`] resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Function {
    /// One of the functions built into syslog-ng 3.38.
    Builtin(BuiltinFunction),
    /// A `template-function`, by the name it was defined with. Takes no
    /// arguments.
    User(String),
}

/// One argument of a template function call.
///
/// Which arguments are templates follows syslog-ng 3.38's per-function
/// `prepare` code: e.g. `$(if (FILTER) THEN ELSE)` has a [`FuncArg::Filter`]
/// and two [`FuncArg::Template`]s; option values of functions that take
/// GLib-style options (`--length 5`) are [`FuncArg::Option`]s and not
/// compiled; `$(format-json a=$X)` yields a [`FuncArg::Pair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FuncArg {
    /// An argument compiled as a template.
    Template(Template),
    /// A filter expression (`if`, `grep`, `context-lookup`, `filter`).
    Filter(FilterArg),
    /// A `--long`/`-s` option with its canonical long name and value, if it
    /// takes one.
    Option {
        /// Canonical long name, without dashes (`"max-count"` for `-m`).
        name: &'static str,
        /// The value (from `--name=value` or the next argument).
        value: Option<ArgText>,
    },
    /// A value-pairs `name=value` (positional, or `--pair`/`-p`): the value
    /// is a template with an optional type hint (`a=int($PID)`).
    Pair {
        /// The key before the first `=`.
        key: String,
        /// `int`, `string`, `json`, ... when the value was `TYPE(...)`.
        type_hint: Option<String>,
        /// The compiled value.
        value: Template,
    },
    /// Any other argument that syslog-ng does not compile as a template
    /// (value-pairs key patterns, `$(padding)` width and pattern,
    /// `$(iterate)` initial value, a statically bound `$(template NAME)`,
    /// the arguments of `$(context-length)`), and the `$(list-search)`
    /// pattern as written (after its compiled form, which 3.38 never uses).
    Raw(ArgText),
    /// The target of `$(template)` or of a user function call (always the
    /// first argument).
    Invoke(InvokeRef),
    /// `$(iterate)`'s current value, kept across messages (the last argument).
    State(IterateState),
    /// The prepared state of a function with outside state (`$(slog)`).
    External(ExternalRef),
}

/// The filter expression of `$(if)`, `$(grep)`, `$(context-lookup)` and
/// `$(filter)`: its text and, when the [`CompileContext`] had a filter
/// compiler, the compiled filter. Two are equal when their text and offset
/// are (compiled filters cannot be compared).
/// Named template and user function bodies, filled in by the configuration
/// loader and read when a call runs.
#[derive(Default)]
struct Bodies {
    templates: RwLock<HashMap<String, (Arc<Template>, bool)>>,
    functions: RwLock<HashMap<String, Arc<Template>>>,
}

/// What `$(template ...)` or a user `template-function` call runs: the body
/// is looked up by name when the call is evaluated.
#[derive(Clone)]
pub struct InvokeRef {
    /// The template or function name; `None` for `$(template ${name})`,
    /// whose first template argument gives the name.
    pub name: Option<String>,
    /// For a user function: its name as the registry keys it (`-` as `_`),
    /// worked out once here rather than per call.
    function_key: Option<String>,
    bodies: Arc<Bodies>,
}

impl InvokeRef {
    pub(crate) fn new(name: Option<String>, user_function: bool, ctx: &CompileContext) -> Self {
        let function_key = if user_function { name.as_deref().map(normalize_plugin_name) } else { None };
        InvokeRef { name, function_key, bodies: ctx.bodies.clone() }
    }

    /// The body and `template-escape()` of template `name` (the static name
    /// when not given), or of the user function.
    pub(crate) fn body(&self, name: Option<&str>) -> Option<(Arc<Template>, bool)> {
        if let Some(key) = &self.function_key {
            let map = self.bodies.functions.read().unwrap_or_else(|e| e.into_inner());
            return map.get(key).map(|b| (b.clone(), false));
        }
        let name = name.or(self.name.as_deref())?;
        let map = self.bodies.templates.read().unwrap_or_else(|e| e.into_inner());
        map.get(name).cloned()
    }
}

impl fmt::Debug for InvokeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvokeRef")
            .field("name", &self.name)
            .field("user_function", &self.function_key.is_some())
            .finish()
    }
}

impl PartialEq for InvokeRef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.function_key == other.function_key
    }
}

impl Eq for InvokeRef {}

/// The running value of one `$(iterate)` call. Clones of a compiled
/// template share it.
#[derive(Clone)]
pub struct IterateState(pub(crate) Arc<std::sync::Mutex<Vec<u8>>>);

impl IterateState {
    pub(crate) fn new(initial: &str) -> Self {
        IterateState(Arc::new(std::sync::Mutex::new(initial.as_bytes().to_vec())))
    }
}

impl fmt::Debug for IterateState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IterateState")
    }
}

/// The running value is not part of what a call is.
impl PartialEq for IterateState {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for IterateState {}

#[derive(Debug, Clone)]
pub struct FilterArg {
    /// The expression after quote and backslash removal.
    pub text: String,
    /// Byte offset in the compiled text where the argument starts.
    pub offset: usize,
    /// The compiled expression, `None` without a filter compiler.
    pub compiled: Option<Arc<Filter>>,
}

impl PartialEq for FilterArg {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.offset == other.offset
    }
}

impl Eq for FilterArg {}

/// Argument text with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgText {
    /// The text after quote and backslash removal.
    pub text: String,
    /// Byte offset in the compiled text where the argument starts.
    pub offset: usize,
}

/// Compiles template `text` in the given context.
///
/// Never panics; deep nesting is refused with an error beyond
/// [`MAX_NESTING_DEPTH`] nested function calls.
pub fn compile(text: &str, ctx: &CompileContext) -> Result<Template, TemplateError> {
    parse::compile(text, ctx)
}
